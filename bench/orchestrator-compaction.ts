/**
 * Compaction executor benchmark. Prints figures; never passes or fails on time.
 *   npx tsx bench/orchestrator-compaction.ts
 * One partition of a 10-tag, 10-float-field table: 2M rows in 20 sorted files (like 20 flushes),
 * compacted end to end through `executeTask` on the local store (fetch through the store, merge
 * and sort in DuckDB, write, statistics, upload; data generation excluded), next to a baseline
 * measured in the same run: plain DuckDB `COPY (SELECT * FROM read_parquet([...]) ORDER BY tags…,
 * time) TO … (FORMAT parquet, COMPRESSION zstd)` over local copies of the same files.
 * Target on 2 cores: ≥ 2M rows/s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { LocalObjectStore, paths, TenantCatalogs } from '../catalog/index.js';
import { createDataTable, writeDataFiles } from '../test/helpers/data-files.js';
import { compactionInputs, envelopeOf } from '../test/workers/support.js';
import { executeTask, openWorkerDuckDB, sqlString, type TaskContext } from '../workers/tasks/index.js';
import { fmt, median, report } from './stats.js';

const FILES = 20;
const ROWS_PER_FILE = 100_000;
const ROWS = FILES * ROWS_PER_FILE;
const SERIES = 1_000;
const REPEATS = 3;
const TAGS = Array.from({ length: 10 }, (_, i) => `tag${i}`);
const FIELDS = Array.from({ length: 10 }, (_, i) => `field${i}`);
const PARTITION = 'date=2026-03-01/hour=00';

/** File f: every series once per 180 ms step inside the file's 180 s slice of the hour. */
function fileSql(f: number): string {
  const cardinality = [4, 10, 20, 50, 100, 200, 500, 1000, 3, 2];
  const tags = TAGS.map((name, i) => `'${name}-' || ((s * ${i + 1}) % ${cardinality[i]}) AS ${name}`);
  const fields = FIELDS.map(
    (name, j) =>
      `round(50 + 40 * sin((s + ${j}) * 0.1 + k * 0.01) + (hash(i * 10 + ${j}) % 1000) / 1000.0, 3) AS ${name}`,
  );
  return `SELECT TIMESTAMP '2026-03-01 00:00:00' + to_microseconds(${f}::BIGINT * 180000000 + k * 1800000 + s) AS time,
    ${[...tags, ...fields].join(',\n    ')}
    FROM (SELECT i, i % ${SERIES} AS s, (i // ${SERIES}) % ${ROWS_PER_FILE / SERIES} AS k
          FROM range(${f * ROWS_PER_FILE}, ${(f + 1) * ROWS_PER_FILE}) r(i))`;
}

