import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { TenantCatalogs } from '../../catalog/index.js';
import type { TokenService } from '../auth/index.js';
import { ingestMetrics } from '../ingest/index.js';
import type { Orchestrator } from '../orchestrator/index.js';
import { registerAuth, requestLogView } from './auth.js';
import { DOCS_PREFIX, registerDocs } from './docs.js';
import { mapError, registerErrorHandlers } from './errors.js';
import { createMetrics } from './metrics.js';
import { type BrowserRoutesOptions, browserRoutes } from './routes/browser.js';
import { compactionRoutes } from './routes/compaction.js';
import { type ConsoleRoutesOptions, consoleRoutes } from './routes/console.js';
import { type ContinuousQueryRoutesOptions, continuousQueryRoutes } from './routes/continuous-queries.js';
import { type DeleteRoutesOptions, deleteRoutes } from './routes/delete.js';
import { type FileRoutesOptions, fileRoutes } from './routes/files.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { type QueryRoutesOptions, queryRoutes } from './routes/query.js';
import { retentionRoutes } from './routes/retention.js';
import { runRoutes } from './routes/runs.js';
import { tenantRoutes } from './routes/tenants.js';
import { tokenRoutes } from './routes/tokens.js';
import { type WriteRoutesOptions, writeRoutes } from './routes/write.js';

export interface ApiDeps {
  logger: FastifyBaseLogger;
  /** Version shown in the OpenAPI document. */
  version: string;
  /** Dependencies /ready checks (object store, Redis). */
  readiness: readonly ReadinessCheck[];
  readinessTimeoutMs?: number;
  /** Verifies the token of every non-public request; serves the token and tenant routes. */
  auth: TokenService;
  /** Runs, lineage, compaction and retention routes need them; without them they are not served. */
  orchestrator?: { orchestrator: Orchestrator; catalogs: TenantCatalogs };
  /** The write endpoints need the ingest service; without it they are not served. */
  ingest?: WriteRoutesOptions;
  /** The query endpoints need the query service; without it they are not served. */
  query?: QueryRoutesOptions;
  /** The delete endpoints; without them they are not served. */
  deletes?: DeleteRoutesOptions;
  /** The continuous query endpoints; without them they are not served. */
  cqs?: ContinuousQueryRoutesOptions;
  /** Browser sessions (signed URLs) and the catalog's versions; without them they are not served. */
  browser?: BrowserRoutesOptions;
  /** Signed URLs of the local store (`/files/…`); not served for S3, whose URLs are presigned. */
  files?: FileRoutesOptions;
  /** The browser console at `/`; without it `/` is not served. */
  console?: ConsoleRoutesOptions;
}

/** Longest path parameter the router passes on (fastify's default, 100, answered a bare 414). */
const MAX_PATH_PARAM_LENGTH = 2048;

/** The fastify app with every route registered; the caller listens and closes. */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  // fastify logs each request's URL, which may carry a token as `?p=`.
  const app = Fastify({
    loggerInstance: deps.logger.child({}, { serializers: { req: requestLogView } }),
    // Ids in paths are checked by each route's schema, which says what is wrong with them.
    maxParamLength: MAX_PATH_PARAM_LENGTH,
    // Errors the router raises before any route (a malformed escape) get the one error shape too.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const { status, body } = mapError(error);
      void reply.status(status).send(body);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandlers(app);
  registerAuth(app, deps.auth, { publicPrefixes: [DOCS_PREFIX] });
  const registry = createMetrics(app);
  await registerDocs(app, deps.version);

  await app.register(healthRoutes, {
    readiness: deps.readiness,
    checkTimeoutMs: deps.readinessTimeoutMs ?? 2_000,
  });
  await app.register(metricsRoutes, { registry });
  await app.register(tokenRoutes, { auth: deps.auth });
  await app.register(tenantRoutes, { auth: deps.auth });
  if (deps.orchestrator) {
    await app.register(runRoutes, deps.orchestrator);
    await app.register(compactionRoutes, deps.orchestrator);
    await app.register(retentionRoutes, deps.orchestrator);
  }
  if (deps.query) await app.register(queryRoutes, deps.query);
  if (deps.deletes) await app.register(deleteRoutes, deps.deletes);
  if (deps.cqs) await app.register(continuousQueryRoutes, deps.cqs);
  if (deps.browser) await app.register(browserRoutes, deps.browser);
  if (deps.files) await app.register(fileRoutes, { ...deps.files, registry });
  if (deps.console) await app.register(consoleRoutes, deps.console);
  if (deps.ingest) {
    deps.ingest.service.useMetrics(ingestMetrics(registry));
    await app.register(writeRoutes, deps.ingest);
  }
  return app;
}
