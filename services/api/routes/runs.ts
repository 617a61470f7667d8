import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CatalogNotFoundError, WeirError } from '../../../catalog/index.js';
import { hasDatabaseAccess } from '../../auth/index.js';
import {
  type Orchestrator,
  RUN_KINDS,
  type RunView,
  runDatabase,
  walkLineage,
} from '../../orchestrator/index.js';
import { assertAllDatabases, assertDatabaseAccess, authOf, limitedDatabases } from '../auth.js';
import { errorBodySchema } from '../errors.js';
import { tenantOf } from '../tenant.js';

/** Run kinds an admin may start from a raw trigger. */
const STARTABLE_KINDS = [
  'compaction',
  'retention',
  'checkpoint',
  'events-compaction',
  'expire',
  'cq',
  'noop',
];
export interface RunRoutesOptions {
  orchestrator: Orchestrator;
}

const runParams = z.object({
  id: z.string().regex(/^run_[0-9a-f]{32}$/, 'a run id looks like run_ followed by 32 hex digits'),
});
const looseObject = z.record(z.string(), z.unknown());
const runBody = z.object({ success: z.literal(true), run: looseObject });
/** A time filter: epoch milliseconds (digits only: coercion would read `since=` as 0) or an instant with a zone. */
const time = z.union(
  [
    z
      .string()
      .regex(/^\d{1,15}$/)
      .transform(Number),
    z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
  ],
  { error: 'must be epoch milliseconds or an ISO-8601 date-time with a zone, e.g. 2026-03-01T05:00:00Z' },
);

/** Run views are plain data; the response schema documents them as objects. */
const json = (value: object) => value as Record<string, unknown>;

/** 403 unless the token reaches the run's database; a run about the whole tenant needs every database. */
function assertRunAccess(request: FastifyRequest, run: RunView): void {
  const database = runDatabase(run);
  if (database === undefined) assertAllDatabases(request, `run ${run.runId} concerns every database`);
  else assertDatabaseAccess(request, database);
}

