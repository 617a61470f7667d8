/**
 * Real clients nobody here wrote write to Weir over HTTP: InfluxDB's 1.x Python client (Debian
 * package python3-influxdb) against `/write`, and InfluxDB's 2.x JavaScript client
 * (`@influxdata/influxdb-client`) against `/api/v2/write` (ARC-COMPAT.md "Authentication" and
 * "Line protocol"). What they wrote is read back from the committed Parquet through DuckDB.
 */
import { execFile, spawnSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError, InfluxDB, type Logger, Point, setLogger } from '@influxdata/influxdb-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../catalog/index.js';
import { type IngestTestApp, startIngestApp } from '../helpers/ingest.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';

const T0 = 1_772_323_200_000_000n; // 2026-03-01T00:00:00Z in µs
const SECOND = 1_000_000n;

/** What Weir received: recorded from node's HTTP server channel, as the clients sent it. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

/**
 * The Python of the Debian package: `python3` on PATH, else /usr/bin/python3 (a pyenv or venv
 * python3 first on PATH does not see Debian's dist-packages). scripts/setup.mjs looks the same way.
 */
function findInfluxdbPython(): string | undefined {
  return ['python3', '/usr/bin/python3'].find(
    (python) =>
      spawnSync(python, ['-c', 'import influxdb'], { stdio: 'ignore', timeout: 30_000 }).status === 0,
  );
}

const PYTHON_MISSING =
  'the Python module `influxdb` (InfluxDB 1.x client) is not importable by python3 or /usr/bin/python3: ' +
  'install the Debian package python3-influxdb (`node scripts/setup.mjs --for=test` does it as root)';

/**
 * Writes with influxdb.InfluxDBClient. argv[1] is JSON: host, port, username, password, token, step.
 * Points are written the way applications do: dicts with tags, typed fields and times given as
 * RFC 3339 strings, datetimes and integers.
 */
