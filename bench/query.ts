/**
 * Query benchmark (DESIGN.md §7): a TSBS-like `cpu` table (10 tags, 10 float fields, one row per
 * host every 10 s, one Parquet file per hour) committed straight into a real `weir serve`'s
 * catalog, then TSBS-style queries through Weir over HTTP (JSON and Arrow) against raw DuckDB over
 * the same files in the same run, and the pruned file list against a glob over the whole table.
 * It prints figures and verdicts; it never fails on time. It fails loudly when Weir's answer and
 * raw DuckDB's differ.
 *
 *   npm run bench:query
 *   BENCH_QUERY_HOSTS=8 BENCH_QUERY_DAYS=3 npm run bench:query     # a quick run
 */
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import {
  type FileSpec,
  LocalObjectStore,
  liveFiles,
  paths,
  type TenantCatalog,
  TenantCatalogs,
  tableKey,
} from '../catalog/index.js';
import { QueryService, queryFilesFor, sqlString } from '../services/query/index.js';
import { BASE_US, createDataTable, HOUR_US, writeDataFiles } from '../test/helpers/data-files.js';
import { openWorkerDuckDB } from '../workers/tasks/index.js';
import { fmt, median, percentile, report } from './stats.js';
import { FIELDS, highCpuSql, hourRowsSql, STEPS_PER_HOUR, TAGS } from './tsbs-cpu.js';
import { type BenchServer, postTo, startBenchServer, stopBenchServer } from './weir-server.js';

const HOSTS = Number(process.env.BENCH_QUERY_HOSTS ?? 40);
const DAYS = Number(process.env.BENCH_QUERY_DAYS ?? 30);
/** DuckDB threads of the server's engine (`query.threads`) and of the raw baseline. */
const THREADS = Number(process.env.BENCH_QUERY_THREADS ?? availableParallelism());
const SMALL_REPS = Number(process.env.BENCH_QUERY_SMALL_REPS ?? 30);
const HEAVY_REPS = Number(process.env.BENCH_QUERY_HEAVY_REPS ?? 5);
const SMALL_WARMUP = 5;
const HEAVY_WARMUP = 1;
/** Days written at once while generating (each on its own DuckDB connection). */
const GEN_CONCURRENCY = Number(process.env.BENCH_QUERY_GEN_CONCURRENCY ?? 2);

const TENANT = 'default';
const DATABASE = 'bench';
const TABLE = 'cpu';
const ROWS = HOSTS * DAYS * 24 * STEPS_PER_HOUR;

if (!(HOSTS >= 4 && DAYS >= 2 && THREADS >= 1 && SMALL_REPS >= 1 && HEAVY_REPS >= 1))
  throw new Error('BENCH_QUERY_HOSTS ≥ 4, BENCH_QUERY_DAYS ≥ 2, threads and repetitions ≥ 1');

/** Writes every hour's file with the workers' sorted writer and commits one day per commit. */
async function generate(store: LocalObjectStore, catalog: TenantCatalog): Promise<void> {
  await createDataTable(catalog, DATABASE, TABLE, {
    tags: TAGS,
    fields: Object.fromEntries(FIELDS.map((f) => [f, 'float64' as const])),
  });
  const duckdb = await openWorkerDuckDB({ threads: Math.max(1, GEN_CONCURRENCY) });
  let nextDay = 0;
  let daysDone = 0;
  let commits = Promise.resolve();
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: GEN_CONCURRENCY }, async () => {
        // Each writer reads the table from its own catalog handle; commits go through one, in turn.
        const reader = new TenantCatalogs(store).forTenant(TENANT);
        for (let day = nextDay++; day < DAYS; day = nextDay++) {
          const specs: FileSpec[] = await writeDataFiles({
            store,
            catalog: reader,
            database: DATABASE,
            table: TABLE,
            commit: 'none',
            duckdb,
            files: Array.from({ length: 24 }, (_, hour) => ({
              fileId: `d${String(day).padStart(3, '0')}h${String(hour).padStart(2, '0')}`,
              sql: hourRowsSql(day * 24 + hour, HOSTS),
            })),
          });
          commits = commits.then(async () => {
            await catalog.commit(specs.map((file) => ({ op: 'addFile', file })));
          });
          await commits;
          daysDone++;
          process.stderr.write(
            `\rgenerating: ${daysDone}/${DAYS} days (${((performance.now() - started) / 1000).toFixed(0)} s)   `,
          );
        }
      }),
    );
  } finally {
    process.stderr.write('\n');
    duckdb.closeSync();
  }
}

