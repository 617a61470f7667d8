import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CatalogConflictError } from '../../catalog/errors.js';
import { LocalObjectStore, SystemCatalog } from '../../catalog/index.js';
import { buildApp, type ReadinessCheck } from '../../services/api/index.js';
import { TokenService } from '../../services/auth/index.js';
import { createLogger } from '../../services/runtime/index.js';

const root = mkdtempSync(join(tmpdir(), 'weir-api-app-'));
const store = new LocalObjectStore(root);
const auth = new TokenService(new SystemCatalog(store), { cacheTtlMs: 5_000 });
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});
afterAll(async () => {
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

/** Captures log lines so tests can look at what the logs would have said. */
function logSink(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

async function app(readiness: ReadinessCheck[] = [], sink = logSink()): Promise<FastifyInstance> {
  const built = await buildApp({
    logger: createLogger('info', 'test', sink.stream),
    version: '0.0.0-test',
    readiness,
    readinessTimeoutMs: 200,
    auth,
  });
  apps.push(built);
  return built;
}

describe('InfluxDB ping', () => {
  it('answers GET and HEAD /ping with 204 and a version header, without a token', async () => {
    const api = await app([]);
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await api.inject({ method, url: '/ping' });
      expect(res.statusCode).toBe(204);
      expect(res.headers['x-influxdb-version']).toMatch(/^1\./);
    }
  });
});

describe('readiness', () => {
  it('answers 200 when every check passes', async () => {
    const api = await app([{ name: 'redis', check: async () => {} }]);
    const res = await api.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ready', checks: { redis: { ok: true } } });
  });

  it('answers 503 naming the failing dependency, also when a check hangs', async () => {
    const api = await app([
      { name: 'object_store', check: async () => {} },
      { name: 'redis', check: () => Promise.reject(new Error('connect ECONNREFUSED')) },
      { name: 'slow', check: () => new Promise(() => {}) },
    ]);
    const res = await api.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'not_ready',
      checks: {
        object_store: { ok: true },
        redis: { ok: false, error: 'connect ECONNREFUSED' },
        slow: { ok: false, error: 'no answer in 200 ms' },
      },
    });
  });
});

describe('errors', () => {
  async function appWithRoutes(sink = logSink()): Promise<FastifyInstance> {
    const api = await app([], sink);
    const typed = api.withTypeProvider<ZodTypeProvider>();
    // Public: these tests are about error mapping, not tokens (test/api/auth.test.ts).
    const config = { public: true };
    typed.get(
      '/t/query',
      { config, schema: { querystring: z.object({ limit: z.coerce.number().int().max(10) }) } },
      async (req) => ({
        limit: req.query.limit,
      }),
    );
    typed.post('/t/body', { config, schema: { body: z.object({ name: z.string() }) } }, async (req) => ({
      name: req.body.name,
    }));
    api.get('/t/weir', { config }, async () => {
      throw new CatalogConflictError('TABLE_EXISTS', 'table metrics already exists');
    });
    api.get('/t/boom', { config }, async () => {
      throw new Error('secret internals at /srv/db');
    });
    api.get('/t/zod', { config }, async () => z.object({ n: z.number() }).parse({ n: 'x' }));
    return api;
  }

  it('maps request validation to 400 VALIDATION_ERROR', async () => {
    const api = await appWithRoutes();
    const res = await api.inject({ method: 'GET', url: '/t/query?limit=99' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
    expect(res.json().error).toContain('limit');

    const thrown = await api.inject({ method: 'GET', url: '/t/zod' });
    expect(thrown.statusCode).toBe(400);
    expect(thrown.json()).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
    expect(thrown.json().error).toContain('n:');
  });

  it('maps WeirError to its status and code', async () => {
    const res = await (await appWithRoutes()).inject({ method: 'GET', url: '/t/weir' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      success: false,
      error: 'table metrics already exists',
      code: 'TABLE_EXISTS',
    });
  });

  it('answers anything else with a generic 500 and logs the details', async () => {
    const sink = logSink();
    const res = await (await appWithRoutes(sink)).inject({ method: 'GET', url: '/t/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ success: false, error: 'internal server error', code: 'INTERNAL_ERROR' });
    expect(res.body).not.toContain('secret internals');
    expect(sink.lines.some((line) => line.includes('secret internals'))).toBe(true);
  });

  it('keeps fastify client errors (bad JSON) as 4xx in the same shape', async () => {
    const res = await (await appWithRoutes()).inject({
      method: 'POST',
      url: '/t/body',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ success: false, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
  });

  it('answers unknown routes with 404 in the same shape', async () => {
    const res = await (await app()).inject({ method: 'DELETE', url: '/nowhere' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ success: false, error: 'no route DELETE /nowhere', code: 'NOT_FOUND' });
  });
});

describe('logs', () => {
  it('are JSON and never carry credentials', async () => {
    const sink = logSink();
    const api = await app([], sink);
    await api.inject({
      method: 'GET',
      url: '/health',
      headers: { authorization: 'Bearer s3cr3t', 'x-api-key': 'k3y' },
    });
    // fastify's request serializer drops headers; the redaction guards code that logs them anyway.
    const log = createLogger('info', 'test', sink.stream);
    log.info(
      { req: { headers: { authorization: 'Bearer s3cr3t', 'x-api-key': 'k3y', cookie: 'c00kie' } } },
      'headers',
    );
    for (const line of sink.lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(sink.lines.join('\n')).not.toMatch(/s3cr3t|k3y|c00kie/);
    expect(JSON.parse(sink.lines.at(-1)!).req.headers).toEqual({
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      cookie: '[redacted]',
    });
  });
});
