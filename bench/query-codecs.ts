/**
 * Why the high-cpu query misses its 10 ms target (README, query benchmark): raw DuckDB, no Weir,
 * over the 12 hourly files of TSBS's high-cpu query (40 hosts, the `cpu` table of bench/query.ts),
 * written sorted by (tags, time) as the workers write them, in DESIGN.md's format (ZSTD, ~128K-row
 * row groups) and in variants. `SELECT *` of one host decompresses every column chunk of the 12
 * files; the variants show what the codec and the row-group size cost. It prints figures only.
 *
 *   npx tsx bench/query-codecs.ts
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlString } from '../services/query/index.js';
import { BASE_US, HOUR_US } from '../test/helpers/data-files.js';
import { ROW_GROUP_ROWS, ZSTD_LEVEL } from '../workers/tasks/data-files.js';
import { fmt, percentile, report, timeEach } from './stats.js';
import { highCpuSql, hourRowsSql, TAGS } from './tsbs-cpu.js';

const HOSTS = 40;
const HOURS = 12;
const REPS = Number(process.env.BENCH_CODECS_REPS ?? 40);
const VARIANTS = [
  {
    label: `ZSTD level ${ZSTD_LEVEL}, ${ROW_GROUP_ROWS.toLocaleString('en-US')}-row groups (Weir's files)`,
    codec: `zstd, COMPRESSION_LEVEL ${ZSTD_LEVEL}`,
    rowGroup: ROW_GROUP_ROWS,
  },
  {
    label: `ZSTD level ${ZSTD_LEVEL}, 4,096-row groups`,
    codec: `zstd, COMPRESSION_LEVEL ${ZSTD_LEVEL}`,
    rowGroup: 4096,
  },
  {
    label: `Snappy, ${ROW_GROUP_ROWS.toLocaleString('en-US')}-row groups`,
    codec: 'snappy',
    rowGroup: ROW_GROUP_ROWS,
  },
  {
    label: `LZ4, ${ROW_GROUP_ROWS.toLocaleString('en-US')}-row groups`,
    codec: 'lz4_raw',
    rowGroup: ROW_GROUP_ROWS,
  },
  {
    label: `uncompressed, ${ROW_GROUP_ROWS.toLocaleString('en-US')}-row groups`,
    codec: 'uncompressed',
    rowGroup: ROW_GROUP_ROWS,
  },
];

const dir = mkdtempSync(join(tmpdir(), 'weir-bench-codecs-'));
const instance = await DuckDBInstance.create(':memory:', { threads: String(availableParallelism()) });
const connection = await instance.connect();
await connection.run('SET GLOBAL parquet_metadata_cache = true');
const window = `time >= make_timestamp(${BASE_US}::BIGINT) AND time < make_timestamp(${BASE_US + HOURS * HOUR_US}::BIGINT)`;
const rows: [string, string, string?][] = [];
try {
  for (const [v, variant] of VARIANTS.entries()) {
    const files = Array.from({ length: HOURS }, (_, k) => join(dir, `v${v}-h${k}.parquet`));
    for (const [k, file] of files.entries()) {
      await connection.run(
        `COPY (SELECT * FROM (${hourRowsSql(k, HOSTS)}) ORDER BY ${TAGS.join(', ')}, time) TO ${sqlString(file)}
         (FORMAT parquet, COMPRESSION ${variant.codec}, ROW_GROUP_SIZE ${variant.rowGroup})`,
      );
    }
    const from = `read_parquet([${files.map(sqlString).join(', ')}])`;
    const query = (r: number) => highCpuSql(from, sqlString(`host_${(r * 7) % HOSTS}`), window);
    await timeEach(5, async (r) => (await connection.runAndReadAll(query(r))).getRows());
    const samples = await timeEach(REPS, async (r) => (await connection.runAndReadAll(query(r))).getRows());
    const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
    rows.push([
      variant.label,
      `p50 ${fmt.ms(percentile(samples, 50))}, p95 ${fmt.ms(percentile(samples, 95))}`,
      `${(bytes / 2 ** 20).toFixed(1)} MiB in ${HOURS} files`,
    ]);
  }
} finally {
  connection.closeSync();
  instance.closeSync();
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `raw DuckDB, high-cpu query (SELECT * of 1 host of ${HOSTS}, ${HOURS} hourly files), ${REPS} repetitions:`,
);
report(rows);
