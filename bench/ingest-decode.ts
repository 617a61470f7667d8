/**
 * Decoder benchmark: rows/s for decoding 10K-row bodies of each write format to TableBatches. Prints
 * figures; never passes or fails on time.
 *   npx tsx bench/ingest-decode.ts
 * Targets on 2 cores (the decoders sit in front of HTTP, which costs its share): line protocol
 * ≥ 600K rows/s, MessagePack columnar ≥ 2M rows/s, Arrow IPC ≥ 5M rows/s.
 */
import { performance } from 'node:perf_hooks';
import {
  Bool,
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampNanosecond,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { pack } from 'msgpackr';
import { DEFAULT_DECODE_LIMITS, type DecodeContext } from '../services/ingest/batch.js';
import {
  decodeArrowIpc,
  decodeJson,
  decodeLineProtocol,
  decodeMsgpack,
} from '../services/ingest/decode/index.js';
import { fmt, median, report } from './stats.js';

const ROWS = 10_000;
const REPEATS = 200;
const START_NS = 1_700_000_000_000_000_000n;
const ctx: DecodeContext = {
  database: 'bench',
  nowMicros: 1_700_000_000_000_000n,
  limits: DEFAULT_DECODE_LIMITS,
};

const hosts = Array.from({ length: 100 }, (_, i) => `server${String(i).padStart(3, '0')}`);
const regions = ['us-east-1', 'us-west-2', 'eu-central-1', 'ap-south-1'];
const host = (i: number) => hosts[i % hosts.length]!;
const region = (i: number) => regions[(i >> 3) % regions.length]!;
// Full-precision floats, as Telegraf and most SDKs print them (16-17 significant digits).
const usage = (i: number, k: number) => ((i * 7919 + k * 104729) % 10_000) / 97;

function lineProtocolBody(): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    lines.push(
      `cpu,host=${host(i)},region=${region(i)},dc=dc${i % 3},env=prod ` +
        `usage_user=${usage(i, 1)},usage_system=${usage(i, 2)},usage_idle=${usage(i, 3)},` +
        `load1=${usage(i, 4)},procs=${100 + (i % 300)}i,up=true ${START_NS + BigInt(i) * 1_000_000n}`,
    );
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

function msgpackColumnarBody(): Buffer {
  const columns = {
    time: Array.from({ length: ROWS }, (_, i) => 1_700_000_000_000n + BigInt(i)),
    host: Array.from({ length: ROWS }, (_, i) => host(i)),
    region: Array.from({ length: ROWS }, (_, i) => region(i)),
    usage_user: Array.from({ length: ROWS }, (_, i) => usage(i, 1) + 0.5),
    usage_system: Array.from({ length: ROWS }, (_, i) => usage(i, 2) + 0.5),
    usage_idle: Array.from({ length: ROWS }, (_, i) => usage(i, 3) + 0.5),
    load1: Array.from({ length: ROWS }, (_, i) => usage(i, 4) + 0.5),
    procs: Array.from({ length: ROWS }, (_, i) => 100 + (i % 300)),
  };
  return pack({ m: 'cpu', columns, tags: ['host', 'region'] });
}

function msgpackRowsBody(): Buffer {
  const batch = Array.from({ length: ROWS }, (_, i) => ({
    m: 'cpu',
    t: 1_700_000_000_000n + BigInt(i),
    h: host(i),
    tags: { region: region(i) },
    fields: {
      usage_user: usage(i, 1) + 0.5,
      usage_system: usage(i, 2) + 0.5,
      usage_idle: usage(i, 3) + 0.5,
      load1: usage(i, 4) + 0.5,
      procs: 100 + (i % 300),
    },
  }));
  return pack({ batch });
}

/** Times in milliseconds, or in nanoseconds (past 2^53: the exact-integer path). */
function jsonColumnarBody(nanoseconds: boolean): Buffer {
  const time = nanoseconds
    ? Array.from({ length: ROWS }, (_, i) => `${START_NS + BigInt(i)}`)
    : Array.from({ length: ROWS }, (_, i) => 1_700_000_000_000 + i);
  const columns = {
    time: '@TIME@',
    host: Array.from({ length: ROWS }, (_, i) => host(i)),
    region: Array.from({ length: ROWS }, (_, i) => region(i)),
    usage_user: Array.from({ length: ROWS }, (_, i) => usage(i, 1) + 0.5),
    usage_idle: Array.from({ length: ROWS }, (_, i) => usage(i, 3) + 0.5),
    procs: Array.from({ length: ROWS }, (_, i) => 100 + (i % 300)),
  };
  const text = JSON.stringify({ m: 'cpu', columns, tags: ['host', 'region'] });
  return Buffer.from(text.replace('"@TIME@"', `[${time.join(',')}]`));
}

function arrowBody(): Uint8Array {
  const time = new BigInt64Array(ROWS);
  for (let i = 0; i < ROWS; i++) time[i] = START_NS + BigInt(i) * 1_000_000n;
  const floats = (k: number) => Float64Array.from({ length: ROWS }, (_, i) => usage(i, k) + 0.5);
  const hostVector = vectorFromArray(
    Array.from({ length: ROWS }, (_, i) => host(i)),
    new Dictionary(new Utf8(), new Int32()),
  );
  const regionVector = vectorFromArray(
    Array.from({ length: ROWS }, (_, i) => region(i)),
    new Utf8(),
  );
  const children = [
    makeData({ type: new TimestampNanosecond(), data: time }),
    hostVector.data[0]!,
    regionVector.data[0]!,
    makeData({ type: new Float64(), data: floats(1) }),
    makeData({ type: new Float64(), data: floats(2) }),
    makeData({ type: new Float64(), data: floats(3) }),
    makeData({ type: new Float64(), data: floats(4) }),
    makeData({ type: new Int64(), data: BigInt64Array.from({ length: ROWS }, (_, i) => BigInt(i)) }),
    makeData({ type: new Bool(), data: new Uint8Array(Math.ceil(ROWS / 8)).fill(0xaa), length: ROWS }),
  ];
  const fields = [
    new Field('time', new TimestampNanosecond(), false),
    new Field('host', hostVector.type, false),
    new Field('region', new Utf8(), false),
    new Field('usage_user', new Float64(), false),
    new Field('usage_system', new Float64(), false),
    new Field('usage_idle', new Float64(), false),
    new Field('load1', new Float64(), false),
    new Field('seq', new Int64(), false),
    new Field('up', new Bool(), false),
  ];
  const schema = new Schema(fields);
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct(fields), length: ROWS, nullCount: 0, children }),
  );
  return tableToIPC(new Table(schema, batch), 'stream');
}

