import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ObjectStore, SystemCatalog, WeirError } from '../../catalog/index.js';
import { BACKENDS } from '../helpers/stores.js';

describe.each(BACKENDS)('_system catalog on $name storage', (backend) => {
  let store: ObjectStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await backend.create());
  });
  afterEach(async () => cleanup());

  it('keeps tenants under _system/, apart from every tenant prefix', async () => {
    const system = new SystemCatalog(store);
    await system.commit([{ op: 'createTenant', tenant: 'acme', displayName: 'Acme Corp' }]);
    const keys: string[] = [];
    for await (const o of store.listAll('')) keys.push(o.key);
    expect(keys).toEqual(['_system/catalog/log/00000000000000000001.json']);
    expect((await new SystemCatalog(store).refresh()).tenants.get('acme')).toMatchObject({
      id: 'acme',
      displayName: 'Acme Corp',
      createdVersion: 1,
    });
  });

  it('ensureTenant is idempotent, also when several processes race to create the same tenant', async () => {
    const instances = Array.from({ length: 5 }, () => new SystemCatalog(store));
    const records = await Promise.all(instances.map((s) => s.ensureTenant('default')));
    expect(new Set(records.map((r) => r.createdVersion))).toEqual(new Set([1]));
    const head = await new SystemCatalog(store).refresh();
    expect(head.version).toBe(1);
    expect([...head.tenants.keys()]).toEqual(['default']);
  });

  it('refuses a duplicate tenant, an unknown one and a bad name, writing nothing', async () => {
    const system = new SystemCatalog(store);
    await system.ensureTenant('acme');
    for (const [actions, code] of [
      [[{ op: 'createTenant', tenant: 'acme' }], 'TENANT_EXISTS'],
      // One directory on a case-insensitive filesystem: never two tenants.
      [[{ op: 'createTenant', tenant: 'Acme' }], 'NAME_CASE_CONFLICT'],
      [[{ op: 'dropTenant', tenant: 'ghost' }], 'TENANT_NOT_FOUND'],
      [[{ op: 'createTenant', tenant: '../acme' }], 'INVALID_ACTION'],
    ] as const) {
      const error = await system.commit(actions as unknown as unknown[]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeirError);
      expect((error as WeirError).code).toBe(code);
    }
    expect((await system.refresh()).version).toBe(1);
  });

  it('reloads the same tenants from a checkpoint plus the log', async () => {
    const system = new SystemCatalog(store);
    await system.ensureTenant('a');
    await system.ensureTenant('b');
    await system.log.writeCheckpoint(await system.refresh());
    await system.commit([
      { op: 'dropTenant', tenant: 'a' },
      { op: 'createTenant', tenant: 'c' },
    ]);
    const reloaded = await new SystemCatalog(store).refresh();
    expect(reloaded.version).toBe(3);
    expect([...reloaded.tenants.keys()].sort()).toEqual(['b', 'c']);
    expect((await new SystemCatalog(store).log.loadAt(2)).tenants.size).toBe(2);
  });
});
