/**
 * Every way a body can be refused, across formats: each case asserts the status, the code and that the
 * message names the culprit (table, column, row or line, value, limit).
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import {
  Field as ArrowField,
  Binary,
  Date_,
  DateUnit,
  Float32,
  Float64,
  Int64,
  List,
  TimestampMillisecond,
  Uint64,
  Utf8,
} from 'apache-arrow';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { DecodeContext } from '../../../services/ingest/batch.js';
import {
  decodeArrowIpc,
  decodeBody,
  decodeJson,
  decodeLineProtocol,
  decodeMsgpack,
} from '../../../services/ingest/decode/index.js';
import {
  arrowColumn,
  arrowTimes,
  context,
  dictionaryColumn,
  type Expected,
  expectError,
  ipc,
  rawUtf8,
} from './helpers.js';

const small: DecodeContext = context({ limits: { maxTagBytes: 8, maxStringFieldBytes: 16, maxColumns: 3 } });
const msgpack =
  (value: unknown, ctx = context()) =>
  () =>
    decodeMsgpack(pack(value), ctx);
const json = (text: string) => () => decodeJson(Buffer.from(text), context());
const lp =
  (text: string | Buffer, ctx: DecodeContext & { precision?: string } = context()) =>
  () =>
    decodeLineProtocol(Buffer.from(text), ctx);
/** Line protocol text with raw bytes between its parts. */
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));
const arrow =
  (body: Uint8Array, extra: { tags?: string[]; table?: string } = {}) =>
  () =>
    decodeArrowIpc(body, { ...context(), table: 'cpu', ...extra });
const body =
  (bytes: Buffer, max = 1 << 20, contentEncoding?: string) =>
  () =>
    decodeBody(bytes, { maxDecompressedBytes: max, ...(contentEncoding ? { contentEncoding } : {}) });

const bad = (status: number, code: string, ...names: string[]): Expected => ({ status, code, names });
const good = 'cpu,host=a v=1 1700000000000000000\n';
const zstdFixture = readFileSync(new URL('./fixtures/lines.txt.zst', import.meta.url));
const arrowOk = ipc([
  arrowTimes(new TimestampMillisecond(), [1n, 2n]),
  arrowColumn('v', [1, 2], new Float64()),
]);

function rleFrame(blocks: number): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])];
  for (let i = 0; i < blocks; i++) {
    const h = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (131072 << 3);
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0]));
  }
  return Buffer.concat(parts);
}

/** A map with an own key `__proto__` (an object literal would set its prototype instead). */
const withProto = (value: unknown, rest: Record<string, unknown> = {}) =>
  Object.defineProperty({ ...rest }, '__proto__', { value, enumerable: true });
const protoRefused = bad(400, 'INVALID_NAME', 'invalid column name "__proto__" in table cpu');

