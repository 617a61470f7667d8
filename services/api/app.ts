import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { registerDocs } from './docs.js';
import { registerErrorHandlers } from './errors.js';
import { createMetrics } from './metrics.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';

export interface ApiDeps {
  logger: FastifyBaseLogger;
  /** Version shown in the OpenAPI document. */
  version: string;
  /** Dependencies /ready checks (object store, Redis). */
  readiness: readonly ReadinessCheck[];
  readinessTimeoutMs?: number;
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
  return app;
}
