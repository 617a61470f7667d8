/**
 * Queries over the S3 backend (a real moto_server over HTTP, DESIGN.md §10): the engine reads data
 * files through the bounded local file cache (services/query/files.ts). The answers equal those
 * over the local store; a file is downloaded once and then read from the cache directory; with a
 * tiny cache the files are dropped again after the query, while queries still answer correctly.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveFiles, type ObjectStore, S3ObjectStore, TenantCatalogs, tableKey } from '../../catalog/index.js';
import type { S3StoreConfig } from '../../catalog/store/index.js';
import { type QueryFiles, QueryService, queryFilesFor } from '../../services/query/index.js';
import { readJsonRows } from '../../services/query/results/index.js';
import { BASE_US, HOUR_US } from '../helpers/data-files.js';
import { createTestBucket, removeTestBucket, s3EndpointForTests } from '../helpers/s3.js';
import { createQueryFixture, DAYS, HOURS_PER_DAY, type QueryFixture, ROWS_PER_FILE } from './fixture.js';

const LIMITS = { maxRows: 1_000_000, maxBytes: 256 * 1024 * 1024 };

let fixture: QueryFixture;
let bucket: S3StoreConfig;
let s3: S3ObjectStore;
let catalogs: TenantCatalogs;
let local: QueryService;
const opened: QueryService[] = [];

/** The S3 store as the file cache sees it, counting each data file it downloads. */
function countingStore(store: S3ObjectStore): { store: ObjectStore; gets: string[] } {
  const gets: string[] = [];
  const counting = new Proxy(store, {
    get(target, property) {
      if (property === 'get')
        return (key: string, range?: Parameters<ObjectStore['get']>[1]) => {
          gets.push(key);
          return target.get(key, range);
        };
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: counting, gets };
}

async function openService(files: QueryFiles, over = catalogs): Promise<QueryService> {
  const service = await QueryService.open({
    catalogs: over,
    files,
    engine: { threads: 1, maxInstances: 2 },
    timeoutMs: 60_000,
  });
  opened.push(service);
  return service;
}

async function answer(service: QueryService, sql: string, tenant = 'acme') {
  const { plan, value } = await service.run({ tenant, database: 'metrics', sql }, (result) =>
    readJsonRows(result, LIMITS),
  );
  return { plan, ...value };
}

/** Every file under `dir` with its size (none when the directory does not exist). */
async function filesUnder(dir: string): Promise<{ path: string; bytes: number }[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  return Promise.all(files.map(async (path) => ({ path, bytes: (await stat(path)).size })));
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const day = (d: number) => new Date((BASE_US + d * 24 * HOUR_US) / 1000).toISOString();
const byHost = (from: number, to: number) =>
  `SELECT host, count(*) AS n, sum(procs) AS p, min(time) AS first, max(time) AS last FROM cpu
   WHERE time >= '${day(from)}' AND time < '${day(to)}' GROUP BY host ORDER BY host`;
const everything = 'SELECT host, region, count(*) AS n, sum(usage) AS u FROM cpu GROUP BY ALL ORDER BY ALL';

beforeAll(async () => {
  fixture = await createQueryFixture();
  bucket = await createTestBucket(s3EndpointForTests());
  s3 = new S3ObjectStore(bucket);
  // The same catalogs and data files, on S3.
  const keys: string[] = [];
  for await (const object of fixture.store.listAll('tenants/')) keys.push(object.key);
  for (let i = 0; i < keys.length; i += 16)
    await Promise.all(keys.slice(i, i + 16).map(async (key) => s3.put(key, await fixture.store.get(key))));
  catalogs = new TenantCatalogs(s3);
  local = await openService(
    queryFilesFor(fixture.store, join(fixture.dir, 'unused'), 1 << 30),
    fixture.catalogs,
  );
}, 180_000);

afterAll(async () => {
  for (const service of opened) service.close();
  await s3?.close();
  if (bucket) await removeTestBucket(bucket);
  await fixture?.close();
});

describe('queries over S3 through the local file cache', () => {
  it('answer as over the local store; each file is downloaded once into the cache directory', async () => {
    const cacheDir = join(fixture.dir, 'cache-read-through');
    const { store, gets } = countingStore(s3);
    const service = await openService(queryFilesFor(store, cacheDir, 1 << 30));

    const expected = await answer(local, byHost(3, 5));
    const first = await answer(service, byHost(3, 5));
    expect(first.data).toEqual(expected.data);
    expect(first.columns).toEqual(expected.columns);
    expect(first.data.reduce((sum, row) => sum + Number(row[1]), 0)).toBe(
      2 * HOURS_PER_DAY.length * ROWS_PER_FILE,
    );
    const planned = first.plan.tables.flatMap((t) => t.files);
    expect(planned).toHaveLength(2 * HOURS_PER_DAY.length);
    expect([...gets].sort()).toEqual(planned.map((f) => f.path).sort());

    // The copies are in the tenant's part of the cache (its engine may open nothing else), whole.
    const cached = await filesUnder(cacheDir);
    expect(cached.map((f) => f.path).sort()).toEqual(
      planned.map((f) => join(cacheDir, ...f.path.split('/'))).sort(),
    );
    for (const file of planned)
      expect(cached.find((c) => c.path === join(cacheDir, ...file.path.split('/')))?.bytes).toBe(file.bytes);
    expect(cached.every((f) => f.path.startsWith(join(cacheDir, 'tenants', 'acme', 'data')))).toBe(true);

    // Again: nothing is downloaded.
    const second = await answer(service, byHost(3, 5));
    expect(second.data).toEqual(expected.data);
    expect(gets).toHaveLength(planned.length);

    // An overlapping range downloads only the files it did not have.
    const wider = await answer(service, byHost(4, 7));
    expect(wider.data).toEqual((await answer(local, byHost(4, 7))).data);
    expect(gets).toHaveLength(planned.length + 2 * HOURS_PER_DAY.length);
    expect(new Set(gets).size).toBe(gets.length);

    // Another tenant's files under the same names are its own downloads, in its own directory.
    const theirs = await answer(service, byHost(3, 5), 'other');
    expect(theirs.data).toEqual((await answer(local, byHost(3, 5), 'other')).data);
    expect(theirs.data).not.toEqual(first.data);
    expect(gets.filter((key) => key.startsWith('tenants/other/'))).toHaveLength(planned.length);
    expect((await filesUnder(join(cacheDir, 'tenants', 'other'))).length).toBe(planned.length);
  });

  it('with a tiny maxCacheBytes, files are dropped after the query and queries still answer correctly', async () => {
    const cacheDir = join(fixture.dir, 'cache-tiny');
    const { store, gets } = countingStore(s3);
    const state = await catalogs.forTenant('acme').refresh();
    const files = [...liveFiles(state.tables.get(tableKey('metrics', 'cpu'))!)];
    expect(files).toHaveLength(DAYS * HOURS_PER_DAY.length);
    const largest = Math.max(...files.map((f) => f.bytes));
    // Room for about three files of 120.
    const bound = 3 * largest;
    const service = await openService(queryFilesFor(store, cacheDir, bound));
    const expected = await answer(local, everything);

    const first = await answer(service, everything);
    expect(first.data).toEqual(expected.data);
    expect(gets).toHaveLength(files.length);
    // While the query ran every file was held; once it is done the cache drops down to its bound.
    await eventually(
      async () => (await filesUnder(cacheDir)).reduce((sum, f) => sum + f.bytes, 0) <= bound,
      `the file cache holds at most ${bound} bytes`,
    );
    const left = await filesUnder(cacheDir);
    expect(left.length).toBeLessThanOrEqual(3);
    expect(left.every((f) => f.path.endsWith('.parquet'))).toBe(true);

    // The evicted files are downloaded again when needed, and two queries at once both answer.
    const [again, narrow] = await Promise.all([answer(service, everything), answer(service, byHost(0, 10))]);
    expect(again.data).toEqual(expected.data);
    expect(narrow.data).toEqual((await answer(local, byHost(0, 10))).data);
    expect(gets.length).toBeGreaterThanOrEqual(2 * files.length - 3);
    await eventually(
      async () => (await filesUnder(cacheDir)).reduce((sum, f) => sum + f.bytes, 0) <= bound,
      `the file cache is back under ${bound} bytes`,
    );
  });
});