// ---------------------------------------------------------------------------------------------
// The queries (TSBS's cpu-only use case, in DuckDB SQL). `from` is the table: `cpu` for Weir, a
// read_parquet(…) call for raw DuckDB. Like TSBS, every repetition asks with other parameters
// (host, window), so no answer is ever a repeat a result cache could serve; queries over all the
// data move a bound by r seconds instead, before the first row or past the last, so they read the
// same rows.

const HOURS = DAYS * 24;
const END_US = BASE_US + HOURS * HOUR_US;
const SECOND_US = 1_000_000;
/** `TIMESTAMP 'YYYY-MM-DD HH:MM:SS'` (whole seconds). */
const ts = (us: number) =>
  `TIMESTAMP '${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19).replace('T', ' ')}'`;
const between = (from: number, hours: number) =>
  `time >= ${ts(from)} AND time < ${ts(from + hours * HOUR_US)}`;
/** A deterministic pseudo-random number for parameter j of a query (salt tells the uses apart). */
const mix = (j: number, salt: number) =>
  (Math.imul(j + 1, 2654435761) ^ Math.imul(salt + 1, 40503) ^ Math.imul(j >>> 3, 97)) >>> 0;
/** A window of `hours` whole hours inside the data, starting at a pseudo-random hour. */
const windowStart = (j: number, hours: number, salt: number) =>
  BASE_US + (mix(j, salt) % Math.max(1, HOURS - hours + 1)) * HOUR_US;
const host = (j: number, salt: number) => sqlString(`host_${mix(j, salt + 1000) % HOSTS}`);

interface QueryCase {
  key: string;
  what: string;
  heavy: boolean;
  sql: (from: string, r: number) => string;
}

const QUERIES: QueryCase[] = [
  {
    key: 'single-groupby',
    what: 'max(usage_user) per minute, 1 host, 1 hour',
    heavy: false,
    sql: (from, r) =>
      `SELECT date_trunc('minute', time) AS minute, max(usage_user) AS max_usage_user FROM ${from}
       WHERE hostname = ${host(r, 1)} AND ${between(windowStart(r, 1, 5), 1)} GROUP BY minute ORDER BY minute`,
  },
  {
    key: 'double-groupby',
    what: 'avg of all 10 fields per hour per host, 24 hours',
    heavy: true,
    sql: (from, r) =>
      `SELECT date_trunc('hour', time) AS hour, hostname, ${FIELDS.map((f) => `avg(${f}) AS avg_${f}`).join(', ')}
       FROM ${from} WHERE ${between(windowStart(r, 24, 11), 24)} GROUP BY hour, hostname ORDER BY hour, hostname`,
  },
  {
    key: 'high-cpu',
    what: 'rows with usage_user > 90, 1 host, 12 hours',
    heavy: false,
    sql: (from, r) => highCpuSql(from, host(r, 3), between(windowStart(r, 12, 2), 12)),
  },
  {
    key: 'lastpoint',
    what: 'latest row of every host over the whole table (TSBS ClickHouse form: join on max(time) per host)',
    heavy: true,
    sql: (from, r) =>
      `SELECT c.* FROM ${from} c JOIN (SELECT hostname, max(time) AS time FROM ${from}
       WHERE time < ${ts(END_US + r * SECOND_US)} GROUP BY hostname) l USING (hostname, time) ORDER BY hostname`,
  },
  {
    key: 'one-hour',
    what: 'count, avg, max, min per host, 1 hour',
    heavy: false,
    sql: (from, r) =>
      `SELECT hostname, count(*) AS n, avg(usage_user) AS avg_user, max(usage_system) AS max_system,
       min(usage_idle) AS min_idle FROM ${from} WHERE ${between(windowStart(r, 1, 7), 1)}
       GROUP BY hostname ORDER BY hostname`,
  },
  {
    key: `${DAYS}-day`,
    what: `count and 3 aggregates per day, all ${DAYS} days`,
    heavy: true,
    sql: (from, r) =>
      `SELECT date_trunc('day', time) AS day, count(*) AS n, avg(usage_user) AS avg_user,
       avg(usage_system) AS avg_system, max(usage_iowait) AS max_iowait FROM ${from}
       WHERE time >= ${ts(BASE_US - r * SECOND_US)} AND time < ${ts(END_US)} GROUP BY day ORDER BY day`,
  },
];
const ONE_HOUR = 'one-hour';

