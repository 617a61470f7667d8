import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ObjectStore, type ObjectStoreConfig, paths, TenantCatalog } from '../../catalog/index.js';
import { runTsProcess } from '../helpers/processes.js';
import { BACKENDS } from '../helpers/stores.js';
import { createTable } from './fixtures/actions.js';

const WRITERS = 8;
const COMMITS = 200;
const writerScript = fileURLToPath(new URL('./fixtures/commit-writer.ts', import.meta.url));

describe.each(BACKENDS)('$name storage: 8 writer processes × 200 commits on one tenant', (backend) => {
  let store: ObjectStore;
  let config: ObjectStoreConfig;
  let cleanup: () => Promise<void>;
  let results: { writer: number; versions: number[] }[];

  beforeAll(async () => {
    ({ store, config, cleanup } = await backend.create());
    const setup = new TenantCatalog(store, 'shared');
    const tables = Array.from({ length: WRITERS }, (_, w) => createTable('db', `t${w}`)).flat();
    await setup.commit([{ op: 'createDatabase', database: 'db' }, ...tables]);
    const runs = await Promise.all(
      Array.from({ length: WRITERS }, (_, w) =>
        runTsProcess(writerScript, {
          WEIR_TEST_STORE: JSON.stringify(config),
          WRITER: String(w),
          COMMITS: String(COMMITS),
        }),
      ),
    );
    for (const run of runs) expect(run.code, `writer failed: ${run.stderr}`).toBe(0);
    results = runs.map((r) => JSON.parse(r.stdout));
  }, 600_000);
  afterAll(async () => cleanup());

  it('no writer surfaced an error, and each got 200 distinct versions', () => {
    for (const r of results) expect(new Set(r.versions).size).toBe(COMMITS);
  });

  it('versions are contiguous and every commit is present exactly once', async () => {
    const versions: number[] = [];
    const scope = paths.tenantScope('shared');
    for await (const o of store.listAll(paths.catalogKeys.logPrefix(scope))) {
      versions.push(paths.catalogKeys.parseLogVersion(scope, o.key)!);
    }
    const total = 1 + WRITERS * COMMITS;
    expect(versions).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const reported = results.flatMap((r) => r.versions).sort((a, b) => a - b);
    expect(reported).toEqual(Array.from({ length: WRITERS * COMMITS }, (_, i) => i + 2));

    const head = await new TenantCatalog(store, 'shared').refresh();
    expect(head.version).toBe(total);
    const keys = [...head.history].map((c) => c.idempotencyKey).filter((k) => k !== undefined);
    expect(keys).toHaveLength(WRITERS * COMMITS);
    expect(new Set(keys).size).toBe(WRITERS * COMMITS);
    for (let w = 0; w < WRITERS; w++) expect(head.tables.get(`db.t${w}`)!.fileCount).toBe(COMMITS);
  });
});
