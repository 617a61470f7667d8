/**
 * The validation cache: a node reads the `_system` catalog at most once per TTL however many
 * requests it verifies; a change made on this node counts at once, one made on another node
 * within the TTL. Two TokenServices over one store are two nodes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore, type ObjectStore, SystemCatalog } from '../../catalog/index.js';
import { TokenService, type VerifyResult } from '../../services/auth/index.js';

const TTL = 1_000;

/** The store, counting the reads that go through it. */
function counting(store: ObjectStore): { store: ObjectStore; reads: () => number } {
  let reads = 0;
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (['get', 'getIfExists', 'head', 'list', 'listAll'].includes(String(property))) reads++;
        return value.apply(target, args);
      };
    },
  });
  return { store: wrapped, reads: () => reads };
}

describe('token validation cache', () => {
  let root: string;
  let store: LocalObjectStore;
  let clock: number;
  const node = (on: ObjectStore = store) =>
    new TokenService(new SystemCatalog(on), { cacheTtlMs: TTL, now: () => clock });
  const reasonOf = (result: VerifyResult) => (result.ok ? 'ok' : result.reason);

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'weir-auth-cache-'));
    store = new LocalObjectStore(root);
    clock = 1_000_000;
    await new SystemCatalog(store).ensureTenant('acme');
  });
  afterEach(async () => {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('reads the catalog at most once per TTL, whatever the number of requests or unknown tokens', async () => {
    const a = node();
    const { token } = await a.create('acme', { name: 't' });
    const observed = counting(store);
    const b = node(observed.store);
    expect(reasonOf(await b.verify(token))).toBe('ok');
    const afterLoad = observed.reads();

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => b.verify(i % 2 ? token : `weir_unknown_${i}`)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(100);
    expect(observed.reads()).toBe(afterLoad);

    clock += TTL;
    await Promise.all(Array.from({ length: 50 }, () => b.verify(token)));
    // One refresh shared by every concurrent request: one probe for the next commit (a read of
    // it, and a HEAD of the one after, which tells a head from a lost log object).
    expect(observed.reads()).toBe(afterLoad + 2);
  });

  it('a revoke is seen at once on the node that made it and within the TTL on another', async () => {
    const a = node();
    const b = node();
    const { token, record } = await a.create('acme', { name: 't' });
    expect(reasonOf(await a.verify(token))).toBe('ok');
    expect(reasonOf(await b.verify(token))).toBe('ok');

    await a.revoke('acme', record.id);
    expect(reasonOf(await a.verify(token))).toBe('revoked');
    expect(reasonOf(await b.verify(token))).toBe('ok');
    clock += TTL - 1;
    expect(reasonOf(await b.verify(token))).toBe('ok');
    clock += 1;
    expect(reasonOf(await b.verify(token))).toBe('revoked');
  });

  it('rotate, update and delete made elsewhere also take effect within the TTL', async () => {
    const a = node();
    const b = node();
    const one = await a.create('acme', { name: 'one' });
    const two = await a.create('acme', { name: 'two' });
    const three = await a.create('acme', { name: 'three' });
    for (const t of [one, two, three]) expect(reasonOf(await b.verify(t.token))).toBe('ok');

    const rotated = await a.rotate('acme', one.record.id);
    await a.update('acme', two.record.id, { enabled: false });
    await a.delete('acme', three.record.id);
    expect(reasonOf(await b.verify(rotated.token))).toBe('unknown');
    expect(reasonOf(await b.verify(one.token))).toBe('ok');

    clock += TTL;
    expect(reasonOf(await b.verify(one.token))).toBe('unknown');
    expect(reasonOf(await b.verify(rotated.token))).toBe('ok');
    expect(reasonOf(await b.verify(two.token))).toBe('disabled');
    expect(reasonOf(await b.verify(three.token))).toBe('unknown');
  });

  it('a TTL of 0 reads the catalog on every verification', async () => {
    const a = node();
    const b = new TokenService(new SystemCatalog(store), { cacheTtlMs: 0, now: () => clock });
    const { token, record } = await a.create('acme', { name: 't' });
    expect(reasonOf(await b.verify(token))).toBe('ok');
    await a.revoke('acme', record.id);
    expect(reasonOf(await b.verify(token))).toBe('revoked');
  });
});
