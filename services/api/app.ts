import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { TenantCatalogs } from '../../catalog/index.js';
import type { Orchestrator } from '../orchestrator/index.js';
import { registerDocs } from './docs.js';
import { registerErrorHandlers } from './errors.js';
import { createMetrics } from './metrics.js';
import { compactionRoutes } from './routes/compaction.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { retentionRoutes } from './routes/retention.js';
import { runRoutes } from './routes/runs.js';

export interface ApiDeps {
  logger: FastifyBaseLogger;
  /** Version shown in the OpenAPI document. */
  version: string;
  /** Dependencies /ready checks (object store, Redis). */
  readiness: readonly ReadinessCheck[];
  readinessTimeoutMs?: number;
  /** Runs, lineage, compaction and retention routes need them; without them they are not served. */
  orchestrator?: { orchestrator: Orchestrator; catalogs: TenantCatalogs };
}

/** The fastify app with every route registered; the caller listens and closes. */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandlers(app);
  const registry = createMetrics(app);
  await registerDocs(app, deps.version);

  await app.register(healthRoutes, {
    readiness: deps.readiness,
    checkTimeoutMs: deps.readinessTimeoutMs ?? 2_000,
  });
  await app.register(metricsRoutes, { registry });
  if (deps.orchestrator) {
    await app.register(runRoutes, deps.orchestrator);
    await app.register(compactionRoutes, deps.orchestrator);
    await app.register(retentionRoutes, deps.orchestrator);
  }
  return app;
}
