/**
 * Tokens over HTTP: where a token may come from, what a missing or bad one answers, permissions
 * and database scope, and every token and tenant endpoint — on a real local store via inject.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, SystemCatalog } from '../../catalog/index.js';
import { assertDatabaseAccess } from '../../services/api/auth.js';
import { buildApp } from '../../services/api/index.js';
import { tenantOf } from '../../services/api/tenant.js';
import { DEFAULT_TENANT, TokenService } from '../../services/auth/index.js';
import { createLogger } from '../../services/runtime/logger.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are walked ad hoc in assertions
type Body = Record<string, any>;

describe('API authentication and token management', () => {
  let root: string;
  let store: LocalObjectStore;
  let api: FastifyInstance;
  let clock = Date.now();
  let admin: string;
  const logs: string[] = [];
  const secrets: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'weir-api-auth-'));
    store = new LocalObjectStore(root);
    const auth = new TokenService(new SystemCatalog(store), { cacheTtlMs: 5_000, now: () => clock });
    admin = (await auth.bootstrap({ tenant: DEFAULT_TENANT })).secret!;
    secrets.push(admin);
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    api = await buildApp({ logger: createLogger('info', 'test', sink), version: '0', readiness: [], auth });
    // Routes standing in for data routes: they declare a permission and check a database.
    api.get('/t/read/:db', { config: { permission: 'read' } }, async (request) => {
      const { db } = request.params as { db: string };
      assertDatabaseAccess(request, db);
      return { tenant: tenantOf(request), db };
    });
    api.post('/t/write', { config: { permission: 'write' } }, async (request) => ({
      tenant: tenantOf(request),
    }));
  });
  afterAll(async () => {
    await api.close();
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });

  const call = async (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    token: string | null = admin,
    payload?: unknown,
  ): Promise<{ status: number; body: Body }> => {
    const response = await api.inject({
      method,
      url,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: response.statusCode, body: response.json() as Body };
  };
  const createToken = async (payload: Record<string, unknown>, as = admin) => {
    const created = await call('POST', '/api/v1/auth/tokens', as, payload);
    expect(created.status).toBe(201);
    secrets.push(created.body.token);
    return created.body as { token: string; id: string };
  };

  describe('where the token comes from', () => {
    it('accepts Bearer, Token, x-api-key, ?p= and basic auth', async () => {
      const basic = (user: string, password: string) =>
        `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      for (const [headers, query] of [
        [{ authorization: `Bearer ${admin}` }, ''],
        [{ authorization: `bearer ${admin}` }, ''],
        [{ authorization: `Token ${admin}` }, ''],
        [{ 'x-api-key': admin }, ''],
        [{}, `?u=any&p=${encodeURIComponent(admin)}`],
        [{ authorization: basic('influx', admin) }, ''],
        [{ authorization: basic('', admin) }, ''],
      ] as const) {
        const res = await api.inject({ method: 'GET', url: `/api/v1/auth/tokens${query}`, headers });
        expect(res.statusCode, JSON.stringify(headers) + query).toBe(200);
      }
    });

    it('takes the first place that has one: Authorization before x-api-key before ?p=', async () => {
      const first = await api.inject({
        method: 'GET',
        url: '/api/v1/auth/tokens?p=weir_wrong',
        headers: { authorization: `Bearer ${admin}`, 'x-api-key': 'weir_wrong' },
      });
      expect(first.statusCode).toBe(200);
      const second = await api.inject({
        method: 'GET',
        url: `/api/v1/auth/tokens?p=${admin}`,
        headers: { authorization: 'Bearer weir_wrong' },
      });
      expect(second.statusCode).toBe(401);
    });
  });

  describe('refusals', () => {
    it('401 says whether the token is missing, invalid, revoked, disabled or expired', async () => {
      const short = await createToken({ name: 'short', expires_in: 60 });
      const revoked = await createToken({ name: 'revoked' });
      const disabled = await createToken({ name: 'disabled' });
      await call('POST', `/api/v1/auth/tokens/${revoked.id}/revoke`);
      await call('PATCH', `/api/v1/auth/tokens/${disabled.id}`, admin, { enabled: false });
      clock += 60_000;
      try {
        for (const [token, message] of [
          [null, /^missing token/],
          ['weir_not-a-real-token', /^invalid token$/],
          [revoked.token, /revoked/],
          [disabled.token, /disabled/],
          [short.token, /expired/],
        ] as const) {
          const res = await call('GET', '/t/read/metrics', token);
          expect(res.status).toBe(401);
          expect(res.body).toEqual({
            success: false,
            error: expect.stringMatching(message),
            code: 'UNAUTHORIZED',
          });
        }
      } finally {
        clock -= 60_000;
      }
    });

    it('403 names the permission a token lacks, and the database it may not use', async () => {
      const reader = await createToken({ name: 'reader', permissions: ['read'], databases: ['metrics'] });
      expect(await call('GET', '/t/read/metrics', reader.token)).toEqual({
        status: 200,
        body: { tenant: DEFAULT_TENANT, db: 'metrics' },
      });
      const otherDb = await call('GET', '/t/read/logs', reader.token);
      expect(otherDb).toEqual({
        status: 403,
        body: { success: false, error: 'this token has no access to database logs', code: 'FORBIDDEN' },
      });
      const write = await call('POST', '/t/write', reader.token);
      expect(write.status).toBe(403);
      expect(write.body).toMatchObject({ code: 'FORBIDDEN', error: 'this token lacks the write permission' });
      const manage = await call('GET', '/api/v1/auth/tokens', reader.token);
      expect(manage.body).toMatchObject({
        code: 'FORBIDDEN',
        error: 'this token lacks the admin permission',
      });
      const tenants = await call('GET', '/api/v1/tenants', reader.token);
      expect(tenants.body).toMatchObject({
        code: 'FORBIDDEN',
        error: expect.stringContaining('platform admin'),
      });
    });

    it('public routes need no token; unknown routes answer 404 to anyone', async () => {
      for (const url of ['/health', '/ready', '/metrics', '/docs/json', '/api/v1/auth/verify']) {
        expect((await api.inject({ method: 'GET', url })).statusCode, url).toBe(200);
      }
      expect((await call('GET', '/api/v1/nowhere', null)).status).toBe(404);
    });

    it('a route that declares neither public nor a permission stops the app from starting', async () => {
      const other = await buildApp({
        logger: createLogger('silent', 'test'),
        version: '0',
        readiness: [],
        auth: new TokenService(new SystemCatalog(store), { cacheTtlMs: 0 }),
      });
      expect(() => other.get('/t/open', async () => ({}))).toThrow(
        /route GET \/t\/open must set config.public, config.permission or config.platformAdmin/,
      );
      await other.close();
    });
  });

  describe('GET /api/v1/auth/verify', () => {
    it('answers valid: false without a token or with a bad one', async () => {
      expect(await call('GET', '/api/v1/auth/verify', null)).toEqual({
        status: 200,
        body: { valid: false, error: 'missing token' },
      });
      expect((await call('GET', '/api/v1/auth/verify', 'weir_bad')).body).toEqual({
        valid: false,
        error: 'invalid token',
      });
    });

    it('answers Arc’s shape plus the tenant and databases', async () => {
      const t = await createToken({
        name: 'verify-me',
        description: 'd',
        permissions: ['read'],
        databases: ['a'],
      });
      const res = await call('GET', '/api/v1/auth/verify', t.token);
      expect(res).toEqual({
        status: 200,
        body: {
          valid: true,
          token_info: {
            id: t.id,
            name: 'verify-me',
            description: 'd',
            permissions: ['read'],
            created_at: expect.any(String),
            last_used_at: expect.any(String),
            enabled: true,
            expires_at: null,
            databases: ['a'],
            platform_admin: false,
            revoked: false,
            rotated_at: null,
          },
          permissions: ['read'],
          tenant: DEFAULT_TENANT,
          databases: ['a'],
        },
      });
    });
  });

  describe('token endpoints', () => {
    it('create, list, get, patch, rotate, revoke and delete', async () => {
      const created = await call('POST', '/api/v1/auth/tokens', admin, {
        name: 'lifecycle',
        description: 'for the test',
        permissions: ['read', 'write'],
        expires_in: '30d',
      });
      expect(created).toEqual({
        status: 201,
        body: {
          success: true,
          token: expect.stringMatching(/^weir_/),
          id: expect.any(String),
          message: expect.any(String),
        },
      });
      const { id, token } = created.body;
      secrets.push(token);

      const list = await call('GET', '/api/v1/auth/tokens');
      expect(list.body).toMatchObject({ success: true, count: list.body.tokens.length });
      const listed = list.body.tokens.find((t: Body) => t.id === id);
      expect(listed).toMatchObject({ name: 'lifecycle', permissions: ['read', 'write'], enabled: true });
      expect(Date.parse(listed.expires_at) - Date.parse(listed.created_at)).toBeCloseTo(30 * 86_400_000, -4);
      for (const secret of secrets) expect(JSON.stringify(list.body)).not.toContain(secret);
      expect(JSON.stringify(list.body)).not.toContain('hash');

      expect((await call('GET', `/api/v1/auth/tokens/${id}`)).body).toMatchObject({
        success: true,
        token: { id, name: 'lifecycle' },
      });
      const patched = await call('PATCH', `/api/v1/auth/tokens/${id}`, admin, {
        name: 'lifecycle-2',
        permissions: ['read'],
        databases: ['metrics'],
        expires_in: null,
      });
      expect(patched.body).toMatchObject({
        success: true,
        token: { name: 'lifecycle-2', permissions: ['read'], databases: ['metrics'], expires_at: null },
      });

      const rotated = await call('POST', `/api/v1/auth/tokens/${id}/rotate`);
      expect(rotated.body).toEqual({
        success: true,
        new_token: expect.stringMatching(/^weir_/),
        message: expect.any(String),
      });
      secrets.push(rotated.body.new_token);
      expect((await call('GET', '/t/read/metrics', token)).status).toBe(401);
      expect((await call('GET', '/t/read/metrics', rotated.body.new_token)).status).toBe(200);

      expect((await call('POST', `/api/v1/auth/tokens/${id}/revoke`)).body).toMatchObject({ success: true });
      expect((await call('GET', '/t/read/metrics', rotated.body.new_token)).body.error).toMatch(/revoked/);
      expect((await call('GET', `/api/v1/auth/tokens/${id}`)).body.token).toMatchObject({
        enabled: false,
        revoked: true,
      });

      expect((await call('DELETE', `/api/v1/auth/tokens/${id}`)).body).toMatchObject({ success: true });
      expect((await call('GET', `/api/v1/auth/tokens/${id}`)).status).toBe(404);
    });

    it('refuses to disable, narrow, revoke or delete the last working admin token', async () => {
      const adminId = (await call('GET', '/api/v1/auth/verify')).body.token_info.id as string;
      const before = (await call('GET', `/api/v1/auth/tokens/${adminId}`)).body.token;
      const lockouts: [string, string, Body?][] = [
        ['PATCH', `/api/v1/auth/tokens/${adminId}`, { enabled: false }],
        ['PATCH', `/api/v1/auth/tokens/${adminId}`, { permissions: ['read', 'write'] }],
        ['PATCH', `/api/v1/auth/tokens/${adminId}`, { databases: ['metrics'] }],
        ['POST', `/api/v1/auth/tokens/${adminId}/revoke`],
        ['DELETE', `/api/v1/auth/tokens/${adminId}`],
      ];
      for (const [method, url, body] of lockouts) {
        const res = await call(method as 'PATCH' | 'POST' | 'DELETE', url, admin, body);
        expect(res, `${method} ${JSON.stringify(body)}`).toMatchObject({
          status: 409,
          body: { success: false, code: 'LAST_ADMIN_TOKEN' },
        });
        expect(res.body.error).toContain(adminId);
      }
      expect((await call('GET', `/api/v1/auth/tokens/${adminId}`)).body.token).toEqual(before);

      // Another admin for every database frees the tenant's check; the platform still needs this one.
      const second = await createToken({ name: 'second-admin', permissions: ['admin'] });
      const disable = await call('PATCH', `/api/v1/auth/tokens/${adminId}`, admin, { enabled: false });
      expect(disable).toMatchObject({ status: 409, body: { code: 'LAST_PLATFORM_ADMIN_TOKEN' } });
      // The second one may go: the first still administers the tenant and the platform.
      expect(
        (await call('PATCH', `/api/v1/auth/tokens/${second.id}`, admin, { enabled: false })).status,
      ).toBe(200);
      expect((await call('DELETE', `/api/v1/auth/tokens/${second.id}`)).status).toBe(200);
      expect((await call('GET', '/api/v1/auth/verify')).body.valid).toBe(true);
    });

    it('refuses unknown fields, naming them, and creates nothing', async () => {
      const before = (await call('GET', '/api/v1/auth/tokens')).body.count as number;
      // `permission` and `expiresIn` would have been dropped: a read-write token that never expires.
      const typo = await call('POST', '/api/v1/auth/tokens', admin, {
        name: 'typo',
        expiresIn: '30d',
        permission: ['read'],
      });
      expect(typo).toMatchObject({ status: 400, body: { success: false, code: 'VALIDATION_ERROR' } });
      expect(typo.body.error).toMatch(/expiresIn/);
      expect(typo.body.error).toMatch(/permission/);
      expect((await call('GET', '/api/v1/auth/tokens')).body.count).toBe(before);
      const adminId = (await call('GET', '/api/v1/auth/verify')).body.token_info.id as string;
      const patch = await call('PATCH', `/api/v1/auth/tokens/${adminId}`, admin, { disabled: true });
      expect(patch).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
      const tenant = await call('POST', '/api/v1/tenants', admin, { id: 'typo-tenant', displayName: 'x' });
      expect(tenant).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
      expect(tenant.body.error).toMatch(/displayName/);
    });

    it('accepts expires_in as seconds or a duration', async () => {
      for (const [i, [expiresIn, seconds]] of (
        [
          [3_600, 3_600],
          ['3600', 3_600],
          ['12h', 43_200],
          ['15m', 900],
          ['2w', 1_209_600],
        ] as const
      ).entries()) {
        const t = await createToken({ name: `expires-${i}`, expires_in: expiresIn });
        const info = (await call('GET', `/api/v1/auth/tokens/${t.id}`)).body.token;
        // Expiry counts from the request; the creation time is its commit's (later under load).
        const lifetime = Date.parse(info.expires_at) - Date.parse(info.created_at);
        expect(Math.abs(lifetime - seconds * 1000)).toBeLessThan(5_000);
      }
    });

    it('bad input is 400, an unknown id 404, a duplicate name 409', async () => {
      for (const payload of [
        {},
        { name: '' },
        { name: 'x', permissions: ['sudo'] },
        { name: 'x', permissions: [] },
        { name: 'x', expires_in: '3x' },
        { name: 'x', expires_in: -5 },
        { name: 'x', expires_in: 1.5 },
        { name: 'x', databases: ['../etc'] },
        { name: 'x', databases: ['a', 'a'] },
      ]) {
        const res = await call('POST', '/api/v1/auth/tokens', admin, payload);
        expect(res.status, JSON.stringify(payload)).toBe(400);
        expect(res.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
      }
      const t = await createToken({ name: 'dup' });
      const duplicate = await call('POST', '/api/v1/auth/tokens', admin, { name: 'dup' });
      expect(duplicate).toMatchObject({ status: 409, body: { success: false, code: 'TOKEN_NAME_EXISTS' } });
      expect((await call('PATCH', `/api/v1/auth/tokens/${t.id}`, admin, {})).status).toBe(400);

      const unknown = `tok_${'0'.repeat(32)}`;
      for (const [method, url] of [
        ['GET', `/api/v1/auth/tokens/${unknown}`],
        ['PATCH', `/api/v1/auth/tokens/${unknown}`],
        ['DELETE', `/api/v1/auth/tokens/${unknown}`],
        ['POST', `/api/v1/auth/tokens/${unknown}/rotate`],
        ['POST', `/api/v1/auth/tokens/${unknown}/revoke`],
      ] as const) {
        const res = await call(method, url, admin, method === 'PATCH' ? { name: 'y' } : undefined);
        expect(res, `${method} ${url}`).toMatchObject({ status: 404, body: { code: 'TOKEN_NOT_FOUND' } });
      }
      expect((await call('GET', '/api/v1/auth/tokens/not-an-id')).status).toBe(400);
    });

    it('a tenant admin cannot grant platform admin, nor take over a platform admin token', async () => {
      const tenantAdmin = await createToken({ name: 'tenant-admin', permissions: ['admin'] });
      const grant = await call('POST', '/api/v1/auth/tokens', tenantAdmin.token, {
        name: 'escalate',
        platform_admin: true,
      });
      expect(grant).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
      const bootstrapId = (await call('GET', '/api/v1/auth/verify')).body.token_info.id;
      for (const [method, url] of [
        ['POST', `/api/v1/auth/tokens/${bootstrapId}/rotate`],
        ['POST', `/api/v1/auth/tokens/${bootstrapId}/revoke`],
        ['DELETE', `/api/v1/auth/tokens/${bootstrapId}`],
      ] as const) {
        expect((await call(method, url, tenantAdmin.token)).status, url).toBe(403);
      }
      const platform = await call('POST', '/api/v1/auth/tokens', admin, {
        name: 'second-platform',
        platform_admin: true,
      });
      expect(platform.status).toBe(201);
      secrets.push(platform.body.token);
    });

    it('an admin limited to databases grants only within them; a new token inherits its scope', async () => {
      const scoped = await createToken({
        name: 'scoped-admin',
        permissions: ['admin'],
        databases: ['a', 'b'],
      });
      expect(
        (await call('POST', '/api/v1/auth/tokens', scoped.token, { name: 'all', databases: null })).status,
      ).toBe(403);
      const outside = await call('POST', '/api/v1/auth/tokens', scoped.token, {
        name: 'c',
        databases: ['c'],
      });
      expect(outside.body).toMatchObject({
        code: 'FORBIDDEN',
        error: 'this token has no access to database c',
      });
      const inherited = await createToken({ name: 'inherits' }, scoped.token);
      expect((await call('GET', `/api/v1/auth/tokens/${inherited.id}`)).body.token.databases).toEqual([
        'a',
        'b',
      ]);
      const widen = await call('PATCH', `/api/v1/auth/tokens/${inherited.id}`, scoped.token, {
        databases: ['c'],
      });
      expect(widen.status).toBe(403);
      // A token with all databases is beyond a scoped admin's reach.
      const unscoped = await createToken({ name: 'unscoped' });
      expect((await call('POST', `/api/v1/auth/tokens/${unscoped.id}/rotate`, scoped.token)).status).toBe(
        403,
      );
    });
  });

  describe('tenant endpoints', () => {
    it('a platform admin creates a tenant with its first admin token, lists and deletes tenants', async () => {
      const created = await call('POST', '/api/v1/tenants', admin, { id: 'acme', display_name: 'Acme Corp' });
      expect(created).toEqual({
        status: 201,
        body: {
          success: true,
          tenant: { id: 'acme', display_name: 'Acme Corp', created_at: expect.any(String) },
          token: expect.stringMatching(/^weir_/),
          token_id: expect.any(String),
          message: expect.any(String),
        },
      });
      const acme = created.body.token as string;
      secrets.push(acme);

      // The new token acts for acme only: its tokens list holds its own token, not default's.
      expect((await call('GET', '/t/read/metrics', acme)).body.tenant).toBe('acme');
      const acmeTokens = await call('GET', '/api/v1/auth/tokens', acme);
      expect(acmeTokens.body.tokens.map((t: Body) => t.id)).toEqual([created.body.token_id]);
      // Another tenant's token id is simply not found.
      const defaultId = (await call('GET', '/api/v1/auth/verify')).body.token_info.id;
      expect((await call('GET', `/api/v1/auth/tokens/${defaultId}`, acme)).status).toBe(404);
      expect((await call('DELETE', `/api/v1/auth/tokens/${defaultId}`, acme)).status).toBe(404);
      expect((await call('GET', `/api/v1/auth/tokens/${created.body.token_id}`)).status).toBe(404);
      // A tenant admin is no platform admin.
      expect((await call('GET', '/api/v1/tenants', acme)).status).toBe(403);
      expect((await call('POST', '/api/v1/tenants', acme, { id: 'evil' })).status).toBe(403);

      const list = await call('GET', '/api/v1/tenants');
      expect(list.body).toMatchObject({ success: true, count: 2 });
      expect(list.body.tenants.map((t: Body) => t.id)).toEqual(['acme', 'default']);

      expect((await call('POST', '/api/v1/tenants', admin, { id: 'acme' })).body.code).toBe('TENANT_EXISTS');
      expect((await call('POST', '/api/v1/tenants', admin, { id: '../x' })).status).toBe(400);
      expect((await call('DELETE', '/api/v1/tenants/acme')).body.code).toBe('CONFIRM_REQUIRED');
      expect((await call('DELETE', '/api/v1/tenants/default?confirm=true')).body.code).toBe('TENANT_IN_USE');
      expect((await call('DELETE', '/api/v1/tenants/ghost?confirm=true')).status).toBe(404);

      expect((await call('DELETE', '/api/v1/tenants/acme?confirm=true')).body).toMatchObject({
        success: true,
      });
      expect((await call('GET', '/t/read/metrics', acme)).status).toBe(401);
      expect((await call('GET', '/api/v1/tenants')).body.count).toBe(1);
    });
  });

  it('never logs a token, also one sent as ?p=', async () => {
    await api.inject({ method: 'GET', url: `/t/read/metrics?p=${admin}` });
    const text = logs.join('');
    expect(text).toContain('p=[redacted]');
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('every token and tenant route is in the OpenAPI document', async () => {
    const doc = (await api.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, object>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/auth/verify',
        '/api/v1/auth/tokens',
        '/api/v1/auth/tokens/{id}',
        '/api/v1/auth/tokens/{id}/rotate',
        '/api/v1/auth/tokens/{id}/revoke',
        '/api/v1/tenants',
        '/api/v1/tenants/{id}',
      ]),
    );
  });
});
