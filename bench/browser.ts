/**
 * Browser console benchmark (issue 6): the same queries through the real console in headless
 * Chromium, once on DuckDB-WASM in the page over signed URLs (browser path) and once on the
 * server's DuckDB (server path), in the same run on the same `weir serve` and table.
 *
 * For each query: time to first result in a fresh page (DuckDB-WASM starting included for the
 * browser path), the median of warm runs, and the bytes each path fetched: for the browser path
 * the session answer plus every byte of Parquet read from storage, for the server path the answer.
 * Times are from the Run click to the page recording the answer.
 *
 *   npm run bench:browser
 *   BENCH_BROWSER_ROWS=200000 npm run bench:browser      # a quick run
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pack } from 'msgpackr';
import type { Page } from 'playwright-core';
import { WeirClient } from '../sdk/index.js';
import { type LastAnswer, signIn, visible } from '../test/browser/console-page.js';
import { launchChromium, type TestBrowser } from '../test/helpers/browser.js';
import { fmt, median, report } from './stats.js';
import { type BenchServer, postTo, startBenchServer, stopBenchServer } from './weir-server.js';

const ROWS = Number(process.env.BENCH_BROWSER_ROWS ?? 1_000_000);
const WARM_RUNS = Number(process.env.BENCH_BROWSER_RUNS ?? 5);
const HOSTS = 100;
const STEP_MS = 60_000;
const HOUR = 3_600_000;
/** Rows start at a whole hour, one per host per minute: 1M rows cover just under 7 days. */
const T0 = Date.UTC(2026, 2, 1);
const BATCH = 50_000;

const iso = (ms: number) => new Date(ms).toISOString();
const hours = Math.floor(((ROWS / HOSTS) * STEP_MS) / HOUR);
const middle = T0 + Math.floor(hours / 2) * HOUR;

const QUERIES: Record<string, string> = {
  'one-hour aggregate of one column': `SELECT avg(usage_user) AS avg_user FROM cpu
    WHERE time >= '${iso(middle)}' AND time < '${iso(middle + HOUR)}'`,
  'per-host aggregate over the whole table': `SELECT host, avg(usage_user) AS avg_user, max(usage_system) AS max_system
    FROM cpu GROUP BY host ORDER BY host`,
  'last 10 rows, every column': 'SELECT * FROM cpu ORDER BY time DESC, host LIMIT 10',
};

async function writeRows(server: BenchServer): Promise<void> {
  for (let from = 0; from < ROWS; from += BATCH) {
    const to = Math.min(ROWS, from + BATCH);
    const index = Array.from({ length: to - from }, (_, k) => from + k);
    const body = pack({
      m: 'cpu',
      tags: ['host'],
      columns: {
        time: index.map((i) => T0 + Math.floor(i / HOSTS) * STEP_MS),
        host: index.map((i) => `host-${String(i % HOSTS).padStart(3, '0')}`),
        usage_user: index.map((i) => 50 + 40 * Math.sin(i * 0.000_71 + (i % HOSTS))),
        usage_system: index.map((i) => 10 + 8 * Math.cos(i * 0.001_3 + (i % HOSTS) * 0.5)),
        usage_idle: index.map((i) => 30 + 20 * Math.sin(i * 0.000_37)),
        requests: index.map((i) => (i * 7919) % 1000),
      },
    });
    const res = await postTo(
      server,
      '/api/v1/write/msgpack',
      { 'content-type': 'application/msgpack' },
      body,
    );
    if (res.status !== 204)
      throw new Error(`write: ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
  }
}

async function waitForRows(client: WeirClient): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const answer = await client.query('SELECT count(*) FROM cpu').catch(() => undefined);
    if (Number(answer?.data[0]?.[0]) === ROWS) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the table did not reach ${ROWS} rows within 300 s`);
}

/** Bytes of the page's responses from the API whose path starts with `path`, since `since` entries. */
function apiBytes(page: Page, path: string, since: number): Promise<number> {
  return page.evaluate(
    ({ path, since }) =>
      performance
        .getEntriesByType('resource')
        .slice(since)
        .filter((e) => new URL(e.name).pathname.startsWith(path))
        .reduce((sum, e) => sum + (e as unknown as { encodedBodySize: number }).encodedBodySize, 0),
    { path, since },
  );
}

/**
 * Runs `sql` with the console's Run button (on the query page, engine chosen) and times it inside
 * the page, from the click to the page recording the answer (no round trips to this process).
 */
async function runTimedInPage(page: Page, sql: string): Promise<{ ms: number; answer: LastAnswer }> {
  // Set first, in its own call, so the editor's state has settled before the click.
  await page.evaluate((text) => (globalThis as unknown as ConsoleHooks).__weirConsole.setSql(text), sql);
  return page.evaluate(async () => {
    const hooks = globalThis as unknown as ConsoleHooks;
    const before = hooks.__weirRuns;
    const started = performance.now();
    hooks.document.querySelector('[data-testid="run-query"]').click();
    while (hooks.__weirRuns === before) await new Promise((resolve) => setTimeout(resolve, 1));
    return { ms: performance.now() - started, answer: hooks.__weirLastAnswer };
  });
}

interface ConsoleHooks {
  __weirConsole: { setSql(text: string): void };
  __weirRuns: number;
  __weirLastAnswer: LastAnswer;
  document: { querySelector(selector: string): { click(): void } };
}

const resourceCount = (page: Page) => page.evaluate(() => performance.getEntriesByType('resource').length);

interface PathFigures {
  /** The console's own account of the first run (where the time went). */
  status: string;
  firstMs: number;
  warmMs: number;
  bytes: number;
  rows: number;
}

async function measure(
  chromium: TestBrowser,
  server: BenchServer,
  engine: 'browser' | 'server',
  sql: string,
): Promise<PathFigures> {
  const context = await chromium.context();
  const page = await context.newPage();
  try {
    const url = `http://${server.host}:${server.port}`;
    await signIn(page, url, server.token);
    await page.goto(`${url}/#/query`);
    await visible(page.getByTestId('sql-editor'));
    await page.getByTestId(`engine-${engine}`).check();
    const timed = async () => {
      const since = await resourceCount(page);
      const { ms, answer } = await runTimedInPage(page, sql);
      if (answer.error) throw new Error(`${engine}: ${answer.error}`);
      const bytes =
        engine === 'browser'
          ? (answer.bytesFetched ?? 0) + (await apiBytes(page, '/api/v1/browser/session', since))
          : await apiBytes(page, '/api/v1/query', since);
      const status = (await page.getByTestId('result-status').textContent()) ?? '';
      return { ms, bytes, rows: answer.rows.length, status };
    };
    const first = await timed();
    const warm: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++) warm.push((await timed()).ms);
    return {
      firstMs: first.ms,
      warmMs: median(warm),
      bytes: first.bytes,
      rows: first.rows,
      status: first.status,
    };
  } finally {
    await context.close();
  }
}

