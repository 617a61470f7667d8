/** Compaction status, candidates, jobs, history and manual triggers, in Arc's shapes (ARC-COMPAT.md). */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TenantCatalogs } from '../../../catalog/index.js';
import { hasDatabaseAccess } from '../../auth/index.js';
import { compactionCandidates, type Orchestrator } from '../../orchestrator/index.js';
import { assertDatabaseAccess, authOf, limitedDatabases } from '../auth.js';
import { errorBodySchema } from '../errors.js';
import { tenantOf } from '../tenant.js';
import { assertDatabaseExists } from './databases.js';

export interface CompactionRoutesOptions {
  orchestrator: Orchestrator;
  catalogs: TenantCatalogs;
}

const tierQuery = z.object({
  database: z.string().min(1).max(64).optional(),
  tier: z.enum(['hourly', 'daily']).default('hourly'),
});
const anyObject = z.record(z.string(), z.unknown());
const listBody = (key: string) =>
  z.object({ success: z.literal(true), [key]: z.array(anyObject), count: z.number() });

export const compactionRoutes: FastifyPluginAsyncZod<CompactionRoutesOptions> = async (
  app,
  { orchestrator, catalogs },
) => {
  /** Compaction runs of the databases the token reaches. */
  const compactionRuns = async (request: FastifyRequest) => {
    const databases = limitedDatabases(request);
    const filter = { kind: 'compaction', limit: 10_000, ...(databases ? { databases } : {}) };
    return (await orchestrator.history.list(tenantOf(request), filter)).runs;
  };
  /** Candidates of the tier in the asked database, else in every database the token reaches. */
  const candidates = async (request: FastifyRequest, query: z.infer<typeof tierQuery>) => {
    const auth = authOf(request);
    if (query.database !== undefined) assertDatabaseAccess(request, query.database);
    const state = await catalogs.forTenant(auth.tenant).refresh();
    if (query.database !== undefined) assertDatabaseExists(state, query.database);
    const all = compactionCandidates(state, { tier: query.tier, logicalTime: new Date().toISOString() });
    return {
      state,
      triggers: all.filter((t) =>
        query.database === undefined ? hasDatabaseAccess(auth, t.database) : t.database === query.database,
      ),
    };
  };

  app.get(
    '/api/v1/compaction/status',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['compaction'],
        summary: 'Whether compaction runs, and how many compaction runs are active',
        response: {
          200: z.object({
            success: z.literal(true),
            enabled: z.boolean(),
            tiers: z.array(z.string()),
            active_runs: z.number(),
            schedule: anyObject,
          }),
        },
      },
    },
    async (request) => {
      const runs = await compactionRuns(request);
      return {
        success: true as const,
        enabled: true,
        tiers: ['hourly', 'daily'],
        active_runs: runs.filter((r) => r.status === 'running' || r.status === 'planned').length,
        schedule: {
          hourly: 'every hour at :05, partitions older than 1 h with ≥ 10 files',
          daily: 'every day at 00:15, partitions older than 24 h with ≥ 2 files',
        },
      };
    },
  );

  app.get(
    '/api/v1/compaction/stats',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['compaction'],
        summary: 'Totals over compaction runs',
        response: { 200: z.object({ success: z.literal(true) }).catchall(z.unknown()) },
      },
    },
    async (request) => {
      const runs = await compactionRuns(request);
      const byStatus: Record<string, number> = {};
      let filesIn = 0;
      let filesOut = 0;
      let rows = 0;
      for (const run of runs) {
        byStatus[run.status] = (byStatus[run.status] ?? 0) + 1;
        for (const task of run.tasks) {
          if (!task.result) continue;
          filesIn += task.result.wrote.removed.length;
          filesOut += task.result.wrote.files.length;
          rows += task.result.wrote.files.reduce((sum, f) => sum + f.rows, 0);
        }
      }
      return {
        success: true as const,
        runs: byStatus,
        total_runs: runs.length,
        files_compacted: filesIn,
        files_written: filesOut,
        rows_written: rows,
      };
    },
  );

  app.get(
    '/api/v1/compaction/candidates',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['compaction'],
        summary: 'Partitions the tier would compact now',
        querystring: tierQuery,
        response: { 200: listBody('candidates'), 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const { state, triggers } = await candidates(request, request.query);
      const list = triggers.map((t) => ({
        database: t.database,
        measurement: t.table,
        partition: t.partition,
        file_count: state.tables.get(`${t.database}.${t.table}`)?.partitions.get(t.partition)?.size ?? 0,
        tier: t.tier,
      }));
      return { success: true as const, candidates: list, count: list.length };
    },
  );

  app.get(
    '/api/v1/compaction/jobs',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['compaction'],
        summary: 'Active compaction runs',
        response: { 200: listBody('jobs') },
      },
    },
    async (request) => {
      const jobs = (await compactionRuns(request))
        .filter((r) => r.status === 'running' || r.status === 'planned')
        .map(({ tasks, ...run }) => ({ ...run, task_count: tasks.length }));
      return { success: true as const, jobs, count: jobs.length };
    },
  );

  app.get(
    '/api/v1/compaction/history',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['compaction'],
        summary: 'Finished compaction runs, newest first',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100) }),
        response: { 200: listBody('history') },
      },
    },
    async (request) => {
      const history = (await compactionRuns(request))
        .filter((r) => r.status !== 'running' && r.status !== 'planned')
        .slice(0, request.query.limit)
        .map(({ tasks, ...run }) => ({ ...run, task_count: tasks.length }));
      return { success: true as const, history, count: history.length };
    },
  );

  app.post(
    '/api/v1/compaction/trigger',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['compaction'],
        summary: 'Start compaction runs for every current candidate of a tier (optionally one database)',
        querystring: tierQuery,
        // Arc takes these parameters from the query string only (ARC-COMPAT "Management"); a body
        // naming a database or tier would otherwise be ignored and every database compacted.
        body: z
          .strictObject(
            {},
            {
              error:
                'the trigger takes database and tier in the query string (?database=&tier=), not in a body',
            },
          )
          // fastify validates a missing body as null.
          .nullish()
          .describe('None: `database` and `tier` are query parameters.'),
        response: { 200: listBody('runs'), 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const { triggers } = await candidates(request, request.query);
      const runs = [];
      for (const trigger of triggers) {
        const result = await orchestrator.submit(trigger);
        runs.push({
          run_id: result.runId,
          created: result.created,
          database: trigger.database,
          measurement: trigger.table,
          partition: trigger.partition,
        });
      }
      return { success: true as const, runs, count: runs.length };
    },
  );
};
