import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ObjectStore, SystemCatalog, WeirError } from '../../catalog/index.js';
import { BACKENDS } from '../helpers/stores.js';

const hash = (n: number) => n.toString(16).padStart(64, '0');
const id = (n: number) => `tok_${n.toString(16).padStart(32, '0')}`;
const token = (n: number, fields: Record<string, unknown> = {}) => ({
  op: 'createToken',
  tenant: 'acme',
  id: id(n),
  name: `t${n}`,
  description: '',
  hash: hash(n),
  permissions: ['read'],
  databases: null,
  platformAdmin: false,
  expiresAt: null,
  ...fields,
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WeirError);
  return (error as WeirError).code;
}

describe.each(BACKENDS)('_system tokens on $name storage', (backend) => {
  let store: ObjectStore;
  let cleanup: () => Promise<void>;
  let system: SystemCatalog;
  beforeEach(async () => {
    ({ store, cleanup } = await backend.create());
    system = new SystemCatalog(store);
    await system.commit([
      { op: 'createTenant', tenant: 'acme' },
      { op: 'createTenant', tenant: 'beta' },
    ]);
  });
  afterEach(async () => cleanup());

  it('creates, updates, rotates, revokes and deletes a token, keeping the hash index in step', async () => {
    const { state: created } = await system.commit([token(1, { databases: ['metrics'], expiresAt: 9e12 })]);
    expect(created.tokens.get(id(1))).toMatchObject({
      tenant: 'acme',
      name: 't1',
      permissions: ['read'],
      databases: ['metrics'],
      enabled: true,
      createdAt: created.timestamp,
      expiresAt: 9e12,
      rotatedAt: null,
      revokedAt: null,
    });
    expect(created.tokenIdsByHash.get(hash(1))).toBe(id(1));

    const { state: updated } = await system.commit([
      {
        op: 'updateToken',
        tenant: 'acme',
        id: id(1),
        name: 'renamed',
        permissions: ['read', 'write'],
        databases: null,
        expiresAt: null,
        enabled: false,
      },
    ]);
    expect(updated.tokens.get(id(1))).toMatchObject({
      name: 'renamed',
      description: '',
      permissions: ['read', 'write'],
      databases: null,
      expiresAt: null,
      enabled: false,
    });

    const { state: rotated } = await system.commit([
      { op: 'rotateToken', tenant: 'acme', id: id(1), hash: hash(2) },
    ]);
    expect(rotated.tokens.get(id(1))).toMatchObject({ hash: hash(2), rotatedAt: rotated.timestamp });
    expect(rotated.tokenIdsByHash.has(hash(1))).toBe(false);
    expect(rotated.tokenIdsByHash.get(hash(2))).toBe(id(1));

    const { state: revoked } = await system.commit([{ op: 'revokeToken', tenant: 'acme', id: id(1) }]);
    expect(revoked.tokens.get(id(1))!.revokedAt).toBe(revoked.timestamp);
    // Revoking again keeps the first time; a revoked token gets no new secret.
    const { state: again } = await system.commit([{ op: 'revokeToken', tenant: 'acme', id: id(1) }]);
    expect(again.tokens.get(id(1))!.revokedAt).toBe(revoked.timestamp);
    expect(
      await codeOf(system.commit([{ op: 'rotateToken', tenant: 'acme', id: id(1), hash: hash(3) }])),
    ).toBe('TOKEN_REVOKED');

    const { state: deleted } = await system.commit([{ op: 'deleteToken', tenant: 'acme', id: id(1) }]);
    expect(deleted.tokens.size).toBe(0);
    expect(deleted.tokenIdsByHash.size).toBe(0);
    // Untouched: the state each commit started from.
    expect(created.tokens.get(id(1))!.name).toBe('t1');
  });

  it('refuses duplicates, unknown tenants, other tenants’ tokens and bad fields, writing nothing', async () => {
    await system.commit([token(1)]);
    const version = (await system.refresh()).version;
    for (const [actions, code] of [
      [[token(1, { name: 'other', hash: hash(9) })], 'TOKEN_EXISTS'],
      [[token(2, { name: 't1' })], 'TOKEN_NAME_EXISTS'],
      [[token(2, { hash: hash(1) })], 'TOKEN_HASH_EXISTS'],
      [[token(2, { tenant: 'ghost' })], 'TENANT_NOT_FOUND'],
      [[{ op: 'revokeToken', tenant: 'beta', id: id(1) }], 'TOKEN_NOT_FOUND'],
      [[{ op: 'updateToken', tenant: 'beta', id: id(1), name: 'x' }], 'TOKEN_NOT_FOUND'],
      [[{ op: 'deleteToken', tenant: 'acme', id: id(7) }], 'TOKEN_NOT_FOUND'],
      [[token(2, { permissions: ['read', 'sudo'] })], 'INVALID_ACTION'],
      [[token(2, { permissions: ['read', 'read'] })], 'INVALID_ACTION'],
      [[token(2, { databases: [] })], 'INVALID_ACTION'],
      [[token(2, { databases: ['../x'] })], 'INVALID_ACTION'],
      [[token(2, { id: 'tok_../x' })], 'INVALID_ACTION'],
      [[token(2, { secret: 'weir_x' })], 'INVALID_ACTION'],
      // Text a checkpoint (UTF-8) could not give back as written.
      [[token(2, { name: 'a\udc00b' })], 'INVALID_ACTION'],
      [[token(2, { description: 'd\ud800' })], 'INVALID_ACTION'],
      [[{ op: 'createTenant', tenant: 'gamma', displayName: '\ud83d' }], 'INVALID_ACTION'],
    ] as const) {
      expect(await codeOf(system.commit(actions as unknown as unknown[]))).toBe(code);
    }
    expect((await system.refresh()).version).toBe(version);
  });

  it('names are unique per tenant, not across tenants', async () => {
    const { state } = await system.commit([token(1), token(2, { tenant: 'beta', name: 't1' })]);
    expect([...state.tokens.values()].map((t) => `${t.tenant}/${t.name}`).sort()).toEqual([
      'acme/t1',
      'beta/t1',
    ]);
    await system.commit([{ op: 'updateToken', tenant: 'acme', id: id(1), name: 't1' }]);
    await system.commit([token(3, { name: 't3' })]);
    expect(await codeOf(system.commit([{ op: 'updateToken', tenant: 'acme', id: id(3), name: 't1' }]))).toBe(
      'TOKEN_NAME_EXISTS',
    );
  });

  it('dropping a tenant drops its tokens in the same commit; a re-created tenant has none', async () => {
    await system.commit([token(1), token(2, { tenant: 'beta' })]);
    const { state } = await system.commit([{ op: 'dropTenant', tenant: 'acme' }]);
    expect([...state.tokens.keys()]).toEqual([id(2)]);
    expect(state.tokenIdsByHash.has(hash(1))).toBe(false);
    const { state: recreated } = await system.commit([{ op: 'createTenant', tenant: 'acme' }]);
    expect([...recreated.tokens.values()].filter((t) => t.tenant === 'acme')).toEqual([]);
  });

  it('reloads the same tokens from a checkpoint plus the log, and at an older version', async () => {
    await system.commit([
      token(1, { databases: ['a', 'b'], expiresAt: 1_700_000_000_123, platformAdmin: true }),
      token(2, {
        tenant: 'beta',
        description: 'ünïcode ✓',
        permissions: ['read', 'write', 'delete', 'admin'],
      }),
      token(3),
    ]);
    await system.commit([
      { op: 'rotateToken', tenant: 'acme', id: id(3), hash: hash(4) },
      { op: 'revokeToken', tenant: 'beta', id: id(2) },
      { op: 'updateToken', tenant: 'acme', id: id(1), enabled: false },
    ]);
    const atCheckpoint = await system.refresh();
    await system.log.writeCheckpoint(atCheckpoint);
    await system.commit([{ op: 'deleteToken', tenant: 'acme', id: id(3) }]);

    const reloaded = await new SystemCatalog(store).refresh();
    const expected = new Map(atCheckpoint.tokens);
    expected.delete(id(3));
    expect(reloaded.tokens).toEqual(expected);
    expect(reloaded.tokenIdsByHash).toEqual(new Map([...expected.values()].map((t) => [t.hash, t.id])));

    const old = await new SystemCatalog(store).log.loadAt(atCheckpoint.version);
    expect(old.tokens).toEqual(atCheckpoint.tokens);
    expect(old.tokens.get(id(1))!.databases).toEqual(['a', 'b']);
    expect(old.tokens.get(id(3))!.databases).toBeNull();
    expect(old.tenants).toEqual(atCheckpoint.tenants);
  });
});