const CASES: [string, () => unknown, Expected][] = [
  // Bodies and compression
  ['empty body', body(Buffer.alloc(0)), bad(400, 'EMPTY_BODY', 'empty')],
  ['gzip of nothing', body(gzipSync(Buffer.alloc(0))), bad(400, 'EMPTY_BODY', 'decompresses to nothing')],
  ['truncated gzip', body(gzipSync(good).subarray(0, 15)), bad(400, 'INVALID_COMPRESSED_BODY', 'gzip')],
  [
    'truncated zstd',
    body(zstdFixture.subarray(0, 200)),
    bad(400, 'INVALID_COMPRESSED_BODY', 'zstd', 'truncated'),
  ],
  [
    'zstd with a reserved block type',
    body(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38, 0x07, 0x00, 0x00])),
    bad(400, 'INVALID_COMPRESSED_BODY', 'reserved block type'),
  ],
  ['zstd bomb', body(rleFrame(64), 1 << 20), bad(413, 'PAYLOAD_TOO_LARGE', '1048576 bytes')],
  [
    'plain body over the limit',
    body(Buffer.alloc(2048, 0x41), 1024),
    bad(413, 'PAYLOAD_TOO_LARGE', '1024 bytes'),
  ],
  [
    'unknown Content-Encoding',
    body(Buffer.from(good), 1 << 20, 'br'),
    bad(415, 'UNSUPPORTED_ENCODING', '"br"'),
  ],

  // MessagePack: shape
  [
    'truncated MessagePack',
    () => decodeMsgpack(pack({ m: 'cpu', columns: { v: [1, 2, 3] } }).subarray(0, 12), context()),
    bad(400, 'INVALID_MSGPACK', 'Unexpected end'),
  ],
  ['MessagePack scalar at the top', msgpack(42), bad(400, 'INVALID_MSGPACK', 'not 42')],
  [
    'batch that is not an array',
    msgpack({ batch: 5 }),
    bad(400, 'INVALID_MSGPACK', '"batch" must be an array', 'not 5'),
  ],
  [
    'item that is not a map',
    msgpack([{ m: 'cpu', fields: { v: 1 } }, 'x']),
    bad(400, 'INVALID_MSGPACK', 'item 2: not a map but "x"'),
  ],
  ['non-string m', msgpack({ m: 7, fields: { v: 1 } }), bad(400, 'INVALID_MSGPACK', 'item 1: "m"')],
  [
    'neither columns nor fields',
    msgpack({ m: 'cpu', t: 1 }),
    bad(400, 'INVALID_MSGPACK', 'table "cpu"', 'neither "columns"'),
  ],
  [
    'columns that are not a map',
    msgpack({ m: 'cpu', columns: [1, 2] }),
    bad(400, 'INVALID_MSGPACK', '"columns" is not a map'),
  ],
  [
    'column that is not an array',
    msgpack({ m: 'cpu', columns: { v: 5 } }),
    bad(400, 'INVALID_MSGPACK', 'column v is not an array but 5'),
  ],
  [
    'row without any non-null field',
    msgpack({ m: 'cpu', fields: { v: null } }),
    bad(400, 'INVALID_MSGPACK', 'at least one field'),
  ],
  [
    'tags list naming no column',
    msgpack({ m: 'cpu', columns: { v: [1] }, tags: ['nope'] }),
    bad(400, 'INVALID_MSGPACK', '"nope"'),
  ],

  // MessagePack: columns, values, types
  [
    'unequal column lengths',
    msgpack({ m: 'cpu', columns: { time: [1, 2, 3], usage: [1, 2] } }),
    bad(400, 'COLUMN_LENGTH_MISMATCH', 'table "cpu"', 'usage has 2 values', 'time has 3'),
  ],
  [
    'time column mixing seconds and milliseconds',
    msgpack({ m: 'cpu', columns: { time: [1_700_000_000, 1_700_000_000_000], v: [1, 2] } }),
    bad(
      400,
      'MIXED_TIME_UNITS',
      'item 1 (table "cpu"): row 2: time of table cpu mixes units',
      '1700000000000 (milliseconds) here',
      'but item 1 row 1 is 1700000000 (seconds)',
    ),
  ],
  [
    'rows mixing time units',
    msgpack([
      { m: 'cpu', t: 1_700_000_000_000n, fields: { v: 1 } },
      { m: 'cpu', t: 1_700_000_000_000_000_000n, fields: { v: 1 } },
    ]),
    bad(
      400,
      'MIXED_TIME_UNITS',
      'item 2 (table "cpu"): time of table cpu',
      '(nanoseconds)',
      'but item 1 is 1700000000000 (milliseconds)',
    ),
  ],
  [
    'NaN time',
    msgpack({ m: 'cpu', columns: { time: [1, Number.NaN], v: [1, 2] } }),
    bad(400, 'INVALID_TIME', 'item 1 (table "cpu"): row 2: ', 'NaN'),
  ],
  [
    'Infinity time',
    msgpack({ m: 'cpu', t: Number.POSITIVE_INFINITY, fields: { v: 1 } }),
    bad(400, 'INVALID_TIME', 'Infinity'),
  ],
  [
    'negative time',
    msgpack({ m: 'cpu', columns: { time: [-5], v: [1] } }),
    bad(400, 'INVALID_TIME', 'item 1 (table "cpu"): row 1: ', '-5', 'before 1970'),
  ],
  [
    'time after 2262',
    msgpack({ m: 'cpu', t: 9_300_000_000, fields: { v: 1 } }),
    bad(400, 'INVALID_TIME', '9300000000', '2262-04-11'),
  ],
  [
    'string time in MessagePack',
    msgpack({ m: 'cpu', t: '2024-01-01T00:00:00Z', fields: { v: 1 } }),
    bad(400, 'INVALID_TIME', '"2024-01-01T00:00:00Z"'),
  ],
  [
    'null time in a time column',
    msgpack({ m: 'cpu', columns: { time: [1, null], v: [1, 2] } }),
    bad(400, 'INVALID_TIME', 'item 1 (table "cpu"): row 2: ', 'null'),
  ],
  ['bad table name', msgpack({ m: '1cpu', fields: { v: 1 } }), bad(400, 'INVALID_NAME', '"1cpu"')],
  [
    'bad column name',
    msgpack({ m: 'cpu', columns: { 'bad col': [1] } }),
    bad(400, 'INVALID_NAME', '"bad col"', 'cpu'),
  ],
  [
    'column name too long',
    msgpack({ m: 'cpu', fields: { [`a${'b'.repeat(128)}`]: 1 } }),
    bad(400, 'INVALID_NAME', 'abbbb', 'cpu'),
  ],
  [
    'bad database name',
    msgpack({ m: 'cpu', fields: { v: 1 } }, context({ database: 'bad db' })),
    bad(400, 'INVALID_NAME', '"bad db"'),
  ],
  [
    'a field named time',
    msgpack({ m: 'cpu', fields: { time: 1 } }),
    bad(400, 'DUPLICATE_COLUMN', '"time"', 'cpu'),
  ],
  [
    'h and tag host',
    msgpack({ m: 'cpu', h: 'a', tags: { host: 'b' }, fields: { v: 1 } }),
    bad(400, 'DUPLICATE_COLUMN', 'host', 'cpu'),
  ],
  [
    'a tag and a field of one name',
    msgpack({ m: 'cpu', tags: { v: 'a' }, fields: { v: 1 } }),
    bad(400, 'DUPLICATE_COLUMN', 'column v of table cpu', 'twice'),
  ],
  [
    'column mixing strings and numbers',
    msgpack({ m: 'cpu', columns: { usage: [1, 'high'] } }),
    bad(
      400,
      'TYPE_CONFLICT',
      'usage',
      'cpu',
      'row 2 holds a string ("high")',
      'but row 1 holds a number (1)',
    ),
  ],
  [
    'field changing type across items',
    msgpack([
      { m: 'cpu', fields: { usage: 1 } },
      { m: 'cpu', fields: { usage: 'high' } },
    ]),
    bad(
      400,
      'TYPE_CONFLICT',
      'item 2 (table "cpu")',
      'usage',
      'cpu',
      'string values here but numeric values at item 1',
    ),
  ],
  [
    'a map as a value',
    msgpack({ m: 'cpu', columns: { usage: [{ a: 1 }] } }),
    bad(400, 'INVALID_VALUE', 'row 1: column usage', '<map>'),
  ],
  [
    'binary as a value',
    msgpack({ m: 'cpu', fields: { blob: Buffer.from('ab') } }),
    bad(400, 'INVALID_VALUE', 'blob', '<binary of 2 bytes>'),
  ],
  [
    'NaN as a field value',
    msgpack({ m: 'cpu', columns: { v: [1, Number.NaN] } }),
    bad(400, 'INVALID_VALUE', 'row 2: column v', 'NaN'),
  ],
  [
    'a number as a tag value',
    msgpack({ m: 'cpu', tags: { dc: 3 }, fields: { v: 1 } }),
    bad(400, 'INVALID_VALUE', 'tag dc', '3'),
  ],
  [
    'uint64 beyond int64',
    msgpack({ m: 'cpu', columns: { n: [18_446_744_073_709_551_615n] } }),
    bad(400, 'VALUE_OUT_OF_RANGE', 'item 1 (table "cpu"): row 1: field n', '18446744073709551615'),
  ],
  [
    'tags list naming a numeric column',
    msgpack({ m: 'cpu', columns: { usage: [1] }, tags: ['usage'] }),
    bad(400, 'TYPE_CONFLICT', 'usage', 'tags'),
  ],
  [
    'oversized tag value',
    msgpack({ m: 'cpu', h: 'x'.repeat(9), fields: { v: 1 } }, small),
    bad(400, 'STRING_TOO_LONG', 'tag host', '9 bytes', '8', 'maxTagBytes'),
  ],
  [
    'oversized string field',
    msgpack({ m: 'cpu', fields: { msg: 'é'.repeat(9) } }, small),
    bad(400, 'STRING_TOO_LONG', 'field msg', '18 bytes', '16', 'maxStringFieldBytes'),
  ],
  [
    'too many columns',
    msgpack({ m: 'cpu', columns: { a: [1], b: [1], c: [1], d: [1] } }, small),
    bad(400, 'TOO_MANY_COLUMNS', 'cpu', 'column d', '3', 'maxColumns'),
  ],

  // JSON
  ['invalid JSON', json('{"m": "cpu", "fields": {'), bad(400, 'INVALID_JSON', 'invalid JSON')],
  ['JSON string at the top', json('"cpu"'), bad(400, 'INVALID_JSON', '"cpu"')],
  [
    'JSON bad RFC 3339 time',
    json('{"m":"cpu","t":"2024-13-01T00:00:00Z","fields":{"v":1}}'),
    bad(400, 'INVALID_TIME', '"2024-13-01T00:00:00Z"'),
  ],
  [
    'JSON time without a zone',
    json('{"m":"cpu","columns":{"time":["2024-01-01T00:00:00"],"v":[1]}}'),
    bad(400, 'INVALID_TIME', 'item 1 (table "cpu"): row 1: ', 'with a zone'),
  ],
  ['JSON boolean time', json('{"m":"cpu","t":true,"fields":{"v":1}}'), bad(400, 'INVALID_TIME', 'true')],

  // Line protocol: each names the first bad line
  ['no fields', lp(`${good}cpu,host=a\n`), bad(400, 'INVALID_LINE_PROTOCOL', 'line 2', 'no fields')],
  ['no fields after tags', lp('cpu,host=a \n'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', 'no fields')],
  [
    'not a number',
    lp(`${good}${good}cpu v=abc\n`),
    bad(400, 'INVALID_LINE_PROTOCOL', 'line 3', '"abc"', 'field v'),
  ],
  ['NaN field', lp('cpu v=NaN'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', '"NaN"')],
  ['infinite field', lp('cpu v=1e999'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', '"1e999"')],
  [
    'unterminated string',
    lp('cpu v="abc 1'),
    bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', 'string field v', 'closing quote'),
  ],
  ['junk after a string', lp('cpu v="a"x'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', '"x"', 'field v')],
  [
    'empty tag value',
    lp('cpu,host= v=1'),
    bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', 'tag host', 'empty value'),
  ],
  ['tag without =', lp('cpu,host v=1'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', 'tag key "host"')],
  ['empty tag key', lp('cpu,=a v=1'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', 'empty tag key')],
  ['bad boolean', lp('cpu v=tru'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', '"tru"', 'not a boolean')],
  ['float with i suffix', lp('cpu v=1.5i'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', '"1.5i"', 'integer')],
  [
    'int64 overflow',
    lp('cpu v=9223372036854775808i'),
    bad(400, 'VALUE_OUT_OF_RANGE', 'line 1', '9223372036854775808', 'int64'),
  ],
  [
    'uint64 beyond int64',
    lp('cpu v=18446744073709551615u'),
    bad(400, 'VALUE_OUT_OF_RANGE', 'line 1', '18446744073709551615', 'uint64'),
  ],
  ['negative unsigned', lp('cpu v=-1u'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', '"-1u"', 'unsigned')],
  ['bad timestamp', lp('cpu v=1 12ab'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', '"12ab"', 'timestamp')],
  ['MessagePack field named __proto__', msgpack({ m: 'cpu', fields: withProto(5, { v: 1 }) }), protoRefused],
  [
    'MessagePack column named __proto__',
    msgpack({ m: 'cpu', columns: withProto([5], { time: [1_700_000_000] }) }),
    protoRefused,
  ],
  [
    'MessagePack tag named __proto__',
    msgpack({ m: 'cpu', tags: withProto('a'), fields: { v: 1 } }),
    protoRefused,
  ],
  ['JSON field named __proto__', json('{"m":"cpu","fields":{"__proto__":5,"v":1}}'), protoRefused],
  ['JSON column named __proto__', json('{"m":"cpu","columns":{"__proto__":[null]}}'), protoRefused],
  ['line protocol field named __proto__', lp('cpu __proto__=1'), protoRefused],
  ['line protocol tag named __proto__', lp('cpu,__proto__=a v=1'), protoRefused],
  [
    'Arrow column named __proto__',
    arrow(ipc([arrowTimes(new TimestampMillisecond(), [1n]), arrowColumn('__proto__', [1], new Float64())])),
    protoRefused,
  ],
  [
    'tag value that is not UTF-8',
    lp(bytes(good, 'cpu,host=a', [0xff, 0xfe], ' v=1\n')),
    bad(400, 'INVALID_UTF8', 'line 2', 'the value of tag host is not valid UTF-8', '"61fffe"'),
  ],
  [
    'escaped tag value that is not UTF-8',
    lp(bytes('cpu,host=a\\ b', [0xc3], ' v=1')),
    bad(400, 'INVALID_UTF8', 'line 1', 'the value of tag host is not valid UTF-8'),
  ],
  [
    'string field that is not UTF-8',
    lp(bytes(good, good, 'cpu s="x', [0xc3], '",v=1')),
    bad(400, 'INVALID_UTF8', 'line 3', 'the value of field s is not valid UTF-8', '"78c3"'),
  ],
  ['negative timestamp', lp('cpu v=1 -5'), bad(400, 'INVALID_TIME', 'line 1', '-5', 'before 1970')],
  [
    'timestamp beyond int64',
    lp('cpu v=1 99999999999999999999'),
    bad(400, 'INVALID_TIME', 'line 1', '99999999999999999999'),
  ],
  [
    'seconds beyond 2262',
    lp('cpu v=1 9300000000', { ...context(), precision: 's' }),
    bad(400, 'INVALID_TIME', '2262'),
  ],
  [
    'field changing type between lines',
    lp('cpu v=1 1\ncpu v=2i 2\n'),
    bad(
      400,
      'TYPE_CONFLICT',
      'line 2',
      'field v of table cpu',
      'int64 values here but float64 values at line 1',
    ),
  ],
  [
    'tag becoming a field',
    lp('cpu host="x" 1\ncpu,host=a v=1 2\n'),
    bad(400, 'TYPE_CONFLICT', 'line 2', 'host', 'line 1'),
  ],
  ['bad measurement name', lp('c@u v=1'), bad(400, 'INVALID_NAME', 'line 1', '"c@u"')],
  ['escaped space in a measurement', lp('my\\ cpu v=1'), bad(400, 'INVALID_NAME', 'line 1', '"my cpu"')],
  ['bad field key', lp('cpu bad.key=1'), bad(400, 'INVALID_NAME', 'line 1', '"bad.key"', 'cpu')],
  [
    'duplicate tag',
    lp('cpu,a=1,a=2 v=1'),
    bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', 'tag a appears twice'),
  ],
  [
    'duplicate field',
    lp('cpu v=1,v=2'),
    bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', 'field v appears twice'),
  ],
  ['field named time', lp('cpu time=1'), bad(400, 'DUPLICATE_COLUMN', 'line 1', '"time"')],
  [
    'oversized tag in line protocol',
    lp('cpu,host=abcdefghij v=1', small),
    bad(400, 'STRING_TOO_LONG', 'line 1', 'tag host', '"abcdefghij"', 'maxTagBytes'),
  ],
  [
    'too many fields',
    lp('cpu a=1,b=2,c=3,d=4', small),
    bad(400, 'TOO_MANY_COLUMNS', 'line 1', 'column d', 'maxColumns'),
  ],
  ['unknown precision', lp(good, { ...context(), precision: 'x' }), bad(400, 'INVALID_PRECISION', '"x"')],
  [
    'trailing comma',
    lp('cpu v=1,'),
    bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', 'comma after the last field'),
  ],
  ['no measurement', lp(',host=a v=1'), bad(400, 'INVALID_LINE_PROTOCOL', 'line 1', 'no measurement')],
  [
    'line 5 of CRLF text',
    lp('a v=1\r\na v=2\r\n\r\n# c\r\na v=x\r\n'),
    bad(400, 'INVALID_LINE_PROTOCOL', 'line 5', '"x"'),
  ],

  // Arrow IPC
  [
    'truncated Arrow stream',
    arrow(arrowOk.subarray(0, arrowOk.length - 40)),
    bad(400, 'INVALID_ARROW', 'invalid Arrow IPC stream'),
  ],
  [
    'garbage instead of Arrow',
    arrow(Buffer.from('not an arrow stream at all')),
    bad(400, 'INVALID_ARROW', 'invalid Arrow IPC stream'),
  ],
  ['Arrow without a schema', arrow(new Uint8Array(8)), bad(400, 'INVALID_ARROW', 'no schema')],
  [
    'Arrow without time',
    arrow(ipc([arrowColumn('v', [1], new Float64())])),
    bad(400, 'MISSING_COLUMN', 'cpu', '"time"'),
  ],
  [
    'Arrow list column',
    arrow(
      ipc([
        arrowTimes(new TimestampMillisecond(), [1n]),
        arrowColumn('l', [[1n]], new List(new ArrowField('item', new Int64()))),
      ]),
    ),
    bad(400, 'UNSUPPORTED_TYPE', 'column l', 'List'),
  ],
  [
    'Arrow binary column',
    arrow(
      ipc([
        arrowTimes(new TimestampMillisecond(), [1n]),
        arrowColumn('b', [new Uint8Array([1])], new Binary()),
      ]),
    ),
    bad(400, 'UNSUPPORTED_TYPE', 'column b', 'Binary'),
  ],
  [
    'Arrow float time',
    arrow(ipc([arrowColumn('time', [1.5], new Float64()), arrowColumn('v', [1], new Float64())])),
    bad(400, 'TYPE_CONFLICT', 'time column', 'Float64'),
  ],
  [
    'Arrow date time',
    arrow(
      ipc([
        arrowColumn('time', [new Date(0)], new Date_(DateUnit.DAY)),
        arrowColumn('v', [1], new Float64()),
      ]),
    ),
    bad(400, 'TYPE_CONFLICT', 'time column', 'Date'),
  ],
  [
    'Arrow null time',
    arrow(
      ipc([
        arrowTimes(new TimestampMillisecond(), [1n, 2n], new Uint8Array([0b01])),
        arrowColumn('v', [1, 2], new Float64()),
      ]),
    ),
    bad(400, 'INVALID_TIME', 'table cpu, row 2: time is null'),
  ],
  [
    'Arrow negative timestamp',
    arrow(ipc([arrowTimes(new TimestampMillisecond(), [1n, -1n]), arrowColumn('v', [1, 2], new Float64())])),
    bad(400, 'INVALID_TIME', 'table cpu, row 2: ', '-1', '1970'),
  ],
  [
    'Arrow epoch mixing units',
    arrow(
      ipc([
        arrowColumn('time', [1_700_000_000n, 1_700_000_000_000n], new Int64()),
        arrowColumn('v', [1, 2], new Float64()),
      ]),
    ),
    bad(
      400,
      'MIXED_TIME_UNITS',
      'table cpu, row 2: ',
      '1700000000000 (milliseconds)',
      'but row 1 is 1700000000 (seconds)',
    ),
  ],
  [
    'Arrow uint64 beyond int64',
    arrow(ipc([arrowTimes(new TimestampMillisecond(), [1n]), arrowColumn('n', [2n ** 63n], new Uint64())])),
    bad(400, 'VALUE_OUT_OF_RANGE', 'column n of table cpu: row 1: ', '9223372036854775808'),
  ],
  [
    'Arrow string that is not UTF-8',
    arrow(
      ipc([
        arrowTimes(new TimestampMillisecond(), [1n, 2n]),
        rawUtf8('s', [0, 2, 4], [0x6f, 0x6b, 0xc3, 0x28]),
      ]),
    ),
    bad(400, 'INVALID_UTF8', 'column s of table cpu: row 2', 'not valid UTF-8'),
  ],
  [
    'Arrow string offset inside a character',
    // "é" is c3 a9: an offset between those bytes leaves two halves, each invalid.
    arrow(ipc([arrowTimes(new TimestampMillisecond(), [1n, 2n]), rawUtf8('s', [0, 1, 2], [0xc3, 0xa9])])),
    bad(400, 'INVALID_UTF8', 'column s of table cpu: row 1'),
  ],
  [
    'Arrow string offsets that decrease',
    arrow(ipc([arrowTimes(new TimestampMillisecond(), [1n, 2n]), rawUtf8('s', [0, 2, 1], [0x61, 0x62])])),
    bad(400, 'INVALID_ARROW', 'column s of table cpu', 'string offsets'),
  ],
  [
    'Arrow dictionary index out of range',
    arrow(ipc([arrowTimes(new TimestampMillisecond(), [1n, 2n]), dictionaryColumn('s', ['a'], [0, 5])])),
    bad(400, 'INVALID_ARROW', 'column s of table cpu', 'dictionary index 5 out of range at row 2'),
  ],
  [
    'Arrow tag above maxTagBytes',
    () =>
      decodeArrowIpc(
        ipc([
          arrowTimes(new TimestampMillisecond(), [1n, 2n]),
          arrowColumn('host', ['a', 'x'.repeat(9)], new Utf8()),
        ]),
        { ...small, table: 'cpu' },
      ),
    bad(400, 'STRING_TOO_LONG', 'column host of table cpu: row 2', '9 bytes', 'maxTagBytes'),
  ],
  [
    'Arrow tag that is not a string',
    arrow(arrowOk, { tags: ['v'] }),
    bad(400, 'TYPE_CONFLICT', 'x-weir-tags', 'v', 'Float64'),
  ],
  [
    'Arrow tag that is no column',
    arrow(arrowOk, { tags: ['host'] }),
    bad(400, 'MISSING_COLUMN', 'x-weir-tags', '"host"'),
  ],
  [
    'Arrow bad column name',
    arrow(ipc([arrowTimes(new TimestampMillisecond(), [1n]), arrowColumn('a b', ['x'], new Utf8())])),
    bad(400, 'INVALID_NAME', '"a b"', 'cpu'),
  ],
  ['Arrow bad table name', arrow(arrowOk, { table: 'no/such' }), bad(400, 'INVALID_NAME', '"no/such"')],
  [
    'Arrow NaN in a float64 column',
    arrow(
      ipc([
        arrowTimes(new TimestampMillisecond(), [1n, 2n]),
        arrowColumn('v', [1, Number.NaN], new Float64()),
      ]),
    ),
    bad(400, 'INVALID_VALUE', 'column v of table cpu: row 2', 'NaN is not a finite number'),
  ],
  [
    'Arrow infinity in a float32 column',
    arrow(
      ipc([
        arrowTimes(new TimestampMillisecond(), [1n, 2n]),
        arrowColumn('v', [Number.NEGATIVE_INFINITY, 1], new Float32()),
      ]),
    ),
    bad(400, 'INVALID_VALUE', 'column v of table cpu: row 1', '-Infinity is not a finite number'),
  ],
  [
    'Arrow infinity in a column of two record batches (copied, not used in place)',
    arrow(
      ipc(
        [
          arrowTimes(new TimestampMillisecond(), [1n]),
          arrowColumn('v', [Number.POSITIVE_INFINITY], new Float64()),
        ],
        2,
      ),
    ),
    bad(400, 'INVALID_VALUE', 'column v of table cpu: row 1', 'Infinity is not a finite number'),
  ],
];

describe('decoders refuse bad input with a status, a code and the culprit', () => {
  it.each(CASES)('%s', (_name, run, expected) => {
    expectError(run, expected);
  });

  it('covers at least 40 bad inputs', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });
});