const PYTHON_SCRIPT = String.raw`
import datetime, json, sys
from influxdb import InfluxDBClient

cfg = json.loads(sys.argv[1])
utc = datetime.timezone.utc

def client(**extra):
    return InfluxDBClient(cfg['host'], cfg['port'], username=cfg['username'], password=cfg['password'],
                          database='pydb', timeout=10, retries=1, **extra)

step = cfg['step']
if step == 'points':
    c = client()
    # Default precision: the client turns every time into nanoseconds.
    assert c.write_points([
        {'measurement': 'py_points', 'tags': {'host': 'a', 'region': 'eu west'},
         'time': '2026-03-01T00:00:00.000001Z',
         'fields': {'usage': 0.5, 'count': 7, 'ok': True, 'note': 'x y,z "q"'}},
        {'measurement': 'py_points', 'tags': {'host': 'b', 'region': 'us'},
         'time': datetime.datetime(2026, 3, 1, 0, 0, 1, 2, tzinfo=utc),
         'fields': {'usage': -1.25, 'count': -3, 'ok': False, 'note': '\u00e9'}},
        {'measurement': 'py_points', 'tags': {'host': 'a', 'region': 'eu west'},
         'time': 1772326800000003000,
         'fields': {'usage': 1e-3, 'count': 9007199254740993, 'ok': True}},
    ], tags={'src': 'py'})
    # Millisecond precision: integer times are sent as given, datetimes are converted to ms.
    assert c.write_points([
        {'measurement': 'py_points', 'tags': {'host': 'c', 'region': 'ap'}, 'time': 1772323202345,
         'fields': {'usage': 2.0, 'count': 0, 'ok': True, 'note': 'ms'}},
        {'measurement': 'py_points', 'tags': {'host': 'd', 'region': 'ap'},
         'time': datetime.datetime(2026, 3, 1, 0, 0, 3, 456000, tzinfo=utc),
         'fields': {'usage': 3.5, 'count': 1, 'ok': False, 'note': 'ms dt'}},
    ], time_precision='ms', tags={'src': 'py'})
    # Line protocol strings, second precision.
    assert c.write_points([
        'py_line,host=c v=1.5,n=2i,b=t,s="line one" 1772323200',
        'py_line,host=d v=-0.25,n=-9i,b=F,s="line two" 1772323260',
    ], time_precision='s', protocol='line')
elif step == 'gzip':
    assert client(gzip=True).write_points([
        {'measurement': 'py_gzip', 'tags': {'host': 'g'}, 'time': 1772323200000000000, 'fields': {'v': 42}},
    ])
elif step == 'query-password':
    # No basic auth: the token goes as ?u=&p=, the InfluxDB 1.x query form.
    c = InfluxDBClient(cfg['host'], cfg['port'], username=None, password=None, timeout=10, retries=1)
    c.write(['py_qs,host=q v=1 1772323200000000000'],
            params={'db': 'pydb', 'u': cfg['username'], 'p': cfg['token']}, protocol='line')
elif step == 'denied':
    client().write_points([{'measurement': 'py_denied', 'time': 1772323200000000000, 'fields': {'v': 1.0}}])
else:
    raise SystemExit('unknown step ' + step)
print('ok')
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script asynchronously: the Weir answering it lives in this process's event loop. */
function runPython(python: string, config: Record<string, unknown>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      python,
      ['-c', PYTHON_SCRIPT, JSON.stringify(config)],
      { timeout: 30_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({
          code,
          stdout: String(stdout),
          stderr: `${String(stderr)}${error?.killed ? ' (timed out)' : ''}`,
        });
      },
    );
  });
}

const silentLogger: Logger = { error: () => undefined, warn: () => undefined };

describe('InfluxDB client libraries write to Weir', () => {
  let redis: TestRedis;
  let root: string;
  let t: IngestTestApp;
  let url: string;
  let host: string;
  let port: number;
  let python: string | undefined;
  const seen: Seen[] = [];
  const record = (message: unknown) => {
    const { request } = message as { request: IncomingMessage };
    seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
  };
  let previousLogger: Logger | undefined;

  beforeAll(async () => {
    python = findInfluxdbPython();
    redis = await startTestRedis();
    root = mkdtempSync(join(tmpdir(), 'weir-clients-'));
    t = await startIngestApp(new LocalObjectStore(root), redis);
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = new URL(url);
    host = address.hostname;
    port = Number(address.port);
    subscribe('http.server.request.start', record);
    // The JS client logs failed writes to the console; the tests assert on the rejections instead.
    previousLogger = setLogger(silentLogger);
  });
  afterAll(async () => {
    unsubscribe('http.server.request.start', record);
    if (previousLogger) setLogger(previousLogger);
    await t?.stop();
    await redis?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen.length = 0;
  });

  const types = (database: string, table: string) => t.columnTypes('default', database, table);

  describe('python3-influxdb (InfluxDB 1.x client) against /write', () => {
    const requirePython = (): string => {
      if (!python) throw new Error(PYTHON_MISSING);
      return python;
    };
    const py = (step: string, password: string) =>
      runPython(requirePython(), { host, port, username: 'weir', password, token: t.adminToken, step });

    it('write_points (JSON points, ns and ms precision) and line protocol land with their values, types and times', async () => {
      const run = await py('points', t.adminToken);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe('ok');
      // The client authenticates with basic auth (user weir, the token as password) on /write?db=pydb.
      const writes = seen.filter((s) => s.method === 'POST');
      expect(writes.map((s) => s.url)).toEqual([
        '/write?db=pydb',
        '/write?db=pydb&precision=ms',
        '/write?db=pydb&precision=s',
      ]);
      const basic = `Basic ${Buffer.from(`weir:${t.adminToken}`).toString('base64')}`;
      for (const s of writes) {
        expect(s.headers.authorization).toBe(basic);
        expect(s.headers['content-type']).toBe('application/octet-stream');
      }

      await t.service.drain();
      expect(await types('pydb', 'py_points')).toEqual({
        time: 'TIMESTAMP',
        host: 'VARCHAR',
        region: 'VARCHAR',
        src: 'VARCHAR',
        usage: 'DOUBLE',
        count: 'BIGINT',
        ok: 'BOOLEAN',
        note: 'VARCHAR',
      });
      const rows = await t.query(
        'default',
        'pydb',
        'py_points',
        (r) =>
          `SELECT epoch_us(time) AS t, host, region, src, usage, count, ok, note FROM ${r} ORDER BY time`,
      );
      expect(rows).toEqual([
        {
          t: T0 + 1n,
          host: 'a',
          region: 'eu west',
          src: 'py',
          usage: 0.5,
          count: 7n,
          ok: true,
          note: 'x y,z "q"',
        },
        {
          t: T0 + 1_000_002n,
          host: 'b',
          region: 'us',
          src: 'py',
          usage: -1.25,
          count: -3n,
          ok: false,
          note: 'é',
        },
        { t: T0 + 2_345_000n, host: 'c', region: 'ap', src: 'py', usage: 2, count: 0n, ok: true, note: 'ms' },
        {
          t: T0 + 3_456_000n,
          host: 'd',
          region: 'ap',
          src: 'py',
          usage: 3.5,
          count: 1n,
          ok: false,
          note: 'ms dt',
        },
        {
          t: T0 + 3_600_000_003n,
          host: 'a',
          region: 'eu west',
          src: 'py',
          usage: 1e-3,
          count: 9_007_199_254_740_993n,
          ok: true,
          note: null,
        },
      ]);

      expect(await types('pydb', 'py_line')).toEqual({
        time: 'TIMESTAMP',
        host: 'VARCHAR',
        v: 'DOUBLE',
        n: 'BIGINT',
        b: 'BOOLEAN',
        s: 'VARCHAR',
      });
      expect(
        await t.query(
          'default',
          'pydb',
          'py_line',
          (r) => `SELECT epoch_us(time) AS t, host, v, n, b, s FROM ${r} ORDER BY time`,
        ),
      ).toEqual([
        { t: T0, host: 'c', v: 1.5, n: 2n, b: true, s: 'line one' },
        { t: T0 + 60n * SECOND, host: 'd', v: -0.25, n: -9n, b: false, s: 'line two' },
      ]);
    });

    it('a gzip client (gzip=True) writes', async () => {
      const run = await py('gzip', t.adminToken);
      expect(run.code, run.stderr).toBe(0);
      const write = seen.find((s) => s.method === 'POST');
      expect(write?.headers['content-encoding']).toBe('gzip');
      await t.service.drain();
      expect(
        await t.query('default', 'pydb', 'py_gzip', (r) => `SELECT epoch_us(time) AS t, host, v FROM ${r}`),
      ).toEqual([{ t: T0, host: 'g', v: 42n }]);
    });

    it('the token as ?p= (the 1.x query form, no basic auth) is accepted', async () => {
      const run = await py('query-password', t.adminToken);
      expect(run.code, run.stderr).toBe(0);
      const write = seen.find((s) => s.method === 'POST');
      expect(write?.headers.authorization).toBeUndefined();
      expect(new URL(write?.url ?? '', url).searchParams.get('p')).toBe(t.adminToken);
      await t.service.drain();
      expect(
        await t.query('default', 'pydb', 'py_qs', (r) => `SELECT epoch_us(time) AS t, host, v FROM ${r}`),
      ).toEqual([{ t: T0, host: 'q', v: 1 }]);
    });

    it('a wrong password is a 401 the client reports, and nothing lands', async () => {
      const run = await py('denied', 'not-a-weir-token');
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/InfluxDBClientError: 401/);
      await t.service.drain();
      expect(await t.count('default', 'pydb', 'py_denied')).toBe(0);
    });
  });

  describe('@influxdata/influxdb-client (InfluxDB 2.x client) against /api/v2/write', () => {
    it('Points with tags, every field type and explicit times land with their values, types and times', async () => {
      const influx = new InfluxDB({ url, token: t.adminToken });
      const ns = influx.getWriteApi('org', 'nodedb', 'ns');
      ns.useDefaultTags({ src: 'node' });
      ns.writePoint(
        new Point('node_points')
          .tag('host', 'a')
          .tag('region', 'eu west')
          .floatField('usage', 0.5)
          .intField('count', 7)
          .uintField('unsigned', 42)
          .booleanField('ok', true)
          .stringField('note', 'x y,z "q"')
          .timestamp(`${(T0 + 1n) * 1000n}`),
      );
      ns.writePoints([
        new Point('node_points')
          .tag('host', 'b')
          .tag('region', 'us')
          .floatField('usage', -1.25)
          .intField('count', -3)
          .uintField('unsigned', 0)
          .booleanField('ok', false)
          .stringField('note', 'é\\')
          .timestamp(new Date(Number((T0 + SECOND) / 1000n))),
        new Point('node_points')
          .tag('host', 'a')
          .tag('region', 'eu west')
          .floatField('usage', 1e-3)
          .intField('count', Number.MAX_SAFE_INTEGER)
          .booleanField('ok', true)
          .timestamp(`${(T0 + 3_600_000_003n) * 1000n}`),
      ]);
      await ns.close();
      const ms = influx.getWriteApi('org', 'nodedb', 'ms');
      ms.useDefaultTags({ src: 'node' });
      ms.writePoint(
        new Point('node_points')
          .tag('host', 'c')
          .tag('region', 'ap')
          .floatField('usage', 2)
          .intField('count', 0)
          .booleanField('ok', true)
          .stringField('note', 'ms')
          .timestamp(Number((T0 + 2_345_000n) / 1000n)),
      );
      await ms.close();

      const writes = seen.filter((s) => s.method === 'POST');
      expect(writes.map((s) => s.url)).toEqual([
        '/api/v2/write?org=org&bucket=nodedb&precision=ns',
        '/api/v2/write?org=org&bucket=nodedb&precision=ms',
      ]);
      for (const s of writes) {
        expect(s.headers.authorization).toBe(`Token ${t.adminToken}`);
        expect(s.headers['content-type']).toBe('text/plain; charset=utf-8');
      }

      await t.service.drain();
      expect(await types('nodedb', 'node_points')).toEqual({
        time: 'TIMESTAMP',
        host: 'VARCHAR',
        region: 'VARCHAR',
        src: 'VARCHAR',
        usage: 'DOUBLE',
        count: 'BIGINT',
        unsigned: 'BIGINT',
        ok: 'BOOLEAN',
        note: 'VARCHAR',
      });
      const rows = await t.query(
        'default',
        'nodedb',
        'node_points',
        (r) =>
          `SELECT epoch_us(time) AS t, host, region, src, usage, count, unsigned, ok, note FROM ${r} ORDER BY time`,
      );
      const row = { src: 'node', unsigned: null, note: null };
      expect(rows).toEqual([
        {
          ...row,
          t: T0 + 1n,
          host: 'a',
          region: 'eu west',
          usage: 0.5,
          count: 7n,
          unsigned: 42n,
          ok: true,
          note: 'x y,z "q"',
        },
        {
          ...row,
          t: T0 + SECOND,
          host: 'b',
          region: 'us',
          usage: -1.25,
          count: -3n,
          unsigned: 0n,
          ok: false,
          note: 'é\\',
        },
        { ...row, t: T0 + 2_345_000n, host: 'c', region: 'ap', usage: 2, count: 0n, ok: true, note: 'ms' },
        {
          ...row,
          t: T0 + 3_600_000_003n,
          host: 'a',
          region: 'eu west',
          usage: 1e-3,
          count: BigInt(Number.MAX_SAFE_INTEGER),
          ok: true,
        },
      ]);
    });

    it('a gzipped write (gzipThreshold 0) lands', async () => {
      const influx = new InfluxDB({ url, token: t.adminToken, writeOptions: { gzipThreshold: 0 } });
      const api = influx.getWriteApi('org', 'nodedb', 'us');
      api.writePoints([
        new Point('node_gzip').tag('host', 'g').floatField('v', 1.5).timestamp(`${T0}`),
        new Point('node_gzip')
          .tag('host', 'h')
          .floatField('v', 2.5)
          .timestamp(`${T0 + 1n}`),
      ]);
      await api.close();
      const write = seen.find((s) => s.method === 'POST');
      expect(write?.url).toBe('/api/v2/write?org=org&bucket=nodedb&precision=us');
      expect(write?.headers['content-encoding']).toBe('gzip');
      await t.service.drain();
      expect(
        await t.query(
          'default',
          'nodedb',
          'node_gzip',
          (r) => `SELECT epoch_us(time) AS t, host, v FROM ${r} ORDER BY time`,
        ),
      ).toEqual([
        { t: T0, host: 'g', v: 1.5 },
        { t: T0 + 1n, host: 'h', v: 2.5 },
      ]);
    });

    it('a wrong token makes close() reject with an HTTP 401, and nothing lands', async () => {
      const influx = new InfluxDB({ url, token: 'not-a-weir-token' });
      const api = influx.getWriteApi('org', 'nodedb', 'ns', { maxRetries: 0 });
      api.writePoint(new Point('node_denied').floatField('v', 1).timestamp(`${T0 * 1000n}`));
      const error = await api.close().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(HttpError);
      expect((error as HttpError).statusCode).toBe(401);
      await t.service.drain();
      expect(await t.count('default', 'nodedb', 'node_denied')).toBe(0);
    });
  });
});