export async function benchCompaction(): Promise<[string, string, string?][]> {
  const root = mkdtempSync(join(tmpdir(), 'weir-bench-compaction-'));
  const store = new LocalObjectStore(join(root, 'objects'));
  const duckdb = await openWorkerDuckDB();
  const ctx: TaskContext = {
    store,
    catalogs: new TenantCatalogs(store),
    duckdb,
    workDir: join(root, 'work'),
  };
  try {
    const catalog = ctx.catalogs.forTenant('bench');
    await createDataTable(catalog, 'db', 'metrics', {
      tags: TAGS,
      fields: Object.fromEntries(FIELDS.map((name) => [name, 'float64' as const])),
    });
    const generated = performance.now();
    const files = await writeDataFiles({
      store,
      catalog,
      database: 'db',
      table: 'metrics',
      duckdb,
      files: Array.from({ length: FILES }, (_, f) => ({ fileId: `flush-${f}`, sql: fileSql(f) })),
    });
    const generationMs = performance.now() - generated;
    const inputBytes = files.reduce((sum, f) => sum + f.bytes, 0);

    // Baseline input: the same objects as local files.
    const local = join(root, 'baseline');
    await mkdir(local, { recursive: true });
    const localFiles = await Promise.all(
      files.map(async (f, i) => {
        const path = join(local, `in-${i}.parquet`);
        await writeFile(path, await store.get(f.path));
        return path;
      }),
    );
    const list = localFiles.map(sqlString).join(', ');
    const connection = await duckdb.connect();
    const baseline = async () => {
      const started = performance.now();
      await connection.run(
        `COPY (SELECT * FROM read_parquet([${list}]) ORDER BY ${[...TAGS, 'time'].join(', ')})
         TO ${sqlString(join(local, 'out.parquet'))} (FORMAT parquet, COMPRESSION zstd)`,
      );
      return performance.now() - started;
    };

    // The writer's ceiling: the same rows read and written with no sort at all.
    const unsorted = async () => {
      const started = performance.now();
      await connection.run(
        `COPY (SELECT * FROM read_parquet([${list}])) TO ${sqlString(join(local, 'unsorted.parquet'))}
         (FORMAT parquet, COMPRESSION zstd)`,
      );
      return performance.now() - started;
    };

    const runs: Record<string, number[]> = { baseline: [], unsorted: [], split: [], single: [] };
    const phases: { ms: number; summary: Record<string, unknown> }[] = [];
    const checksums: Record<string, Set<string>> = { split: new Set(), single: new Set() };
    let outputs = 0;
    const { version, inputs } = await compactionInputs(catalog, 'db', 'metrics', PARTITION, {
      targetRows: 1_000_000,
    });
    const single = { ...inputs, targetRows: ROWS };
    await baseline(); // warm-up: file cache, DuckDB allocator
    for (let r = 0; r < REPEATS; r++) {
      runs.baseline!.push(await baseline());
      runs.unsorted!.push(await unsorted());
      for (const [name, taskInputs] of [
        ['split', inputs],
        ['single', single],
      ] as const) {
        const envelope = envelopeOf('bench', 'compaction', version, taskInputs, {
          scratchPrefix: paths.scratchKeys.prefix('bench', `rpl_${name}_${r}`),
        });
        const started = performance.now();
        const result = await executeTask(envelope, ctx);
        runs[name]!.push(performance.now() - started);
        checksums[name]!.add(result.outputsChecksum);
        if (name === 'split') {
          outputs = result.wrote.files.length;
          phases.push({ ms: runs.split!.at(-1)!, summary: JSON.parse(result.summaryJson) });
        }
      }
    }
    connection.closeSync();

    // The real thing once: with the commit that swaps the files.
    const committed = performance.now();
    const real = await executeTask(envelopeOf('bench', 'compaction', version, inputs), ctx);
    const committedMs = performance.now() - committed;

    const rate = (ms: number) => ROWS / (ms / 1000);
    const base = median(runs.baseline!);
    const split = median(runs.split!);
    const one = median(runs.single!);
    // The phases of the median run.
    const phase = phases.sort((a, b) => a.ms - b.ms)[Math.floor(phases.length / 2)]!.summary;
    return [
      [
        'input',
        `${ROWS.toLocaleString('en-US')} rows in ${FILES} files, 10 tags + 10 float fields`,
        `${(inputBytes / 2 ** 20).toFixed(1)} MiB; generated in ${fmt.ms(generationMs)} (excluded)`,
      ],
      [
        `compaction via executeTask → ${outputs} files (targetRows 1M)`,
        fmt.rate(rate(split), 'rows'),
        `median of ${REPEATS}, ${fmt.ms(split)}; phases ${JSON.stringify(phase, ['fetchMs', 'mergeMs', 'uploadMs'])}; target ≥ 2,000,000 rows/s`,
      ],
      [
        'compaction via executeTask → 1 file',
        fmt.rate(rate(one), 'rows'),
        `median of ${REPEATS}, ${fmt.ms(one)}`,
      ],
      [
        'baseline: DuckDB COPY … ORDER BY tags, time (zstd)',
        fmt.rate(rate(base), 'rows'),
        `median of ${REPEATS}, ${fmt.ms(base)}`,
      ],
      [
        'DuckDB COPY without ORDER BY (read + write only)',
        fmt.rate(rate(median(runs.unsorted!)), 'rows'),
        `median of ${REPEATS}: the writer's ceiling on this machine`,
      ],
      ['ratio compaction / baseline', fmt.ratio(base / split), `1 file: ${fmt.ratio(base / one)}`],
      [
        'outputs identical across repeats',
        checksums.split!.size === 1 &&
        checksums.single!.size === 1 &&
        checksums.split!.has(real.outputsChecksum)
          ? 'yes'
          : 'NO',
        `distinct outputsChecksum: ${checksums.split!.size} (2 files), ${checksums.single!.size} (1 file); the committed run matches the replays`,
      ],
      [
        'committed compaction (same work + commit)',
        fmt.ms(committedMs),
        `${fmt.rate(rate(committedMs), 'rows')}; commit version ${real.wrote.commitVersion}`,
      ],
    ];
  } finally {
    duckdb.closeSync();
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  report(await benchCompaction());
}
