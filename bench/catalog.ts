/**
 * Catalog benchmark (issue: foundation). Prints figures; never passes or fails on time.
 *   npm run bench:catalog            # local store and S3 (moto) on this machine
 * Targets on 2 cores, local store: commit p50 ≤ 5 ms; 100K-file state load ≤ 300 ms;
 * ≥ 200 commits/s with 8 non-conflicting writers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LocalObjectStore,
  type ObjectStore,
  type ObjectStoreConfig,
  S3ObjectStore,
  TenantCatalog,
} from '../catalog/index.js';
import { addFile, createTable } from '../test/catalog/fixtures/actions.js';
import { runTsProcess } from '../test/helpers/processes.js';
import { createTestBucket, startS3Server } from '../test/helpers/s3.js';
import { fmt, median, percentile, report, timeEach, timeOnce } from './stats.js';

const writerScript = fileURLToPath(new URL('../test/catalog/fixtures/commit-writer.ts', import.meta.url));

async function seed(store: ObjectStore, tenant: string, tables: number) {
  const catalog = new TenantCatalog(store, tenant);
  const ddl = Array.from({ length: tables }, (_, i) => createTable('db', `t${i}`)).flat();
  await catalog.commit([{ op: 'createDatabase', database: 'db' }, ...ddl]);
  return catalog;
}

async function commitLatency(store: ObjectStore, count: number) {
  const catalog = await seed(store, 'latency', 1);
  const commits = await timeEach(count, (i) =>
    catalog.commit([addFile('latency', 'db', 't0', i % 24, `f${i}`)]),
  );
  // Baseline: the storage floor of a commit, one put-if-absent of a commit-sized object.
  const body = new TextEncoder().encode('x'.repeat(600));
  const floor = await timeEach(count, (i) =>
    store.putIfAbsent(`tenants/latency/bench/floor-${i}.json`, body),
  );
  return { commits, floor };
}

async function writersThroughput(
  config: ObjectStoreConfig,
  store: ObjectStore,
  writers: number,
  perWriter: number,
) {
  await seed(store, 'shared', writers);
  const { ms } = await timeOnce(() =>
    Promise.all(
      Array.from({ length: writers }, (_, w) =>
        runTsProcess(writerScript, {
          WEIR_TEST_STORE: JSON.stringify(config),
          WRITER: String(w),
          COMMITS: String(perWriter),
        }),
      ),
    ).then((runs) => {
      for (const run of runs) if (run.code !== 0) throw new Error(`writer failed: ${run.stderr}`);
    }),
  );
  // Process start-up (tsx) is part of `ms`; measure it alone and take it out.
  const startup = await timeOnce(() =>
    runTsProcess(writerScript, { WEIR_TEST_STORE: JSON.stringify(config), WRITER: '0', COMMITS: '0' }),
  );
  return (writers * perWriter) / ((ms - startup.ms) / 1000);
}

/** 100 commits of 1,000 files (100K live files over 10 tables), a checkpoint, then 100 more commits. */
async function buildLargeState(store: ObjectStore) {
  const catalog = await seed(store, 'big', 10);
  let n = 0;
  for (let c = 0; c < 100; c++) {
    const actions = Array.from({ length: 1000 }, () => {
      const i = n++;
      return addFile('big', 'db', `t${i % 10}`, Math.floor(i / 10) % 240, `f${i}`);
    });
    await catalog.commit(actions);
  }
  await catalog.checkpoint();
  for (let c = 0; c < 100; c++)
    await catalog.commit([addFile('big', 'db', 't0', 300 + (c % 24), `tail${c}`)]);
}

/** Loads run after the writer's state is gone, as in a fresh API process. */
async function largeStateLoad(store: ObjectStore) {
  await buildLargeState(store);
  (globalThis as { gc?: () => void }).gc?.();
  const loads: number[] = [];
  let files = 0;
  for (let i = 0; i < 6; i++) {
    const { ms, value } = await timeOnce(() => new TenantCatalog(store, 'big').refresh());
    loads.push(ms);
    files = [...value.tables.values()].reduce((sum, t) => sum + t.fileCount, 0);
  }
  const reader = new TenantCatalog(store, 'big');
  await reader.refresh();
  const idle = await timeEach(1000, () => reader.refresh());
  return { first: loads[0]!, warm: loads.slice(1), files, idle };
}

async function main() {
  const results: [string, string, string?][] = [];
  const root = mkdtempSync(join(tmpdir(), 'weir-bench-catalog-'));
  const s3 = await startS3Server();
  try {
    const local = () => {
      const dir = mkdtempSync(join(root, 's-'));
      return { store: new LocalObjectStore(dir), config: { kind: 'local', root: dir } as ObjectStoreConfig };
    };
    const remote = async () => {
      const config = await createTestBucket(s3.endpoint);
      return { store: new S3ObjectStore(config), config: config as ObjectStoreConfig };
    };

    for (const [name, make, count] of [
      ['local', local, 1000],
      ['s3 (moto)', remote, 300],
    ] as const) {
      const { store } = await make();
      const { commits, floor } = await commitLatency(store, count);
      results.push([
        `commit latency p50, ${name}`,
        fmt.ms(percentile(commits, 50)),
        `p99 ${fmt.ms(percentile(commits, 99))}`,
      ]);
      results.push([
        `  baseline put-if-absent p50, ${name}`,
        fmt.ms(percentile(floor, 50)),
        `commit/put ratio ${fmt.ratio(percentile(commits, 50) / percentile(floor, 50))}`,
      ]);
    }

    for (const writers of [1, 8]) {
      const { store, config } = local();
      const rate = await writersThroughput(config, store, writers, 200);
      results.push([`commits/s, ${writers} writer process(es), local`, fmt.rate(rate, 'commits')]);
    }
    {
      const { store, config } = await remote();
      const rate = await writersThroughput(config, store, 8, 100);
      results.push(['commits/s, 8 writer processes, s3 (moto)', fmt.rate(rate, 'commits')]);
    }

    const { store } = local();
    const big = await largeStateLoad(store);
    results.push([
      `load state of ${big.files.toLocaleString('en-US')} files (checkpoint + 100 commits), local`,
      fmt.ms(median(big.warm)),
      `median of 5 warm loads; first load in the process ${fmt.ms(big.first)}`,
    ]);
    results.push([
      'refresh with nothing new, local',
      fmt.ms(percentile(big.idle, 50)),
      `p99 ${fmt.ms(percentile(big.idle, 99))}`,
    ]);
    const { store: s3Store } = await remote();
    const s3Idle = await (async () => {
      const c = await seed(s3Store, 'idle', 1);
      return timeEach(200, () => c.refresh());
    })();
    results.push([
      'refresh with nothing new, s3 (moto)',
      fmt.ms(percentile(s3Idle, 50)),
      `p99 ${fmt.ms(percentile(s3Idle, 99))}`,
    ]);
  } finally {
    await s3.stop();
    rmSync(root, { recursive: true, force: true });
  }
  console.log(
    `\nWeir catalog benchmark — ${new Date().toISOString().slice(0, 10)}, node ${process.version}\n`,
  );
  report(results);
}

await main();
