import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  Bool,
  type Data,
  Field,
  Float64,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { pack } from 'msgpackr';
import { LocalObjectStore, TenantCatalogs } from '../catalog/index.js';
import { writeParquet } from '../catalog/parquet/index.js';
import {
  columnsOf,
  host,
  procs,
  range,
  region,
  TAGS,
  timeMs,
  up,
  usageIdle,
  usageSystem,
  usageUser,
} from './ingest-rows.js';
import { fmt, median, report } from './stats.js';
import { type BenchServer, postTo, startBenchServer, stopBenchServer } from './weir-server.js';

const MODES = (process.env.BENCH_INGEST_MODES ?? 'buffered,wal').split(',') as Mode[];
const CLIENTS = Number(process.env.BENCH_INGEST_CLIENTS ?? 4);
/** Rows per case: multiples of ingest.maxBufferRows (200K), so the last buffer seals by size, not age. */
const ROWS_BY_BATCH: Record<number, number> = {
  10000: Number(process.env.BENCH_INGEST_ROWS_10K ?? 2_000_000),
  1000: Number(process.env.BENCH_INGEST_ROWS_1K ?? 600_000),
};
const BATCHES = [10_000, 1_000];
const WARM_ROWS = 200_000;
const BASELINE_REPEATS = 3;
const QUERYABLE_TIMEOUT_MS = 180_000;

type Mode = 'buffered' | 'wal';
type FormatKey = 'msgpack-columnar' | 'msgpack-rows' | 'line-protocol' | 'arrow';

interface Format {
  key: FormatKey;
  label: string;
  short: string;
  path: (table: string) => string;
  headers: Record<string, string>;
  build: (table: string, from: number, to: number) => Uint8Array;
}

function msgpackColumnar(table: string, from: number, to: number): Uint8Array {
  return pack({ m: table, columns: columnsOf(from, to), tags: TAGS });
}

function msgpackRows(table: string, from: number, to: number): Uint8Array {
  return pack(
    range(from, to, (i) => ({
      m: table,
      t: BigInt(timeMs(i)),
      tags: { host: host(i), region: region(i) },
      fields: {
        usage_user: usageUser(i),
        usage_system: usageSystem(i),
        usage_idle: usageIdle(i),
        procs: procs(i),
        up: up(i),
      },
    })),
  );
}

function lineProtocol(table: string, from: number, to: number): Uint8Array {
  const lines = range(
    from,
    to,
    (i) =>
      `${table},host=${host(i)},region=${region(i)} usage_user=${usageUser(i)},usage_system=${usageSystem(i)},` +
      `usage_idle=${usageIdle(i)},procs=${procs(i)}i,up=${up(i)} ${timeMs(i)}000000`,
  );
  return Buffer.from(`${lines.join('\n')}\n`);
}

function arrowTable(from: number, to: number): Table {
  const rows = to - from;
  const time = new BigInt64Array(rows);
  for (let i = 0; i < rows; i++) time[i] = BigInt(timeMs(from + i) * 1000);
  const floats = (f: (i: number) => number) => Float64Array.from({ length: rows }, (_, i) => f(from + i));
  const bits = new Uint8Array((rows + 7) >> 3);
  for (let i = 0; i < rows; i++) if (up(from + i)) bits[i >> 3]! |= 1 << (i & 7);
  const strings = (f: (i: number) => string): Data =>
    vectorFromArray(range(from, to, f), new Utf8()).data[0]!;
  const fields = [
    new Field('time', new TimestampMicrosecond(), false),
    new Field('host', new Utf8(), false),
    new Field('region', new Utf8(), false),
    new Field('usage_user', new Float64(), false),
    new Field('usage_system', new Float64(), false),
    new Field('usage_idle', new Float64(), false),
    new Field('procs', new Int64(), false),
    new Field('up', new Bool(), false),
  ];
  const children = [
    makeData({ type: new TimestampMicrosecond(), length: rows, data: time }),
    strings(host),
    strings(region),
    makeData({ type: new Float64(), length: rows, data: floats(usageUser) }),
    makeData({ type: new Float64(), length: rows, data: floats(usageSystem) }),
    makeData({ type: new Float64(), length: rows, data: floats(usageIdle) }),
    makeData({
      type: new Int64(),
      length: rows,
      data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(procs(from + i))),
    }),
    makeData({ type: new Bool(), length: rows, data: bits }),
  ];
  const schema = new Schema(fields);
  return new Table(
    schema,
    new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows, nullCount: 0, children })),
  );
}