// ---------------------------------------------------------------------------------------------
// The server and the HTTP client.

interface HttpAnswer {
  status: number;
  filesScanned: number;
  /** `x-weir-cache` (hit, miss, bypass) when the server has a result cache. */
  cache: string | undefined;
  body: Buffer;
}

async function post(server: BenchServer, path: string, body: unknown): Promise<HttpAnswer> {
  const res = await postTo(
    server,
    path,
    { 'content-type': 'application/json' },
    Buffer.from(JSON.stringify(body)),
  );
  return {
    status: res.status,
    filesScanned: Number(res.headers['x-weir-files-scanned']),
    cache: res.headers['x-weir-cache'] as string | undefined,
    body: res.body,
  };
}

// ---------------------------------------------------------------------------------------------
// The variants measured: answers their rows (as plain values, for the agreement check) and times.

type Cell = string | number | boolean | null;
interface Answer {
  rows: number;
  /** Rows as comparable values (timestamps as epoch ms), when the variant keeps them. */
  data?: Cell[][];
  /** Weir's own `execution_time_ms` (JSON). */
  serverMs?: number;
  filesScanned?: number;
  cache?: string | undefined;
}

type VariantKey = 'json' | 'arrow' | 'raw' | 'glob';
/** One repetition's statement: Weir's SQL, raw DuckDB's over the files Weir scans, over the glob. */
interface Instance {
  weir: string;
  raw: string;
  glob: string;
  /** Files each table reference reads, and how many references (Weir scans files × refs). */
  files: number;
  refs: number;
}
interface Variant {
  key: VariantKey;
  label: string;
  run: (instance: Instance, keep: boolean) => Promise<Answer>;
}

function cell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value))
    return Date.parse(value);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

function sameCell(a: Cell, b: Cell): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  return a === b;
}

/** Throws naming the first difference. */
function assertSame(key: string, what: string, expected: Cell[][], actual: Cell[][]): void {
  if (expected.length !== actual.length)
    throw new Error(`${key}: ${what} answered ${actual.length} rows, raw DuckDB ${expected.length}`);
  for (const [r, row] of expected.entries()) {
    const other = actual[r]!;
    if (row.length !== other.length || row.some((v, c) => !sameCell(v, other[c]!)))
      throw new Error(
        `${key}: row ${r} differs: raw DuckDB ${JSON.stringify(row)}, ${what} ${JSON.stringify(other)}`,
      );
  }
}

async function timed(
  variant: Variant,
  instance: Instance,
  keep = false,
): Promise<{ ms: number; answer: Answer }> {
  const start = performance.now();
  const answer = await variant.run(instance, keep);
  return { ms: performance.now() - start, answer };
}

/** Busy CPU seconds of the whole machine (all cores) since boot, from /proc/stat. */
function machineBusyS(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - ticks[3]! - ticks[4]!) / 100;
}

