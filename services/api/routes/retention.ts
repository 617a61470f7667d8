/** Retention policies and executions, in Arc's shapes (ARC-COMPAT.md). */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  CatalogNotFoundError,
  type PolicyEntry,
  sha256Hex,
  type TenantCatalogs,
  WeirError,
} from '../../../catalog/index.js';
import { hasDatabaseAccess } from '../../auth/index.js';
import { type Orchestrator, RACED_TASK_ERRORS } from '../../orchestrator/index.js';
import { assertDatabaseAccess, authOf, limitedDatabases } from '../auth.js';
import { errorBodySchema } from '../errors.js';
import { tenantOf } from '../tenant.js';

export interface RetentionRoutesOptions {
  orchestrator: Orchestrator;
  catalogs: TenantCatalogs;
}

const MAX_RETENTION_DAYS = 100_000;
const policyInput = z.strictObject({
  name: z.string().min(1).max(200),
  database: z.string().min(1).max(64),
  measurement: z.string().min(1).max(128).optional(),
  // About 274 years: the planner's cutoff (now − days, in µs) must stay a safe integer.
  retention_days: z.number().positive().max(MAX_RETENTION_DAYS),
});
const policyOutput = z.object({
  id: z.string(),
  name: z.string(),
  database: z.string(),
  measurement: z.string().nullable(),
  retention_days: z.number(),
  version: z.number().describe('Catalog version that last set the policy.'),
});
const idParams = z.object({ id: z.string().min(1).max(128) });

/** Ids derive from the name, so creating the same policy twice is detected as a conflict. */
const policyIdOf = (name: string) => `ret_${sha256Hex(name).slice(0, 16)}`;

function show(policy: PolicyEntry): z.infer<typeof policyOutput> {
  const d = policy.definition as { name?: string; retention_days?: number; measurement?: string };
  return {
    id: policy.id,
    name: d.name ?? policy.id,
    database: policy.database,
    measurement: d.measurement ?? policy.table ?? null,
    retention_days: d.retention_days ?? 0,
    version: policy.version,
  };
}

function spec(id: string, input: z.infer<typeof policyInput>) {
  return {
    id,
    kind: 'retention' as const,
    database: input.database,
    ...(input.measurement ? { table: input.measurement } : {}),
    definition: {
      name: input.name,
      retention_days: input.retention_days,
      ...(input.measurement ? { measurement: input.measurement } : {}),
    },
  };
}