const FORMATS: Format[] = [
  {
    key: 'msgpack-columnar',
    label: 'MessagePack columnar',
    short: 'mpc',
    path: () => '/api/v1/write/msgpack',
    headers: { 'content-type': 'application/msgpack' },
    build: msgpackColumnar,
  },
  {
    key: 'msgpack-rows',
    label: 'MessagePack rows',
    short: 'mpr',
    path: () => '/api/v1/write/msgpack',
    headers: { 'content-type': 'application/msgpack' },
    build: msgpackRows,
  },
  {
    key: 'line-protocol',
    label: 'line protocol',
    short: 'lp',
    path: () => '/api/v1/write/line-protocol?precision=ns',
    headers: { 'content-type': 'text/plain' },
    build: lineProtocol,
  },
  {
    key: 'arrow',
    label: 'Arrow IPC',
    short: 'arrow',
    path: (table) => `/api/v1/write/arrow?table=${table}`,
    headers: { 'content-type': 'application/vnd.apache.arrow.stream', 'x-weir-tags': 'host,region' },
    build: (_table, from, to) => tableToIPC(arrowTable(from, to), 'stream'),
  },
];

function bodies(format: Format, table: string, rows: number, batch: number): Uint8Array[] {
  return Array.from({ length: Math.ceil(rows / batch) }, (_, b) =>
    format.build(table, b * batch, Math.min(rows, (b + 1) * batch)),
  );
}

// ---------------------------------------------------------------------------------------------
// Memory: peak RSS from /proc (VmHWM), reset per case through clear_refs.

function statusKiB(pid: number | 'self', field: 'VmHWM' | 'VmRSS'): number {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(
      new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'),
    );
    return match ? Number(match[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function resetPeak(pid: number | 'self'): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not allowed here: VmHWM then is the peak since the process started.
  }
}

/** CPU seconds (user + system, all threads) the process has used so far. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const mib = (kib: number) => (Number.isNaN(kib) ? 'n/a' : `${Math.round(kib / 1024)} MiB`);

// ---------------------------------------------------------------------------------------------
// One `weir serve` per durability mode.

interface Server extends BenchServer {
  mode: Mode;
  catalogs: TenantCatalogs;
  store: LocalObjectStore;
  /** RSS right after the start, before any write. */
  startKiB: number;
}

/** Extra server settings for diagnostics, e.g. `WEIR_INGEST_MAX_BUFFER_ROWS=4000000` (default: none). */
const serverEnv = Object.fromEntries(
  (process.env.BENCH_INGEST_SERVER_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);

async function startServer(mode: Mode): Promise<Server> {
  const server = await startBenchServer({
    name: `weir-bench-ingest-${mode}`,
    env: { WEIR_INGEST_DURABILITY: mode, ...serverEnv },
    nodeArgs: process.env.BENCH_INGEST_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
    maxSockets: CLIENTS,
  });
  const store = new LocalObjectStore(join(server.dataDir, 'objects'));
  return {
    ...server,
    mode,
    store,
    catalogs: new TenantCatalogs(store),
    startKiB: statusKiB(server.pid, 'VmRSS'),
  };
}

async function stopServer(server: Server): Promise<void> {
  await server.store.close();
  await stopBenchServer(server);
}

interface Response {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

async function post(server: Server, path: string, headers: Record<string, string>, body: Uint8Array) {
  const res = await postTo(server, path, headers, body);
  return {
    status: res.status,
    retryAfter: res.headers['retry-after'] as string | undefined,
    body: res.body.toString('utf8'),
  } satisfies Response;
}

interface Sent {
  ms: number;
  throttled: number;
  throttledMs: number;
}

/** CLIENTS concurrent loops take the next body until none is left; a 429 waits Retry-After and resends. */
async function send(server: Server, format: Format, table: string, list: Uint8Array[]): Promise<Sent> {
  const path = format.path(table);
  let next = 0;
  let throttled = 0;
  let throttledMs = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < list.length; i = next++) {
        for (;;) {
          const res = await post(server, path, format.headers, list[i]!);
          if (res.status === 204 || res.status === 200) break;
          if (res.status !== 429)
            throw new Error(`${format.label} → ${server.mode}: HTTP ${res.status} ${res.body.slice(0, 500)}`);
          throttled++;
          const waitMs = 1000 * (Number(res.retryAfter) || 1);
          throttledMs += waitMs;
          await new Promise((r) => setTimeout(r, waitMs));
        }
      }
    }),
  );
  return { ms: performance.now() - started, throttled, throttledMs };
}