/** CPU seconds (user + system) a process has used (clock ticks of 1/100 s). */
function processCpuS(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function selfCpuS(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

// ---------------------------------------------------------------------------------------------

const runStarted = performance.now();
const server = await startBenchServer({
  name: 'weir-bench-query',
  env: { WEIR_QUERY_THREADS: String(THREADS) },
  // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server.
  nodeArgs: process.env.BENCH_QUERY_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
});
const store = new LocalObjectStore(join(server.dataDir, 'objects'));
const catalogs = new TenantCatalogs(store);
const catalog = catalogs.forTenant(TENANT);
let planner: QueryService | undefined;
let raw: DuckDBInstance | undefined;

interface Measured {
  q: QueryCase;
  /** Files of each timed instance (per table reference), and the references of the statement. */
  files: number[];
  refs: number;
  /** Rows out of each timed instance. */
  rowsOut: number[];
  samples: Map<VariantKey, number[]>;
  serverMs: number[];
}
const measured: Measured[] = [];
let genS = 0;
let tableFiles = 0;
let tableBytes = 0;
let cacheHit: { ms: number[]; serverMs: number[] } | undefined;
let others: { cpuS: number; wallS: number } | undefined;

try {
  // 1. Data, committed into tenant `default` of the running server.
  const genStart = performance.now();
  await generate(store, catalog);
  genS = (performance.now() - genStart) / 1000;
  const entry = (await catalog.refresh()).tables.get(tableKey(DATABASE, TABLE))!;
  if (entry.rowCount !== ROWS) throw new Error(`the table holds ${entry.rowCount} rows, expected ${ROWS}`);
  const allFiles = [...liveFiles(entry)];
  tableFiles = allFiles.length;
  tableBytes = allFiles.reduce((sum, f) => sum + f.bytes, 0);
  const localPath = (key: string) => join(store.root, ...key.split('/'));
  const tableDir = localPath(paths.dataKeys.tablePrefix(TENANT, DATABASE, TABLE));
  for (const f of allFiles.slice(0, 3)) statSync(localPath(f.path)); // the keys map to local files

  // 2. Weir's own planner (the server's pruning code, in this process) gives raw DuckDB its files.
  planner = await QueryService.open({
    catalogs,
    files: queryFilesFor(store, join(server.dataDir, 'unused-cache'), 1 << 20),
    engine: { maxInstances: 1 },
    timeoutMs: 600_000,
  });
  const glob = `read_parquet(${sqlString(join(tableDir, '**', '*.parquet'))}, hive_partitioning = false)`;
  const instance = async (q: QueryCase, r: number): Promise<Instance> => {
    const weirSql = q.sql(TABLE, r);
    const plan = await planner!.plan({ tenant: TENANT, database: DATABASE, sql: weirSql });
    // Raw DuckDB reads every reference from one file list: the bench's queries prune their
    // references alike (lastpoint's two read the whole table).
    const lists = plan.tables.map((t) => t.files.map((f) => sqlString(localPath(f.path))).join(', '));
    if (lists.some((l) => l !== lists[0]))
      throw new Error(`${q.key}: its table references prune differently`);
    return {
      weir: weirSql,
      raw: q.sql(`read_parquet([${lists[0]}], hive_partitioning = false)`, r),
      glob: q.sql(glob, r),
      files: plan.tables[0]!.files.length,
      refs: plan.tables.length,
    };
  };

  // 3. Raw DuckDB in this process, as many threads as the server's engine.
  raw = await DuckDBInstance.create(':memory:', {
    threads: String(THREADS),
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const rawConnection = await raw.connect();
  const rawRun = async (sql: string, keep: boolean): Promise<Answer> => {
    const reader = await rawConnection.runAndReadAll(sql);
    return {
      rows: reader.currentRowCount,
      ...(keep ? { data: reader.getRowsJS().map((row) => row.map(cell)) } : {}),
    };
  };
  const weirQuery = async (path: string, sql: string) => {
    const res = await post(server, path, { sql, database: DATABASE });
    if (res.status !== 200)
      throw new Error(`${path} answered ${res.status}: ${res.body.toString('utf8').slice(0, 500)}\n${sql}`);
    return res;
  };
  const json = async (sql: string, keep: boolean): Promise<Answer> => {
    const res = await weirQuery('/api/v1/query', sql);
    const body = JSON.parse(res.body.toString('utf8')) as {
      data: unknown[][];
      row_count: number;
      execution_time_ms: number;
    };
    return {
      rows: body.row_count,
      serverMs: body.execution_time_ms,
      filesScanned: res.filesScanned,
      cache: res.cache,
      ...(keep ? { data: body.data.map((row) => row.map(cell)) } : {}),
    };
  };
  const variants: Variant[] = [
    { key: 'json', label: 'Weir JSON', run: (i, keep) => json(i.weir, keep) },
    {
      key: 'arrow',
      label: 'Weir Arrow',
      run: async (i) => {
        const res = await weirQuery('/api/v1/query/arrow', i.weir);
        return { rows: tableFromIPC(res.body).numRows, filesScanned: res.filesScanned, cache: res.cache };
      },
    },
    { key: 'raw', label: 'raw DuckDB, same files', run: (i, keep) => rawRun(i.raw, keep) },
    { key: 'glob', label: 'raw DuckDB, glob', run: (i, keep) => rawRun(i.glob, keep) },
  ];

  // 4. Per query: warm-up instances (the first checks every cell of every variant's answer), then
  // one new instance per repetition, its variants in rotating order; row counts checked each time.
  const cpuBefore = { machine: machineBusyS(), self: selfCpuS(), server: processCpuS(server.proc.child.pid) };
  const wallBefore = performance.now();
  for (const q of QUERIES) {
    process.stderr.write(`measuring ${q.key}…\n`);
    const warmup = q.heavy ? HEAVY_WARMUP : SMALL_WARMUP;
    const reps = q.heavy ? HEAVY_REPS : SMALL_REPS;
    const instances: Instance[] = [];
    // Parameters j = 0, 1, 2…, skipping any that would repeat an earlier statement (small tables).
    const used = new Set<string>();
    for (let j = 0; instances.length < warmup + reps; j++) {
      if (j > 100 * (warmup + reps))
        throw new Error(`${q.key}: too few distinct parameters for the repetitions`);
      if (used.has(q.sql(TABLE, j))) continue;
      used.add(q.sql(TABLE, j));
      instances.push(await instance(q, j));
    }
    const samples = new Map<VariantKey, number[]>(variants.map((v) => [v.key, []]));
    const m: Measured = { q, files: [], refs: instances[0]!.refs, rowsOut: [], samples, serverMs: [] };
    for (const [r, inst] of instances.entries()) {
      const answers = new Map<VariantKey, Answer>();
      const order = variants.map((_, i) => variants[(r + i) % variants.length]!);
      for (const v of order) {
        const sample = await timed(v, inst, r === 0);
        answers.set(v.key, sample.answer);
        if (r >= warmup) samples.get(v.key)!.push(sample.ms);
        if (r >= warmup && sample.answer.serverMs !== undefined) m.serverMs.push(sample.answer.serverMs);
      }
      const expected = answers.get('raw')!;
      if (r === 0) {
        assertSame(q.key, 'Weir JSON', expected.data!, answers.get('json')!.data!);
        assertSame(q.key, 'raw DuckDB over the glob', expected.data!, answers.get('glob')!.data!);
        if (expected.rows === 0)
          throw new Error(`${q.key}: no rows (the data does not fit the query)\n${inst.weir}`);
      }
      for (const v of variants) {
        const answer = answers.get(v.key)!;
        if (answer.rows !== expected.rows)
          throw new Error(
            `${q.key} #${r}: ${v.label} answered ${answer.rows} rows, raw DuckDB ${expected.rows}`,
          );
        if (answer.filesScanned !== undefined && answer.filesScanned !== inst.files * inst.refs)
          throw new Error(
            `${q.key} #${r}: Weir scanned ${answer.filesScanned} files, its plan ${inst.files} × ${inst.refs}`,
          );
        if (answer.cache === 'hit')
          throw new Error(
            `${q.key} #${r}: ${v.label} came from the result cache; the figures would not be the engine's`,
          );
      }
      if (r >= warmup) {
        m.files.push(inst.files);
        m.rowsOut.push(expected.rows);
      }
      if (r === warmup - 1) globalThis.gc?.();
    }
    measured.push(m);

    // A server with a result cache: the same one-hour statement asked again, as a separate figure.
    if (q.key === ONE_HOUR && (await json(instances[0]!.weir, false)).cache === 'hit') {
      cacheHit = { ms: [], serverMs: [] };
      for (let i = 0; i < SMALL_REPS; i++) {
        const start = performance.now();
        const answer = await json(instances[0]!.weir, false);
        cacheHit.ms.push(performance.now() - start);
        cacheHit.serverMs.push(answer.serverMs!);
      }
    }
  }
  others = {
    cpuS:
      machineBusyS() -
      cpuBefore.machine -
      (selfCpuS() - cpuBefore.self) -
      (processCpuS(server.proc.child.pid) - cpuBefore.server),
    wallS: (performance.now() - wallBefore) / 1000,
  };
  rawConnection.closeSync();
} finally {
  raw?.closeSync();
  planner?.close();
  const warnings = server.proc.stdout.filter((line) => line.startsWith('{'));
  if (warnings.length > 0)
    console.error(`the server logged ${warnings.length} warnings; first:\n${warnings[0]}`);
  await store.close();
  await stopBenchServer(server);
}
const totalS = (performance.now() - runStarted) / 1000;

// ---------------------------------------------------------------------------------------------
// Output.

const p = (values: number[], q: number) =>
  percentile(
    [...values].sort((a, b) => a - b),
    q,
  );
const ms = (v: number) => (v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US'));
const num = (v: number) => Math.round(v).toLocaleString('en-US');
const p50 = (m: Measured, key: VariantKey) => p(m.samples.get(key)!, 50);
const spread = (values: number[]) => {
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  return lo === hi ? num(lo) : `${num(lo)}–${num(hi)}`;
};

console.log(
  `\nWeir query benchmark — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ` +
    `${availableParallelism()} cores, DuckDB threads ${THREADS} (server engine and raw baseline)\n` +
    `Table ${DATABASE}.${TABLE}: ${HOSTS} hosts × ${DAYS} days × ${24 * STEPS_PER_HOUR} rows/day = ${num(ROWS)} rows, ` +
    `10 tags + 10 float fields, ${tableFiles} hourly files, ${(tableBytes / 2 ** 20).toFixed(0)} MiB ` +
    `(generated and committed in ${genS.toFixed(0)} s)\n` +
    'Weir: a real `weir serve` over HTTP on loopback (keep-alive), times from request to parsed answer ' +
    '(JSON.parse / tableFromIPC). Raw DuckDB: the same SQL over read_parquet([the files Weir scans]) in ' +
    'this process, rows materialised (runAndReadAll). Glob: read_parquet(<table dir>/**/*.parquet). ' +
    `Repetitions: ${SMALL_REPS} small / ${HEAVY_REPS} heavy after ${SMALL_WARMUP} / ${HEAVY_WARMUP} warm-up, ` +
    'each with its own parameters (host, window; TSBS-style, so no answer repeats), variants in rotating ' +
    'order; ms, p50 / p95. "server ms" is Weir\'s execution_time_ms (JSON). Server and client share the ' +
    'cores; other work on the machine adds noise.\n',
);
const header = [
  'query',
  'class',
  'files',
  'rows out',
  'Weir JSON',
  'server ms',
  'Weir Arrow',
  'raw DuckDB',
  'JSON / raw',
  'Arrow / raw',
  'raw glob',
  'glob / Weir JSON',
];
const lines = measured.map((m) => {
  const pair = (key: VariantKey) => `${ms(p50(m, key))} / ${ms(p(m.samples.get(key)!, 95))}`;
  return [
    m.q.key,
    m.q.heavy ? 'heavy' : 'small',
    `${spread(m.files)} / ${tableFiles}${m.refs > 1 ? ` (×${m.refs} refs)` : ''}`,
    spread(m.rowsOut),
    pair('json'),
    ms(p(m.serverMs, 50)),
    pair('arrow'),
    pair('raw'),
    fmt.ratio(p50(m, 'json') / p50(m, 'raw')),
    fmt.ratio(p50(m, 'arrow') / p50(m, 'raw')),
    pair('glob'),
    fmt.ratio(p50(m, 'glob') / p50(m, 'json')),
  ];
});
const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
for (const line of [header, ...lines])
  console.log(
    line.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
console.log('');
for (const m of measured) console.log(`  ${m.q.key.padEnd(15)} ${m.q.what}`);
console.log('');

const heavy = measured.filter((m) => m.q.heavy);
const small = measured.filter((m) => !m.q.heavy);
const ratios = (key: 'json' | 'arrow') => heavy.map((m) => p50(m, key) / p50(m, 'raw'));
const ratioVerdict = (key: 'json' | 'arrow', label: string): [string, string, string?] => {
  const values = ratios(key);
  const mid = median(values);
  return [
    `target: median Weir / raw ≤ 1.2 on heavy queries, ${label}`,
    values.length === 0 ? 'not measured' : mid <= 1.2 ? 'met' : 'NOT MET',
    `median ${fmt.ratio(mid)}; ${heavy.map((m, i) => `${m.q.key} ${fmt.ratio(values[i]!)}`).join(', ')}`,
  ];
};
const smallMet = small.filter((m) => p50(m, 'json') <= 10);
const hour = measured.find((m) => m.q.key === ONE_HOUR);
const speedup = hour ? p50(hour, 'glob') / p50(hour, 'json') : Number.NaN;
report([
  ratioVerdict('json', 'JSON (/api/v1/query)'),
  ratioVerdict('arrow', 'Arrow (/api/v1/query/arrow)'),
  [
    'target: small query p50 ≤ 10 ms end to end (Weir JSON)',
    smallMet.length === small.length ? 'met' : smallMet.length === 0 ? 'NOT MET' : 'NOT MET for some',
    small.map((m) => `${m.q.key} ${fmt.ms(p50(m, 'json'))} (server ${fmt.ms(p(m.serverMs, 50))})`).join(', '),
  ],
  [
    'target: pruned one-hour query ≥ 10× faster than the full glob',
    hour ? (speedup >= 10 ? 'met' : 'NOT MET') : 'not measured',
    hour
      ? `${fmt.ratio(speedup)}: Weir JSON ${fmt.ms(p50(hour, 'json'))} over ${spread(hour.files)} file(s), raw glob ` +
        `${fmt.ms(p50(hour, 'glob'))} over ${tableFiles}; raw DuckDB over the pruned file ${fmt.ms(p50(hour, 'raw'))}`
      : '',
  ],
  ...(cacheHit
    ? [
        [
          'one-hour query answered from the result cache (same statement again)',
          `${fmt.ms(p(cacheHit.ms, 50))} p50`,
          `p95 ${fmt.ms(p(cacheHit.ms, 95))}, server ${fmt.ms(p(cacheHit.serverMs, 50))}; not in the figures above`,
        ] as [string, string, string],
      ]
    : []),
  ...(others
    ? [
        [
          'CPU used by other processes while measuring',
          `${Math.max(0, (100 * others.cpuS) / (others.wallS * availableParallelism())).toFixed(0)}% of the machine`,
          `${Math.max(0, others.cpuS).toFixed(0)} CPU s in ${others.wallS.toFixed(0)} s: other work on the machine, plus the ` +
            "server's idle worker child and redis-server; the higher, the noisier the figures",
        ] as [string, string, string],
      ]
    : []),
  ['whole run', `${totalS.toFixed(0)} s`, `generation ${genS.toFixed(0)} s`],
]);
