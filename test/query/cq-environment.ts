/**
 * What the continuous query tests run against: the query fixture's tenant with its auth, a real
 * Redis and BullMQ orchestration, a query service, the CQ service and the API app.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../services/api/index.js';
import type { TokenService } from '../../services/auth/index.js';
import { ContinuousQueries } from '../../services/cq/index.js';
import type { QueryService } from '../../services/query/index.js';
import { bootstrapTestAuth } from '../helpers/auth.js';
import { startTestOrchestration, type TestOrchestration } from '../helpers/orchestration.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { createQueryFixture, openFixtureQueryService, type QueryFixture } from './fixture.js';

export interface CqEnvironment {
  fixture: QueryFixture;
  query: QueryService;
  orchestration: TestOrchestration;
  cqs: ContinuousQueries;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** `withAuth` runs on the empty store: tenants and tokens are created there, before the data. */
export async function startCqEnvironment(
  withAuth: (auth: TokenService) => Promise<void>,
  options: { concurrency?: number } = {},
): Promise<CqEnvironment> {
  let auth!: TokenService;
  const fixture = await createQueryFixture(async (store) => {
    auth = (await bootstrapTestAuth(store)).auth;
    await withAuth(auth);
  });
  let redis: TestRedis | undefined;
  let orchestration: TestOrchestration | undefined;
  let query: QueryService | undefined;
  let app: FastifyInstance | undefined;
  const close = async () => {
    await app?.close();
    query?.close();
    await orchestration?.stop();
    await redis?.stop();
    await fixture.close();
  };
  try {
    redis = await startTestRedis();
    orchestration = await startTestOrchestration(fixture.store, redis, options);
    query = await openFixtureQueryService(fixture);
    const cqs = new ContinuousQueries({
      catalogs: fixture.catalogs,
      query,
      orchestrator: orchestration.orchestrator,
      now: () => Date.parse('2026-04-01T00:00:00Z'),
    });
    app = await buildApp({
      logger: pino({ level: 'silent' }),
      version: 'test',
      readiness: [],
      auth,
      cqs: { cqs },
      orchestrator: { orchestrator: orchestration.orchestrator, catalogs: fixture.catalogs },
    });
    return { fixture, query, orchestration, cqs, app, close };
  } catch (error) {
    await close();
    throw error;
  }
}
