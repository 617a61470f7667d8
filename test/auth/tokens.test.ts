import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore, SystemCatalog, type WeirError } from '../../catalog/index.js';
import { TokenService, type VerifyResult } from '../../services/auth/index.js';
import { RacingStore } from '../helpers/racing-store.js';

describe('TokenService', () => {
  let root: string;
  let store: LocalObjectStore;
  let clock: number;
  let tokens: TokenService;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'weir-auth-'));
    store = new LocalObjectStore(root);
    clock = Date.parse('2026-03-01T00:00:00Z');
    const system = new SystemCatalog(store);
    await system.ensureTenant('acme');
    await system.ensureTenant('beta');
    tokens = new TokenService(system, { cacheTtlMs: 5_000, now: () => clock });
  });
  afterEach(async () => {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });

  const reasonOf = (result: VerifyResult) => (result.ok ? 'ok' : result.reason);

  it('creates a token whose secret is shown once, stored only as a hash, and verifies to its context', async () => {
    const { token, record } = await tokens.create('acme', {
      name: 'ingest',
      description: 'telegraf',
      permissions: ['write', 'read', 'write'],
      databases: ['metrics'],
    });
    expect(token).toMatch(/^weir_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({
      id: expect.stringMatching(/^tok_[0-9a-f]{32}$/),
      tenant: 'acme',
      name: 'ingest',
      description: 'telegraf',
      permissions: ['read', 'write'],
      databases: ['metrics'],
      platformAdmin: false,
      enabled: true,
      createdAt: expect.any(Number),
      expiresAt: null,
      lastUsedAt: null,
    });
    expect(record).not.toHaveProperty('hash');

    const result = await tokens.verify(token);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.context).toEqual({
      tenant: 'acme',
      tokenId: record.id,
      name: 'ingest',
      permissions: new Set(['read', 'write']),
      databases: ['metrics'],
      platformAdmin: false,
      expiresAt: null,
    });
    expect((await tokens.get('acme', record.id)).lastUsedAt).toBe(clock);

    // The secret is nowhere in storage: only its sha256 is.
    const log = readFileSync(join(root, '_system/catalog/log/00000000000000000003.json'), 'utf8');
    expect(log).not.toContain(token);
    expect(log).toContain('"hash"');
  });

  it('defaults to read and write, all databases, no expiry; admin brings every permission', async () => {
    const plain = await tokens.create('acme', { name: 'plain' });
    expect(plain.record).toMatchObject({ permissions: ['read', 'write'], databases: null, expiresAt: null });
    const admin = await tokens.create('acme', { name: 'admin', permissions: ['admin'] });
    const result = await tokens.verify(admin.token);
    expect(result.ok && [...result.context.permissions].sort()).toEqual(['admin', 'delete', 'read', 'write']);
  });

  it('answers why a secret is not valid: unknown, disabled, expired, revoked', async () => {
    expect(reasonOf(await tokens.verify('weir_nope'))).toBe('unknown');
    const { token, record } = await tokens.create('acme', { name: 'short', expiresInSeconds: 60 });
    expect(record.expiresAt).toBe(clock + 60_000);
    clock += 59_999;
    expect(reasonOf(await tokens.verify(token))).toBe('ok');
    clock += 1;
    expect(await tokens.verify(token)).toEqual({
      ok: false,
      reason: 'expired',
      message: 'token has expired',
    });

    await tokens.update('acme', record.id, { expiresInSeconds: null, enabled: false });
    expect(reasonOf(await tokens.verify(token))).toBe('disabled');
    await tokens.update('acme', record.id, { enabled: true });
    expect(reasonOf(await tokens.verify(token))).toBe('ok');
    await tokens.revoke('acme', record.id);
    expect(reasonOf(await tokens.verify(token))).toBe('revoked');
    // Revoked is final: enabling does not bring it back, rotating is refused.
    await tokens.update('acme', record.id, { enabled: true });
    expect(reasonOf(await tokens.verify(token))).toBe('revoked');
    const rotate = await tokens.rotate('acme', record.id).catch((e: WeirError) => e.code);
    expect(rotate).toBe('TOKEN_REVOKED');
  });

  it('rotates: the new secret works, the old one is unknown at once on this node', async () => {
    const { token, record } = await tokens.create('acme', { name: 'r' });
    expect(reasonOf(await tokens.verify(token))).toBe('ok');
    const rotated = await tokens.rotate('acme', record.id);
    expect(rotated.token).not.toBe(token);
    expect(rotated.record.rotatedAt).not.toBeNull();
    expect(reasonOf(await tokens.verify(token))).toBe('unknown');
    expect(reasonOf(await tokens.verify(rotated.token))).toBe('ok');
  });

  it('updates fields and keeps names unique per tenant', async () => {
    const a = await tokens.create('acme', { name: 'a' });
    await tokens.create('acme', { name: 'b' });
    await tokens.create('beta', { name: 'a' });
    const updated = await tokens.update('acme', a.record.id, {
      name: 'a2',
      description: 'now with scope',
      permissions: ['delete', 'read'],
      databases: ['x', 'y'],
      expiresInSeconds: 3_600,
    });
    expect(updated).toMatchObject({
      name: 'a2',
      description: 'now with scope',
      permissions: ['read', 'delete'],
      databases: ['x', 'y'],
      expiresAt: clock + 3_600_000,
    });
    const clash = await tokens.update('acme', a.record.id, { name: 'b' }).catch((e: WeirError) => e);
    expect(clash).toMatchObject({ code: 'TOKEN_NAME_EXISTS', httpStatus: 409 });
    expect((await tokens.update('acme', a.record.id, { databases: null })).databases).toBeNull();
  });

  it('lists and gets only the tenant’s own tokens; another tenant’s id is not found', async () => {
    const a = await tokens.create('acme', { name: 'a' });
    const b = await tokens.create('beta', { name: 'b' });
    expect((await tokens.list('acme')).map((t) => t.id)).toEqual([a.record.id]);
    expect((await tokens.list('beta')).map((t) => t.id)).toEqual([b.record.id]);
    for (const call of [
      () => tokens.get('acme', b.record.id),
      () => tokens.update('acme', b.record.id, { name: 'x' }),
      () => tokens.rotate('acme', b.record.id),
      () => tokens.revoke('acme', b.record.id),
      () => tokens.delete('acme', b.record.id),
    ]) {
      expect(await call().catch((e: WeirError) => e)).toMatchObject({
        code: 'TOKEN_NOT_FOUND',
        httpStatus: 404,
      });
    }
    expect(reasonOf(await tokens.verify(b.token))).toBe('ok');
  });

  it('deletes a token: it is unknown at once and no longer listed', async () => {
    const { token, record } = await tokens.create('acme', { name: 'd' });
    await tokens.verify(token);
    await tokens.delete('acme', record.id);
    expect(reasonOf(await tokens.verify(token))).toBe('unknown');
    expect(await tokens.list('acme')).toEqual([]);
  });

  it('tenants: a new one comes with an admin token; dropping one makes its tokens unknown', async () => {
    const created = await tokens.tenants.create('gamma', 'Gamma Inc');
    expect(created.tenant).toMatchObject({ id: 'gamma', displayName: 'Gamma Inc' });
    expect(created.record).toMatchObject({ tenant: 'gamma', name: 'admin', permissions: ['admin'] });
    const verified = await tokens.verify(created.token);
    expect(verified.ok && verified.context).toMatchObject({ tenant: 'gamma', platformAdmin: false });
    expect((await tokens.tenants.list()).map((t) => t.id)).toEqual(['acme', 'beta', 'gamma']);
    const duplicate = await tokens.tenants.create('gamma', undefined).catch((e: WeirError) => e.code);
    expect(duplicate).toBe('TENANT_EXISTS');

    await tokens.tenants.drop('gamma');
    expect(reasonOf(await tokens.verify(created.token))).toBe('unknown');
    expect(await tokens.list('gamma')).toEqual([]);
  });

  it('refuses to reuse the id of a dropped tenant whose data is still stored', async () => {
    await tokens.tenants.create('delta', undefined);
    await store.put('tenants/delta/catalog/log/00000000000000000001.json', new TextEncoder().encode('{}'));
    await tokens.tenants.drop('delta');
    const reused = await tokens.tenants.create('delta', undefined).catch((e: WeirError) => e);
    expect(reused).toMatchObject({ code: 'TENANT_DATA_EXISTS', httpStatus: 409 });
  });

  it('of two admin tokens revoked at the same moment on two nodes, the second refusal holds', async () => {
    const first = await tokens.create('acme', { name: 'admin-a', permissions: ['admin'] });
    const second = await tokens.create('acme', { name: 'admin-b', permissions: ['admin'] });
    // Node A checks (two admins work), then node B revokes the other admin before A's write lands.
    const racing = new RacingStore(root);
    const nodeA = new TokenService(new SystemCatalog(racing), { cacheTtlMs: 5_000, now: () => clock });
    racing.beforeNextCommit = () => tokens.revoke('acme', second.record.id).then(() => undefined);

    const refused = await nodeA.revoke('acme', first.record.id).catch((e: WeirError) => e);
    expect(refused).toMatchObject({ code: 'LAST_ADMIN_TOKEN', httpStatus: 409 });
    expect(racing.beforeNextCommit).toBeUndefined();
    expect(reasonOf(await tokens.verify(first.token))).toBe('ok');
    expect(reasonOf(await tokens.verify(second.token))).toBe('revoked');
    await racing.close();
  });
});