function measure(decode: () => unknown): number {
  for (let i = 0; i < 20; i++) decode();
  const samples: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    decode();
    samples.push(performance.now() - start);
  }
  return ROWS / (median(samples) / 1000);
}

const lp = lineProtocolBody();
const columnar = msgpackColumnarBody();
const rows = msgpackRowsBody();
const json = jsonColumnarBody(false);
const jsonNs = jsonColumnarBody(true);
const arrow = arrowBody();

report([
  [
    'line protocol (4 tags + 6 fields)',
    fmt.rate(
      measure(() => decodeLineProtocol(lp, ctx)),
      'rows',
    ),
    `${lp.length} B`,
  ],
  [
    'msgpack columnar (2 tags + 5 fields)',
    fmt.rate(
      measure(() => decodeMsgpack(columnar, ctx)),
      'rows',
    ),
    `${columnar.length} B`,
  ],
  [
    'msgpack rows (2 tags + 5 fields)',
    fmt.rate(
      measure(() => decodeMsgpack(rows, ctx)),
      'rows',
    ),
    `${rows.length} B`,
  ],
  [
    'json columnar, ms times (2 tags + 3 fields)',
    fmt.rate(
      measure(() => decodeJson(json, ctx)),
      'rows',
    ),
    `${json.length} B`,
  ],
  [
    'json columnar, ns times (2 tags + 3 fields)',
    fmt.rate(
      measure(() => decodeJson(jsonNs, ctx)),
      'rows',
    ),
    `${jsonNs.length} B`,
  ],
  [
    'arrow ipc (2 tags + 6 fields)',
    fmt.rate(
      measure(() => decodeArrowIpc(arrow, { ...ctx, table: 'cpu' })),
      'rows',
    ),
    `${arrow.length} B`,
  ],
]);