async function committedRows(server: Server, table: string): Promise<number> {
  const state = await server.catalogs.forTenant('default').refresh();
  return state.tables.get(`default.${table}`)?.rowCount ?? 0;
}

/** Milliseconds from `started` until the table holds `rows` committed rows. */
async function untilQueryable(server: Server, table: string, rows: number, started: number): Promise<number> {
  for (;;) {
    const committed = await committedRows(server, table);
    if (committed >= rows) {
      if (committed > rows) throw new Error(`${server.mode}: ${table} holds ${committed} rows, sent ${rows}`);
      return performance.now() - started;
    }
    if (performance.now() - started > QUERYABLE_TIMEOUT_MS)
      throw new Error(
        `${server.mode}: ${table} holds ${committed} of ${rows} rows after ${QUERYABLE_TIMEOUT_MS} ms`,
      );
    if (server.proc.child.exitCode !== null)
      throw new Error(`${server.mode} server exited:\n${server.proc.stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The WAL's grouped fdatasync totals from the server's /metrics (zero in buffered mode). */
interface WalSyncTotals {
  rounds: number;
  seconds: number;
  writes: number;
}

async function walSyncTotals(server: Server): Promise<WalSyncTotals> {
  const text = await (await fetch(`http://${server.host}:${server.port}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    rounds: value('weir_ingest_wal_sync_seconds_count'),
    seconds: value('weir_ingest_wal_sync_seconds_sum'),
    writes: value('weir_ingest_wal_sync_group_size_sum'),
  };
}

interface CaseResult {
  format: Format;
  batch: number;
  mode: Mode;
  rows: number;
  requests: number;
  bodyBytes: number;
  sent: Sent;
  queryableMs: number;
  /** Server CPU seconds until the last 204, and until queryable. */
  serverCpu: number;
  serverCpuQueryable: number;
  /** This process's CPU seconds until the last 204 (the clients). */
  clientCpu: number;
  serverPeakKiB: number;
  redisPeakKiB: number;
  /** The WAL's fdatasync rounds while the requests were sent. */
  walSync: WalSyncTotals;
}

async function runCase(
  server: Server,
  format: Format,
  table: string,
  batch: number,
  list: Uint8Array[],
  rows: number,
): Promise<CaseResult> {
  globalThis.gc?.();
  resetPeak(server.pid);
  if (server.redisPid) resetPeak(server.redisPid);
  const syncsBefore = await walSyncTotals(server);
  const cpu = cpuSeconds(server.pid);
  const clientCpu = process.cpuUsage();
  const started = performance.now();
  const sent = await send(server, format, table, list);
  const serverCpu = cpuSeconds(server.pid) - cpu;
  const syncsAfter = await walSyncTotals(server);
  const { user, system } = process.cpuUsage(clientCpu);
  const queryableMs = await untilQueryable(server, table, rows, started);
  const serverCpuQueryable = cpuSeconds(server.pid) - cpu;
  return {
    format,
    batch,
    mode: server.mode,
    rows,
    requests: list.length,
    bodyBytes: list.reduce((sum, b) => sum + b.byteLength, 0),
    sent,
    queryableMs,
    serverCpu,
    serverCpuQueryable,
    clientCpu: (user + system) / 1e6,
    serverPeakKiB: statusKiB(server.pid, 'VmHWM'),
    redisPeakKiB: server.redisPid ? statusKiB(server.redisPid, 'VmHWM') : Number.NaN,
    walSync: {
      rounds: syncsAfter.rounds - syncsBefore.rounds,
      seconds: syncsAfter.seconds - syncsBefore.seconds,
      writes: syncsAfter.writes - syncsBefore.writes,
    },
  };
}

// ---------------------------------------------------------------------------------------------

const selected = process.env.BENCH_INGEST_FORMATS?.split(',');
const formats = FORMATS.filter((f) => !selected || selected.includes(f.key));
const maxRows = Math.max(...Object.values(ROWS_BY_BATCH));
const runStarted = performance.now();

// Baseline first, with the servers not yet started: the same rows as one Arrow table → Parquet.
function measureBaseline(): { ms: number; bytes: number } {
  const table = arrowTable(0, maxRows);
  writeParquet(arrowTable(0, 100_000)); // warm-up: wasm compile, allocator
  const runs: number[] = [];
  let bytes = 0;
  for (let r = 0; r < BASELINE_REPEATS; r++) {
    const start = performance.now();
    bytes = writeParquet(table).byteLength;
    runs.push(performance.now() - start);
  }
  return { ms: median(runs), bytes };
}
const { ms: baselineMs, bytes: parquetBytes } = measureBaseline();
const baseline = maxRows / (baselineMs / 1000);

resetPeak('self');
const servers: Server[] = [];
const results: CaseResult[] = [];
try {
  for (const mode of MODES) servers.push(await startServer(mode));
  // Warm-up per server: every format once (JIT, first schema commits, DuckDB's first flush).
  for (const format of formats) {
    const table = `warm_${format.short}`;
    const list = bodies(format, table, WARM_ROWS, 10_000);
    for (const server of servers) {
      const started = performance.now();
      await send(server, format, table, list);
      await untilQueryable(server, table, WARM_ROWS, started);
    }
  }
  let order = 0;
  for (const format of formats) {
    for (const batch of BATCHES) {
      const rows = ROWS_BY_BATCH[batch]!;
      const table = `${format.short}_${batch / 1000}k`;
      const list = bodies(format, table, rows, batch);
      // Alternate which mode goes first, so neither always follows the body building.
      const turn = order++ % 2 === 0 ? servers : [...servers].reverse();
      for (const server of turn) results.push(await runCase(server, format, table, batch, list, rows));
    }
  }
} finally {
  for (const server of servers) {
    const warnings = server.proc.stdout.filter((line) => line.startsWith('{'));
    if (warnings.length > 0)
      console.error(`${server.mode} server logged ${warnings.length} warnings; first:\n${warnings[0]}`);
  }
  await Promise.all(servers.map(stopServer));
}
const benchPeakKiB = statusKiB('self', 'VmHWM');
const totalS = (performance.now() - runStarted) / 1000;

// ---------------------------------------------------------------------------------------------
// Output.

const rate = (rows: number, ms: number) => rows / (ms / 1000);
const num = (v: number) => Math.round(v).toLocaleString('en-US');
const find = (key: FormatKey, batch: number, mode: Mode) =>
  results.find((r) => r.format.key === key && r.batch === batch && r.mode === mode);

console.log(
  `\nWeir ingest benchmark — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ` +
    `${CLIENTS} concurrent keep-alive clients, 2 tags (200 series) + 5 fields per row\n` +
    'Figures are noisy: the servers, their workers and these clients share 2 cores, and other ' +
    'engineers may be running tests at the same time. "Until queryable" runs from the first request to ' +
    'the commit of the last row (catalog rowCount); rows per case are multiples of ingest.maxBufferRows ' +
    '(200K), so buffers seal by size, not by the 5 s age. Server CPU is user + system of all its threads ' +
    '(the API process only: its worker child process, which runs the flushes, and the private redis-server are excluded).\n',
);
const header = [
  'format',
  'batch',
  'mode',
  'rows/s until 204',
  '× baseline',
  'rows/s until queryable',
  'server CPU s 204 / queryable',
  'rows per server CPU s',
  'client CPU s',
  '429s',
  'server peak RSS',
  'rows × requests',
];
const lines = results.map((r) => [
  r.format.label,
  `${r.batch / 1000}K`,
  r.mode,
  num(rate(r.rows, r.sent.ms)),
  fmt.ratio(rate(r.rows, r.sent.ms) / baseline),
  `${num(rate(r.rows, r.queryableMs))} (${(r.queryableMs / 1000).toFixed(1)} s)`,
  `${r.serverCpu.toFixed(1)} / ${r.serverCpuQueryable.toFixed(1)}`,
  num(r.rows / r.serverCpu),
  r.clientCpu.toFixed(1),
  r.sent.throttled === 0 ? '0' : `${r.sent.throttled} (${(r.sent.throttledMs / 1000).toFixed(0)} s waited)`,
  mib(r.serverPeakKiB),
  `${num(r.rows)} in ${r.requests} × ${(r.bodyBytes / r.requests / 1024).toFixed(0)} KiB`,
]);
const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
const numeric = new Set([3, 4, 5, 6, 7, 8, 9, 10]);
for (const line of [header, ...lines])
  console.log(
    line.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  '),
  );
console.log('');

const rows: [string, string, string?][] = [
  [
    'baseline: Arrow table → Parquet (writeParquet, ZSTD)',
    fmt.rate(baseline, 'rows'),
    `${num(maxRows)} rows, median of ${BASELINE_REPEATS}: ${fmt.ms(baselineMs)}; ${(parquetBytes / 2 ** 20).toFixed(1)} MiB; no HTTP`,
  ],
];
for (const format of formats) {
  for (const batch of BATCHES) {
    const wal = find(format.key, batch, 'wal');
    const buffered = find(format.key, batch, 'buffered');
    if (!wal || !buffered) continue;
    const syncs = wal.walSync;
    rows.push([
      `wal / buffered, ${format.label}, ${batch / 1000}K batches`,
      fmt.ratio(rate(wal.rows, wal.sent.ms) / rate(buffered.rows, buffered.sent.ms)),
      `until queryable: ${fmt.ratio(rate(wal.rows, wal.queryableMs) / rate(buffered.rows, buffered.queryableMs))}; ` +
        `${num(syncs.rounds)} fdatasync rounds, mean ${((syncs.seconds / syncs.rounds) * 1000).toFixed(2)} ms, ` +
        `${(syncs.writes / syncs.rounds).toFixed(1)} writes each (weir_ingest_wal_sync_*)`,
    ]);
  }
}
for (const server of servers)
  rows.push([`${server.mode} server RSS after start`, mib(server.startKiB), 'before any write']);
rows.push([
  'private redis-server peak RSS (largest of any case)',
  mib(Math.max(...results.map((r) => r.redisPeakKiB))),
  'a separate process, not in the server figures',
]);
rows.push([
  'bench process peak RSS (clients + prebuilt bodies)',
  mib(benchPeakKiB),
  'the servers are separate processes, above',
]);
rows.push(['whole run', `${totalS.toFixed(0)} s`]);
report(rows);
console.log('');

/** One line per throughput target: every mode and batch size of the format, met by its best. */
function throughputVerdict(key: FormatKey, label: string, target: number): [string, string, string?] {
  const cases = results.filter((r) => r.format.key === key);
  if (cases.length === 0) return [`target: ${label} ≥ ${num(target)} rows/s`, 'not measured'];
  const figures = cases.map((r) => ({ r, v: rate(r.rows, r.sent.ms) }));
  const detail = figures.map(({ r, v }) => `${num(v)} (${r.batch / 1000}K, ${r.mode})`).join(', ');
  const met = figures.filter(({ v }) => v >= target);
  const verdict =
    met.length === figures.length
      ? 'met'
      : met.length === 0
        ? 'NOT MET'
        : `met in ${met.length} of ${figures.length} cases`;
  return [`target: ${label} ≥ ${num(target)} rows/s until 204`, verdict, detail];
}

const walRatios = formats.flatMap((format) =>
  BATCHES.flatMap((batch) => {
    const wal = find(format.key, batch, 'wal');
    const buffered = find(format.key, batch, 'buffered');
    if (!wal || !buffered) return [];
    const ratio = rate(wal.rows, wal.sent.ms) / rate(buffered.rows, buffered.sent.ms);
    return [{ label: `${format.label} ${batch / 1000}K`, ratio }];
  }),
);
const walMet = walRatios.filter((w) => w.ratio >= 0.7);
report([
  throughputVerdict('msgpack-columnar', 'MessagePack columnar', 1_000_000),
  throughputVerdict('line-protocol', 'line protocol', 400_000),
  throughputVerdict('arrow', 'Arrow IPC', 3_000_000),
  [
    'target: wal ≥ 70% of buffered (rows/s until 204)',
    walRatios.length === 0
      ? 'not measured'
      : walMet.length === walRatios.length
        ? 'met'
        : walMet.length === 0
          ? 'NOT MET'
          : `met in ${walMet.length} of ${walRatios.length} cases`,
    walRatios.map((w) => `${w.label} ${fmt.ratio(w.ratio)}`).join(', '),
  ],
]);