const built = spawnSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'inherit' });
if (built.status !== 0) throw new Error('building the console failed');

const server = await startBenchServer({
  name: 'weir-bench-browser',
  env: { WEIR_INGEST_MAX_BUFFER_AGE_MS: '500' },
});
const chromium = await launchChromium();
try {
  const client = new WeirClient({ url: `http://${server.host}:${server.port}`, token: server.token });
  const writeStarted = performance.now();
  await writeRows(server);
  await waitForRows(client);
  const session = await client.browserSession({ tables: ['cpu'] });
  const files = session.tables[0]!.files;
  const tableBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  console.log(
    `cpu: ${ROWS.toLocaleString('en-US')} rows over ${hours} hours, ${files.length} Parquet files, ` +
      `${(tableBytes / 1e6).toFixed(1)} MB (written and committed in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s)`,
  );
  console.log(`each figure: first run in a fresh page, then the median of ${WARM_RUNS} warm runs\n`);
  for (const [name, sql] of Object.entries(QUERIES)) {
    const onServer = await measure(chromium, server, 'server', sql);
    const inBrowser = await measure(chromium, server, 'browser', sql);
    if (inBrowser.rows !== onServer.rows)
      throw new Error(`${name}: ${inBrowser.rows} rows in the browser, ${onServer.rows} on the server`);
    console.log(`${name} (${onServer.rows} rows)`);
    report([
      [
        '  browser: first result',
        fmt.ms(inBrowser.firstMs),
        `${(inBrowser.firstMs / onServer.firstMs).toFixed(2)}× server`,
      ],
      [
        '  browser: warm',
        fmt.ms(inBrowser.warmMs),
        `${(inBrowser.warmMs / onServer.warmMs).toFixed(2)}× server`,
      ],
      [
        '  browser: bytes fetched',
        inBrowser.bytes.toLocaleString('en-US'),
        `${((100 * inBrowser.bytes) / tableBytes).toFixed(1)}% of the table's Parquet bytes`,
      ],
      ['  server: first result', fmt.ms(onServer.firstMs)],
      ['  server: warm', fmt.ms(onServer.warmMs)],
      ['  server: bytes fetched', onServer.bytes.toLocaleString('en-US'), 'the answer'],
    ]);
    console.log(`  console, first browser run: ${inBrowser.status}`);
  }
} finally {
  await chromium.close();
  await stopBenchServer(server);
}
