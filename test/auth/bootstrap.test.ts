import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ObjectStore, SystemCatalog } from '../../catalog/index.js';
import { DEFAULT_TENANT, TokenService } from '../../services/auth/index.js';
import { BACKENDS } from '../helpers/stores.js';

const CONFIGURED = 'configured-bootstrap-token-of-at-least-32-chars';

describe.each(BACKENDS)('bootstrap on $name storage', (backend) => {
  let store: ObjectStore;
  let cleanup: () => Promise<void>;
  /** Separate catalogs and services: as many processes starting on one store. */
  const nodes = (n: number) =>
    Array.from({ length: n }, () => new TokenService(new SystemCatalog(store), { cacheTtlMs: 5_000 }));

  beforeEach(async () => {
    ({ store, cleanup } = await backend.create());
  });
  afterEach(async () => cleanup());

  it('processes starting together create exactly one admin token; only the winner gets its secret', async () => {
    const results = await Promise.all(nodes(5).map((n) => n.bootstrap({ tenant: DEFAULT_TENANT })));
    const winners = results.filter((r) => r.created);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.secret !== undefined)).toHaveLength(1);
    expect(winners[0]!.secret).toMatch(/^weir_/);

    const state = await new SystemCatalog(store).refresh();
    expect([...state.tenants.keys()]).toEqual([DEFAULT_TENANT]);
    expect([...state.tokens.values()]).toEqual([
      expect.objectContaining({
        id: winners[0]!.tokenId,
        tenant: DEFAULT_TENANT,
        permissions: ['admin'],
        platformAdmin: true,
      }),
    ]);
    const verified = await nodes(1)[0]!.verify(winners[0]!.secret!);
    expect(verified.ok && verified.context).toMatchObject({ tenant: DEFAULT_TENANT, platformAdmin: true });
  });

  it('a later start creates nothing and prints nothing', async () => {
    const [first, second] = nodes(2);
    expect((await first!.bootstrap({ tenant: DEFAULT_TENANT })).created).toBe(true);
    expect(await second!.bootstrap({ tenant: DEFAULT_TENANT })).toEqual({ created: false });
    expect((await new SystemCatalog(store).refresh()).tokens.size).toBe(1);
  });

  it('a configured token is created once, also when other tokens exist, and never handed back', async () => {
    const [first] = nodes(1);
    await first!.bootstrap({ tenant: DEFAULT_TENANT });
    const results = await Promise.all(
      nodes(4).map((n) => n.bootstrap({ tenant: DEFAULT_TENANT, token: CONFIGURED })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results.every((r) => r.secret === undefined)).toBe(true);
    expect((await new SystemCatalog(store).refresh()).tokens.size).toBe(2);

    const verified = await nodes(1)[0]!.verify(CONFIGURED);
    expect(verified.ok && verified.context).toMatchObject({
      tenant: DEFAULT_TENANT,
      platformAdmin: true,
      permissions: new Set(['read', 'write', 'delete', 'admin']),
    });
    expect((await nodes(1)[0]!.bootstrap({ tenant: DEFAULT_TENANT, token: CONFIGURED })).created).toBe(false);
  });

  it('on a fresh store a configured token is the only one', async () => {
    const result = await nodes(1)[0]!.bootstrap({ tenant: DEFAULT_TENANT, token: CONFIGURED });
    expect(result).toMatchObject({ created: true });
    expect(result.secret).toBeUndefined();
    const state = await new SystemCatalog(store).refresh();
    expect(state.tokens.size).toBe(1);
    expect(state.tenants.has(DEFAULT_TENANT)).toBe(true);
  });
});
