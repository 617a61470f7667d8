/**
 * The console's cache of file parts loaded into DuckDB-WASM (web/engine/loaded-files.ts): what it
 * finds again, how it loads parts (one insert per Arrow schema, each part a row range), and what it
 * drops when over its budget. The connection is a stand-in that, like DuckDB-WASM's, takes the IPC
 * buffer away (transfers it to its worker) when inserting and keeps what it was given to check;
 * the browser tests run the cache on the real DuckDB-WASM.
 */
import type { AsyncDuckDBConnection } from '@duckdb/duckdb-wasm';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { LoadedFiles, type PartRead } from '../../web/engine/loaded-files.js';

function connection() {
  const statements: string[] = [];
  const inserted: { name: string; rows: number; columns: string[] }[] = [];
  const stub = {
    async insertArrowFromIPCStream(ipc: Uint8Array, options: { name: string }) {
      const table = tableFromIPC(ipc.slice());
      inserted.push({
        name: options.name,
        rows: table.numRows,
        columns: table.schema.fields.map((f) => f.name),
      });
      structuredClone(ipc.buffer, { transfer: [ipc.buffer as ArrayBuffer] }); // detaches, as postMessage does
    },
    async query(sql: string) {
      statements.push(sql);
    },
  };
  return { connection: stub as unknown as AsyncDuckDBConnection, statements, inserted };
}

/** A part of `rows` rows with columns `time` and `v` (and `w` when asked). */
function read(
  path: string,
  rows: number,
  options: { rowGroups?: number[]; columns?: string[]; w?: boolean } = {},
) {
  const time = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i));
  const v = Float64Array.from({ length: rows }, (_, i) => i / 2);
  const arrays: Record<string, BigInt64Array | Float64Array> = options.w
    ? { time, v, w: Float64Array.from(v) }
    : { time, v };
  return {
    path,
    rowGroups: options.rowGroups,
    columns: options.columns ?? ['time', 'v'],
    ipc: tableToIPC(tableFromArrays(arrays), 'stream'),
  } satisfies PartRead;
}

describe('loaded file parts', () => {
  it('loads the parts of one schema with one insert, each a range of its rows; other schemas apart', async () => {
    const { connection: c, inserted } = connection();
    const cache = new LoadedFiles(1e9);
    const parts = await cache.load(c, [
      read('/a', 3),
      read('/b', 5),
      read('/c', 2, { w: true }),
      read('/d', 4),
    ]);
    expect(inserted.map((i) => [i.rows, i.columns])).toEqual([
      [12, ['time', 'v']],
      [2, ['time', 'v', 'w']],
    ]);
    expect(parts.map((p) => [p.table, p.start, p.end])).toEqual([
      [inserted[0]!.name, 0, 3],
      [inserted[0]!.name, 3, 8],
      [inserted[1]!.name, 0, 2],
      [inserted[0]!.name, 8, 12],
    ]);
    expect(parts[2]!.present).toEqual(['time', 'v', 'w']);
    // All of a table: read whole; some of it: by row ranges, adjacent ones joined.
    const [abd, c2] = [inserted[0]!.name, inserted[1]!.name];
    expect(cache.sources(parts)).toEqual([`SELECT * FROM "${abd}"`, `SELECT * FROM "${c2}"`]);
    expect(cache.sources([parts[3]!, parts[0]!])).toEqual([
      `SELECT * FROM "${abd}" WHERE rowid BETWEEN 0 AND 2 OR rowid BETWEEN 8 AND 11`,
    ]);
    expect(cache.sources([parts[1]!, parts[0]!])).toEqual([
      `SELECT * FROM "${abd}" WHERE rowid BETWEEN 0 AND 7`,
    ]);
  });

  it('finds a part again by path, row groups and a superset of its columns', async () => {
    const { connection: c } = connection();
    const cache = new LoadedFiles(1e9);
    const [a] = await cache.load(c, [read('/a', 3, { rowGroups: [0, 1], columns: ['time', 'v', 'w'] })]);
    expect(cache.find('/a', [0, 1], ['time', 'v'])).toBe(a);
    expect(cache.find('/a', [0], ['time', 'v'])).toBeUndefined();
    expect(cache.find('/a', [0, 1], ['time', 'x'])).toBeUndefined();
    expect(cache.find('/b', [0, 1], ['time'])).toBeUndefined();
    expect(cache.holds('/a', ['v'])).toBe(true);
    expect(cache.holds('/b', ['v'])).toBe(false);
  });

  it('drops the least recently used parts no query holds once over budget, and a table with its last part', async () => {
    const { connection: c, statements } = connection();
    const partBytes = read('/x', 10).ipc.byteLength;
    const cache = new LoadedFiles(2.5 * partBytes);
    const [a, b] = await cache.load(c, [read('/a', 10), read('/b', 10)]);
    await cache.release(c, [a!, b!]);
    expect(statements).toEqual([]);
    const [d] = await cache.load(c, [read('/d', 10)]);
    // Over budget with d held: a (least recently used) goes, but its table keeps b.
    await cache.release(c, []);
    expect(cache.holds('/a', ['v'])).toBe(false);
    expect(cache.holds('/b', ['v'])).toBe(true);
    expect(statements).toEqual([]);
    // b used again, then d released and another part loaded: b is now the older one, and its table goes with it.
    expect(cache.find('/b', undefined, ['v'])).toBe(b);
    await cache.release(c, [b!, d!]);
    const [e] = await cache.load(c, [read('/e', 10)]);
    await cache.release(c, [e!]);
    expect(cache.holds('/d', ['v'])).toBe(false);
    expect(cache.holds('/b', ['v'])).toBe(true);
    const [f] = await cache.load(c, [read('/f', 10)]);
    await cache.release(c, [f!]);
    expect(cache.holds('/b', ['v'])).toBe(false);
    expect(statements).toEqual([`DROP TABLE IF EXISTS "${d!.table}"`, `DROP TABLE IF EXISTS "${a!.table}"`]);
  });

  it('a load that fails leaves what it inserted before the failure unheld, so the budget can drop it', async () => {
    const { connection: c, statements } = connection();
    let inserts = 0;
    const failing = {
      insertArrowFromIPCStream: async (ipc: Uint8Array, options: { name: string }) => {
        if (++inserts === 2) throw new Error('out of memory');
        return c.insertArrowFromIPCStream(ipc, options);
      },
      query: (sql: string) => c.query(sql),
    } as unknown as AsyncDuckDBConnection;
    const cache = new LoadedFiles(1);
    await expect(cache.load(failing, [read('/a', 3), read('/b', 2, { w: true })])).rejects.toThrow(
      'out of memory',
    );
    expect(cache.holds('/a', ['v'])).toBe(true);
    await cache.release(c, []);
    expect(cache.holds('/a', ['v'])).toBe(false);
    expect(statements).toHaveLength(1);
  });
});
