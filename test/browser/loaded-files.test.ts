/**
 * The console's cache of file parts loaded into DuckDB-WASM (web/engine/loaded-files.ts): what it
 * finds again, and what it drops when over its budget. The connection is a stand-in that, like
 * DuckDB-WASM's, takes the IPC buffer away (transfers it to its worker) when inserting; the
 * browser tests run the cache on the real DuckDB-WASM.
 */
import type { AsyncDuckDBConnection } from '@duckdb/duckdb-wasm';
import { describe, expect, it } from 'vitest';
import { LoadedFiles, type PartData } from '../../web/engine/loaded-files.js';

function connection() {
  const statements: string[] = [];
  const inserted: string[] = [];
  const stub = {
    async insertArrowFromIPCStream(ipc: Uint8Array, options: { name: string }) {
      structuredClone(ipc.buffer, { transfer: [ipc.buffer as ArrayBuffer] }); // detaches, as postMessage does
      inserted.push(options.name);
    },
    async query(sql: string) {
      statements.push(sql);
    },
  };
  return { connection: stub as unknown as AsyncDuckDBConnection, statements, inserted };
}

const part = (bytes: number, present = ['time', 'v']): (() => Promise<PartData>) => {
  return async () => ({ ipc: new Uint8Array(bytes), present });
};

describe('loaded file parts', () => {
  it('finds a part again by path, row groups and a superset of its columns; anything else is read', async () => {
    const { connection: c, inserted } = connection();
    const cache = new LoadedFiles(1_000);
    const first = await cache.acquire(c, '/files/a.parquet', [0, 1], ['time', 'v', 'w'], part(10));
    expect(first.cached).toBe(false);
    expect((await cache.acquire(c, '/files/a.parquet', [0, 1], ['time', 'v'], part(10))).cached).toBe(true);
    expect((await cache.acquire(c, '/files/a.parquet', [0], ['time', 'v'], part(10))).cached).toBe(false);
    expect((await cache.acquire(c, '/files/a.parquet', [0, 1], ['time', 'x'], part(10))).cached).toBe(false);
    expect((await cache.acquire(c, '/files/b.parquet', [0, 1], ['time', 'v'], part(10))).cached).toBe(false);
    expect(inserted).toHaveLength(4);
    expect(cache.holds('/files/a.parquet', ['v'])).toBe(true);
    expect(cache.holds('/files/c.parquet', ['v'])).toBe(false);
  });

  it('a part with no rows needed is not loaded', async () => {
    const { connection: c, inserted } = connection();
    const cache = new LoadedFiles(1_000);
    expect(await cache.acquire(c, '/files/a.parquet', [], ['time'], async () => undefined)).toEqual({
      part: undefined,
      cached: false,
    });
    expect(inserted).toEqual([]);
  });

  it('drops the least recently used parts no query holds once over budget, counting bytes before the insert takes them', async () => {
    const { connection: c, statements } = connection();
    const cache = new LoadedFiles(100);
    const a = await cache.acquire(c, '/a', undefined, ['time'], part(60));
    await cache.release(c, [a.part!]);
    const b = await cache.acquire(c, '/b', undefined, ['time'], part(60));
    // Over budget, but b is held by its query: only a goes.
    await cache.release(c, []);
    expect(statements).toEqual([`DROP TABLE IF EXISTS "${a.part!.table}"`]);
    expect(cache.holds('/a', ['time'])).toBe(false);
    expect(cache.holds('/b', ['time'])).toBe(true);
    // Used again, then released: within budget now, so kept.
    await cache.release(c, [b.part!]);
    expect(statements).toHaveLength(1);
    const d = await cache.acquire(c, '/d', undefined, ['time'], part(60));
    await cache.release(c, [d.part!]);
    expect(statements.at(-1)).toBe(`DROP TABLE IF EXISTS "${b.part!.table}"`);
    expect(cache.holds('/d', ['time'])).toBe(true);
  });
});
