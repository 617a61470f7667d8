/**
 * Client SDK benchmark (issue 7): the buffered writer's throughput against a real local
 * `weir serve` (durability `buffered`), next to raw HTTP posts of the same rows as prebuilt
 * MessagePack columnar bodies (what `bench/ingest.ts` measures), in the same run on the same server.
 * The writers get their rows as an application would, 1,000 at a time; every figure runs until the
 * server acknowledged the last row (204), and the table's row count is checked once everything
 * has been committed.
 *
 *   npm run bench:client
 *   BENCH_CLIENT_ROWS=400000 npm run bench:client      # a quick run
 */
import { performance } from 'node:perf_hooks';
import { pack } from 'msgpackr';
import { type Compression, WeirClient } from '../sdk/index.js';
import { columnsOf, TAGS } from './ingest-rows.js';
import { fmt, report } from './stats.js';
import { type BenchServer, postTo, startBenchServer, stopBenchServer } from './weir-server.js';

const ROWS = Number(process.env.BENCH_CLIENT_ROWS ?? 2_000_000);
const CLIENTS = Number(process.env.BENCH_CLIENT_CLIENTS ?? 4);
const BATCH = 10_000;
/** Rows per `writeColumnar` call of the writers: what an application hands over at a time. */
const CALL_ROWS = 1_000;
const COMMIT_TIMEOUT_MS = 180_000;

interface Case {
  label: string;
  table: string;
  clients: number;
  run: (server: BenchServer, table: string, clients: number) => Promise<void>;
}

/** `clients` loops take the next prebuilt 10K-row body until none is left. */
async function rawHttp(server: BenchServer, table: string, clients: number): Promise<void> {
  const bodies: Uint8Array[] = [];
  for (let from = 0; from < ROWS; from += BATCH)
    bodies.push(pack({ m: table, columns: columnsOf(from, Math.min(ROWS, from + BATCH)), tags: TAGS }));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const res = await postTo(
          server,
          '/api/v1/write/msgpack',
          { 'content-type': 'application/msgpack' },
          bodies[i]!,
        );
        if (res.status !== 204)
          throw new Error(`raw HTTP: ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
      }
    }),
  );
  timings.set(table, performance.now() - started);
}

/** `clients` buffered writers, each writing its share of the rows 1,000 at a time, then closing. */
const sdkWriters =
  (compression: Compression) => async (server: BenchServer, table: string, clients: number) => {
    const share = Math.ceil(ROWS / clients);
    // Inputs prepared beforehand, as for raw HTTP: the figure is the SDK's work, not the generator's.
    const inputs = Array.from({ length: clients }, (_, c) => {
      const calls = [];
      for (let from = c * share; from < Math.min(ROWS, (c + 1) * share); from += CALL_ROWS)
        calls.push({
          table,
          columns: columnsOf(from, Math.min(ROWS, from + CALL_ROWS, (c + 1) * share)),
          tags: TAGS,
        });
      return calls;
    });
    const started = performance.now();
    await Promise.all(
      inputs.map(async (calls) => {
        const client = new WeirClient({
          url: `http://${server.host}:${server.port}`,
          token: server.token,
          compression,
        });
        const writer = client.bufferedWriter({ batchSize: BATCH, flushInterval: 1_000 });
        for (const input of calls) await writer.writeColumnar(input);
        await writer.close();
        const { failedRows } = writer.stats;
        if (failedRows > 0) throw new Error(`the buffered writer gave up on ${failedRows} rows`);
      }),
    );
    timings.set(table, performance.now() - started);
  };

const timings = new Map<string, number>();

const CASES: Case[] = [
  {
    label: `raw HTTP, MessagePack columnar, 10K-row bodies, ${CLIENTS} clients`,
    table: 'raw_many',
    clients: CLIENTS,
    run: rawHttp,
  },
  {
    label: `SDK buffered writer, no compression, ${CLIENTS} writers`,
    table: 'sdk_many',
    clients: CLIENTS,
    run: sdkWriters('none'),
  },
  {
    label: `SDK buffered writer, gzip, ${CLIENTS} writers`,
    table: 'sdk_gzip_many',
    clients: CLIENTS,
    run: sdkWriters('gzip'),
  },
  {
    label: 'raw HTTP, MessagePack columnar, 10K-row bodies, 1 client',
    table: 'raw_one',
    clients: 1,
    run: rawHttp,
  },
  {
    label: 'SDK buffered writer, no compression, 1 writer',
    table: 'sdk_one',
    clients: 1,
    run: sdkWriters('none'),
  },
];

async function committedRows(client: WeirClient, table: string): Promise<number> {
  const answer = await client.query(`SELECT count(*) AS n FROM ${table}`);
  return Number(answer.data[0]?.[0] ?? 0);
}

const server = await startBenchServer({ name: 'weir-bench-client', maxSockets: CLIENTS });
try {
  const admin = new WeirClient({ url: `http://${server.host}:${server.port}`, token: server.token });
  // Warm-up: the server's first requests compile its routes and open the table.
  await sdkWriters('none')(server, 'warm', 1);
  for (const c of CASES) {
    process.stderr.write(`measuring ${c.label}…\n`);
    await c.run(server, c.table, c.clients);
  }
  // Every row exactly once, once the flushes have committed.
  const deadline = Date.now() + COMMIT_TIMEOUT_MS;
  for (const c of CASES) {
    for (
      let rows = await committedRows(admin, c.table);
      rows !== ROWS;
      rows = await committedRows(admin, c.table)
    ) {
      if (rows > ROWS) throw new Error(`${c.table} holds ${rows} rows, ${ROWS} were written`);
      if (Date.now() > deadline)
        throw new Error(`${c.table} holds ${rows} of ${ROWS} rows after ${COMMIT_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
} finally {
  await stopBenchServer(server);
}

const rate = (table: string) => ROWS / (timings.get(table)! / 1000);
console.log(
  `\nWeir client benchmark — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ` +
    `${ROWS.toLocaleString('en-US')} rows per case (2 tags, 5 fields), one \`weir serve\` (buffered), rows/s until the last 204\n`,
);
report(
  CASES.map((c) => {
    const raw = c.clients === 1 ? 'raw_one' : 'raw_many';
    return [
      c.label,
      fmt.rate(rate(c.table), 'rows'),
      c.table === raw ? 'baseline' : `${fmt.ratio(rate(c.table) / rate(raw))} raw HTTP`,
    ];
  }),
);