export const runRoutes: FastifyPluginAsyncZod<RunRoutesOptions> = async (app, { orchestrator }) => {
  /** The run, if the token may see it: 404 when there is none, 403 when it is about other databases. */
  const accessibleRun = async (request: FastifyRequest, runId: string): Promise<RunView> => {
    const run = await orchestrator.history.get(tenantOf(request), runId);
    if (!run) throw new CatalogNotFoundError('RUN_NOT_FOUND', `run ${runId} does not exist`, { runId });
    assertRunAccess(request, run);
    return run;
  };
  /** Cancel and replay load the run themselves: a token that reaches every database skips this read. */
  const assertRunAccessById = async (request: FastifyRequest, runId: string): Promise<void> => {
    if (limitedDatabases(request) !== undefined) await accessibleRun(request, runId);
  };

  app.get(
    '/api/v1/runs',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['runs'],
        summary: 'List runs, newest first, filtered by kind, status, table and planning time',
        querystring: z.object({
          kind: z.enum(RUN_KINDS).optional(),
          status: z.enum(['planned', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
          table: z
            .string()
            .regex(/^[^.]+\.[^.]+$/, 'table is db.table')
            .optional(),
          since: time.optional(),
          until: time.optional(),
          limit: z.coerce.number().int().min(1).max(10_000).default(100),
        }),
        response: {
          200: z.object({
            success: z.literal(true),
            runs: z.array(looseObject),
            count: z.number(),
            sources: z
              .object({ compacted: z.number(), tail: z.number() })
              .describe('How many events came from compacted Parquet and from the uncompacted tail.'),
          }),
          400: errorBodySchema,
        },
      },
    },
    async (request) => {
      const databases = limitedDatabases(request);
      const page = await orchestrator.history.list(tenantOf(request), {
        ...request.query,
        ...(databases ? { databases } : {}),
      });
      const runs = page.runs.map(({ tasks, ...run }) => ({ ...run, task_count: tasks.length }));
      return { success: true as const, runs, count: runs.length, sources: page.sources };
    },
  );

  app.post(
    '/api/v1/runs',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['runs'],
        summary:
          'Start a run from a trigger (compaction, retention, checkpoint, events-compaction, expire, cq)',
        body: looseObject.describe('A trigger without `tenant`; `logicalTime` defaults to now.'),
        response: {
          200: z.object({ success: z.literal(true) }).catchall(z.unknown()),
          400: errorBodySchema,
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { kind } = request.body;
      if (typeof kind !== 'string') {
        throw new WeirError('VALIDATION_ERROR', `kind: required, one of ${STARTABLE_KINDS.join(', ')}`, 400);
      }
      // Deletes and flushes carry what their services checked (a guarded predicate, a staged
      // batch): they start only through those services.
      if (!STARTABLE_KINDS.includes(kind)) {
        throw new WeirError(
          'RUN_KIND_NOT_STARTABLE',
          `runs of kind ${JSON.stringify(kind)} cannot be started here; this endpoint starts ${STARTABLE_KINDS.join(', ')}`,
          400,
        );
      }
      assertNotFuture(request.body.logicalTime);
      assertTriggerAccess(request, kind, request.body.database);
      const trigger = { logicalTime: new Date().toISOString(), ...request.body, tenant: tenantOf(request) };
      return { success: true as const, ...(await orchestrator.submit(trigger)) };
    },
  );

  app.get(
    '/api/v1/runs/:id',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['runs'],
        summary: 'A run with its tasks, attempts, timings, inputs, outputs and errors',
        params: runParams,
        response: { 200: runBody, 400: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => ({
      success: true as const,
      run: json(await accessibleRun(request, request.params.id)),
    }),
  );

  app.post(
    '/api/v1/runs/:id/cancel',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['runs'],
        summary: 'Cancel a run: queued tasks are removed, running ones finish, nothing new starts',
        params: runParams,
        response: { 200: runBody, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      await assertRunAccessById(request, request.params.id);
      return {
        success: true as const,
        run: json(await orchestrator.cancel(tenantOf(request), request.params.id)),
      };
    },
  );

  app.post(
    '/api/v1/runs/:id/replay',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['runs'],
        summary:
          'Re-execute a run against its recorded catalog version into scratch and compare outputs; commits nothing',
        params: runParams,
        response: {
          200: z.object({ success: z.literal(true) }).catchall(z.unknown()),
          404: errorBodySchema,
          409: errorBodySchema,
        },
      },
    },
    async (request) => {
      await assertRunAccessById(request, request.params.id);
      return { success: true as const, ...(await orchestrator.replay(tenantOf(request), request.params.id)) };
    },
  );

  app.get(
    '/api/v1/runs/:id/lineage',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['lineage'],
        summary: 'What a run actually read and wrote',
        params: runParams,
        response: {
          200: z.object({
            success: z.literal(true),
            inputs: z.array(z.string()),
            outputs: z.array(z.string()),
            edges: z.array(looseObject),
          }),
        },
      },
    },
    async (request) => {
      await accessibleRun(request, request.params.id);
      const edges = await orchestrator.history.lineageEdges(
        tenantOf(request),
        (e) => e.runId === request.params.id,
      );
      return {
        success: true as const,
        inputs: [...new Set(edges.map((e) => e.input.path))].sort(),
        outputs: [...new Set(edges.map((e) => e.output.path))].sort(),
        edges: edges as unknown as Record<string, unknown>[],
      };
    },
  );

  app.get(
    '/api/v1/lineage',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['lineage'],
        summary: 'Upstream or downstream of a table, a partition or a file, to a depth',
        querystring: z
          .object({
            table: z
              .string()
              .regex(/^[^.]+\.[^.]+$/, 'table is db.table')
              .optional(),
            partition: z.string().optional().describe('date=YYYY-MM-DD/hour=HH, with table'),
            file: z.string().optional().describe('a data file key'),
            direction: z.enum(['upstream', 'downstream']).default('upstream'),
            depth: z.coerce.number().int().min(1).max(100).default(5),
          })
          .refine((q) => (q.file !== undefined) !== (q.table !== undefined), {
            message: 'give either table (with an optional partition) or file',
          }),
        response: { 200: z.object({ success: z.literal(true) }).catchall(z.unknown()), 400: errorBodySchema },
      },
    },
    async (request) => {
      const { table, partition, file, direction, depth } = request.query;
      if (table) assertDatabaseAccess(request, table.slice(0, table.indexOf('.')));
      const level = file ? 'file' : partition ? 'partition' : 'table';
      const node = file ?? (partition ? `${table}/${partition}` : table!);
      // A token limited to some databases walks only edges between them.
      const auth = authOf(request);
      const edges = await orchestrator.history.lineageEdges(
        tenantOf(request),
        (e) => hasDatabaseAccess(auth, e.input.database) && hasDatabaseAccess(auth, e.output.database),
      );
      return {
        success: true as const,
        level,
        direction,
        ...walkLineage(edges, { node, level, direction, depth }),
      };
    },
  );
};

/**
 * A token limited to some databases may start only a compaction of one of them: other kinds act
 * on the whole tenant or on what a policy names (retention runs start through their policy's route).
 */
function assertTriggerAccess(request: FastifyRequest, kind: string, database: unknown): void {
  if (limitedDatabases(request) === undefined) return;
  if (kind !== 'compaction' || typeof database !== 'string')
    assertAllDatabases(request, `a ${kind} run started from a raw trigger may concern every database`);
  else assertDatabaseAccess(request, database);
}

/** How far ahead of this server's clock a logical time may be (clocks of callers drift). */
const LOGICAL_TIME_SKEW_MS = 60_000;

/**
 * A run acts as of its logical time: retention and expiry would delete what is still kept if it
 * were in the future. The planner has no clock, so the API refuses such times here. Text the
 * planner cannot read is left to its own 400.
 */
function assertNotFuture(logicalTime: unknown): void {
  if (typeof logicalTime !== 'string') return;
  const ms = Date.parse(logicalTime);
  if (Number.isFinite(ms) && ms > Date.now() + LOGICAL_TIME_SKEW_MS)
    throw new WeirError(
      'LOGICAL_TIME_IN_FUTURE',
      `logicalTime ${JSON.stringify(logicalTime.slice(0, 64))} is in the future; a run cannot act as of a time that has not come`,
      400,
    );
}