export const retentionRoutes: FastifyPluginAsyncZod<RetentionRoutesOptions> = async (
  app,
  { orchestrator, catalogs },
) => {
  const policies = async (tenant: string) =>
    [...(await catalogs.forTenant(tenant).refresh()).policies.values()].filter((p) => p.kind === 'retention');
  /** The policy, once the request's token is shown to reach its database. */
  const find = async (request: FastifyRequest, id: string) => {
    const policy = (await policies(tenantOf(request))).find((p) => p.id === id);
    if (!policy)
      throw new CatalogNotFoundError('POLICY_NOT_FOUND', `retention policy ${id} does not exist`, { id });
    assertDatabaseAccess(request, policy.database);
    return policy;
  };

  app.get(
    '/api/v1/retention',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['retention'],
        summary: 'List retention policies',
        response: {
          200: z.object({ success: z.literal(true), policies: z.array(policyOutput), count: z.number() }),
        },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const list = (await policies(auth.tenant)).filter((p) => hasDatabaseAccess(auth, p.database)).map(show);
      return { success: true as const, policies: list, count: list.length };
    },
  );

  app.post(
    '/api/v1/retention',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['retention'],
        summary: 'Create a retention policy',
        body: policyInput,
        response: {
          201: z.object({ success: z.literal(true), policy: policyOutput }),
          400: errorBodySchema,
          404: errorBodySchema,
          409: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      assertDatabaseAccess(request, request.body.database);
      const tenant = tenantOf(request);
      const id = policyIdOf(request.body.name);
      const exists = () =>
        new WeirError('POLICY_EXISTS', `a retention policy named ${request.body.name} already exists`, 409);
      if ((await policies(tenant)).some((p) => p.id === id)) throw exists();
      // Checked again on the state the commit lands on: two creates at once must not both win.
      const { state } = await catalogs.forTenant(tenant).commit(
        [{ op: 'setPolicy', policy: spec(id, request.body) }],
        { operation: 'policy' },
        {
          require: (head) => {
            if (head.policies.has(id)) throw exists();
          },
        },
      );
      return reply.status(201).send({ success: true as const, policy: show(state.policies.get(id)!) });
    },
  );

  app.get(
    '/api/v1/retention/:id',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['retention'],
        summary: 'A retention policy',
        params: idParams,
        response: { 200: z.object({ success: z.literal(true), policy: policyOutput }), 404: errorBodySchema },
      },
    },
    async (request) => ({
      success: true as const,
      policy: show(await find(request, request.params.id)),
    }),
  );

  app.put(
    '/api/v1/retention/:id',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['retention'],
        summary: 'Replace a retention policy (its name stays its identity)',
        params: idParams,
        body: policyInput,
        response: {
          200: z.object({ success: z.literal(true), policy: policyOutput }),
          400: errorBodySchema,
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const current = show(await find(request, request.params.id));
      assertDatabaseAccess(request, request.body.database);
      if (request.body.name !== current.name) {
        throw new WeirError(
          'POLICY_RENAME',
          'a policy cannot be renamed: create a new one and delete this one',
          400,
        );
      }
      const { state } = await catalogs
        .forTenant(tenant)
        .commit([{ op: 'setPolicy', policy: spec(current.id, request.body) }], { operation: 'policy' });
      return { success: true as const, policy: show(state.policies.get(current.id)!) };
    },
  );

  app.delete(
    '/api/v1/retention/:id',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['retention'],
        summary: 'Delete a retention policy',
        params: idParams,
        response: { 200: z.object({ success: z.literal(true), message: z.string() }), 404: errorBodySchema },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      await find(request, request.params.id);
      await catalogs
        .forTenant(tenant)
        .commit([{ op: 'dropPolicy', id: request.params.id }], { operation: 'policy' });
      return { success: true as const, message: `retention policy ${request.params.id} deleted` };
    },
  );

  app.post(
    '/api/v1/retention/:id/execute',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['retention'],
        summary: 'Run a policy now: a dry run reports what a real run removes; a real run needs confirm',
        params: idParams,
        body: z
          .strictObject({ dry_run: z.boolean().default(false), confirm: z.boolean().default(false) })
          .default({ dry_run: false, confirm: false }),
        response: {
          200: z.object({ success: z.literal(true) }).catchall(z.unknown()),
          400: errorBodySchema,
          404: errorBodySchema,
          409: errorBodySchema,
          504: errorBodySchema,
        },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const { dry_run: dryRun, confirm } = request.body;
      const policy = show(await find(request, request.params.id));
      if (!dryRun && !confirm)
        throw new WeirError(
          'CONFIRM_REQUIRED',
          'a retention run deletes data: pass confirm: true (or dry_run: true)',
          400,
        );
      const started = performance.now();
      const submitted = await orchestrator.submit({
        kind: 'retention',
        tenant,
        logicalTime: new Date().toISOString(),
        policyId: policy.id,
        dryRun,
      });
      const run = dryRun ? undefined : await orchestrator.waitForRun(tenant, submitted.runId);
      if (run && run.status !== 'succeeded') {
        const cause = run.tasks.find((t) => t.error)?.error ?? run.error;
        // Another run (a compaction, this policy executed twice) changed the files meanwhile.
        if (cause && RACED_TASK_ERRORS.has(cause.code))
          throw new WeirError(
            'RUN_CONFLICT',
            `retention run ${run.runId} ${run.status}: another run changed its files meanwhile (${cause.message}); execute again`,
            409,
            { runId: run.runId, cause: cause.code },
          );
        throw new WeirError(
          'RUN_FAILED',
          `retention run ${run.runId} ${run.status}: ${cause?.message ?? ''}`,
          500,
          { runId: run.runId, ...(cause ? { cause: cause.code } : {}) },
        );
      }
      const summary = submitted.summary as Record<string, number>;
      return {
        success: true as const,
        policy_id: policy.id,
        policy_name: policy.name,
        deleted_count: summary.rows ?? 0,
        files_deleted: summary.files ?? 0,
        partitions_deleted: summary.partitions ?? 0,
        execution_time_ms: Math.round((performance.now() - started) * 100) / 100,
        dry_run: dryRun,
        cutoff_date: new Date(Math.floor((summary.cutoffMicros ?? 0) / 1000)).toISOString(),
        affected_measurements: await affectedTables(orchestrator, tenant, submitted.runId),
        run_id: submitted.runId,
      };
    },
  );

  app.get(
    '/api/v1/retention/:id/executions',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['retention'],
        summary: 'Runs of a retention policy, newest first',
        params: idParams,
        response: {
          200: z.object({
            success: z.literal(true),
            executions: z.array(z.record(z.string(), z.unknown())),
            count: z.number(),
          }),
        },
      },
    },
    async (request) => {
      // A policy removed since keeps its executions; one that never was is a 404.
      const policy = (await policies(tenantOf(request))).find((p) => p.id === request.params.id);
      if (policy) assertDatabaseAccess(request, policy.database);
      const databases = limitedDatabases(request);
      const { runs } = await orchestrator.history.list(tenantOf(request), {
        kind: 'retention',
        limit: 10_000,
        ...(databases ? { databases } : {}),
      });
      const executions = runs
        .filter((r) => r.trigger.policyId === request.params.id)
        .map(({ tasks, ...run }) => ({ ...run, task_count: tasks.length }));
      if (!policy && executions.length === 0) {
        throw new CatalogNotFoundError(
          'POLICY_NOT_FOUND',
          `retention policy ${request.params.id} does not exist`,
          {
            id: request.params.id,
          },
        );
      }
      return { success: true as const, executions, count: executions.length };
    },
  );
};

/** Tables the run's plan removes partitions from (the same for a dry run and a real one). */
async function affectedTables(orchestrator: Orchestrator, tenant: string, runId: string): Promise<string[]> {
  const plan = await orchestrator.loadPlan(tenant, runId);
  return (plan?.tasks ?? []).flatMap((t) => (t.kind === 'retention' ? [t.inputs.table] : [])).sort();
}
