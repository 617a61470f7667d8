/**
 * The browser console in real headless Chromium against a real `weir serve`: it loads from our
 * origin only, answers queries on DuckDB-WASM exactly as the server does, fetches only the bytes
 * a pruned query needs (counted by the server), and shows real runs and their lineage.
 * Screenshots go to test-artifacts/browser/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeirClient } from '../../sdk/index.js';
import { artifactPath, launchChromium, type TestBrowser } from '../helpers/browser.js';
import { assertConsoleBuilt } from '../helpers/console-build.js';
import { waitFor } from '../helpers/wait.js';
import { type SdkServer, startSdkServer } from '../sdk/server.js';
import {
  compareAnswers,
  countIs,
  DAY0,
  FIXTURE_ROWS,
  HOUR,
  iso,
  serverAnswer,
  textMatches,
  writeFixture,
} from './console-fixture.js';
import { runInConsole, runShownQuery, setSql, signIn, visible } from './console-page.js';

let server: SdkServer;
let client: WeirClient;
let chromium: TestBrowser;
let page: Page;
/** Every URL the page requested. */
const requested: string[] = [];

beforeAll(async () => {
  assertConsoleBuilt();
  [server, chromium] = await Promise.all([startSdkServer(), launchChromium()]);
  client = server.client();
  await writeFixture(client);
  const context = await chromium.context();
  page = await context.newPage();
  page.on('request', (request) => requested.push(request.url()));
  await signIn(page, server.url, server.token);
}, 120_000);

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
});

/** Bytes the server has sent for signed URLs (its own counter, read from /metrics). */
async function signedBytesServed(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('weir_signed_file_bytes_total'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const QUERIES: Record<string, string> = {
  'count and sum over every file': 'SELECT count(*) AS n, sum(usage_user) AS total FROM cpu',
  'group by over a time range': `SELECT host, avg(usage_user) AS avg_user, max(requests) AS max_requests, min(time) AS first
    FROM cpu WHERE time >= '${iso(DAY0 + 30 * HOUR)}' AND time < '${iso(DAY0 + 40 * HOUR)}' GROUP BY host ORDER BY host`,
  time_bucket: `SELECT time_bucket(INTERVAL '1 hour', time) AS hour, count(*) AS n, avg(usage_system) AS sys
    FROM cpu WHERE time >= '${iso(DAY0 + 5 * HOUR)}' AND time < '${iso(DAY0 + 11 * HOUR)}' GROUP BY hour ORDER BY hour`,
  'window function': `SELECT host, time, usage_user,
      avg(usage_user) OVER (PARTITION BY host ORDER BY time ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving
    FROM cpu WHERE time >= '${iso(DAY0 + 50 * HOUR)}' AND time < '${iso(DAY0 + 50 * HOUR + 10 * 60_000)}'
    ORDER BY host, time`,
  'join across databases': `SELECT c.host, count(*) AS n, avg(m.used) AS used
    FROM cpu c JOIN infra.mem m ON c.host = m.host AND c.time = m.time
    WHERE c.time >= '${iso(DAY0 + 12 * HOUR)}' AND c.time < '${iso(DAY0 + 14 * HOUR)}' GROUP BY c.host ORDER BY c.host`,
  'ORDER BY … LIMIT over all columns': 'SELECT * FROM cpu ORDER BY time DESC, host LIMIT 7',
};

describe('the console', () => {
  it('loads and answers a query with every request to our own origin', async () => {
    const answer = await runInConsole(page, 'browser', QUERIES['count and sum over every file']!);
    expect(answer.error).toBeUndefined();
    expect(answer.rows).toHaveLength(1);
    const origin = new URL(server.url).origin;
    const foreign = requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('blob:'));
    expect(foreign).toEqual([]);
    // The data came from signed URLs of the local store, not from the query API.
    expect(requested.some((url) => url.startsWith(`${origin}/files/`) && url.includes('sig='))).toBe(true);
    // The page shows what the run fetched.
    const status = await page.getByTestId('result-status').textContent();
    expect(status).toMatch(/1 row/);
    expect(status).toMatch(/bytes|[KM]B/);
    await page.screenshot({ path: artifactPath('query-browser'), fullPage: true });
  });

  it.each(Object.entries(QUERIES))('answers %s in the browser as the server does', async (_name, sql) => {
    const browser = await runInConsole(page, 'browser', sql);
    const server = await serverAnswer(client, sql);
    expect(browser.error).toBeUndefined();
    expect(browser.rows.length).toBeGreaterThan(0);
    compareAnswers(browser, server);
  });

  it('shows every value as the server does, to the microsecond, by column position', async () => {
    // Names that repeat (a join's columns) or that Arrow's row objects answer with their own
    // methods must not pick another column's value; times must not pass through milliseconds.
    const sql = `SELECT 1 AS x, 2 AS x, 7 AS "toString", 8 AS "constructor",
        TIMESTAMP '2026-03-01 00:00:00.123456' AS micros, TIMESTAMP '1969-12-31 23:59:59.999999' AS before_epoch,
        TIMESTAMP_NS '2026-03-01 00:00:00.123456789' AS nanos, 'infinity'::TIMESTAMP AS forever,
        DATE '1969-12-31' AS day, TIME '12:34:56.123456' AS time_of_day,
        INTERVAL '1 year 2 months 3 days 04:05:06.789' AS long_interval, INTERVAL '0.876543 seconds' AS short_interval,
        '\\x41\\x00'::BLOB AS bytes, c.host, m.host
      FROM cpu c JOIN infra.mem m ON c.host = m.host AND c.time = m.time ORDER BY c.time, c.host LIMIT 1`;
    const browser = await runInConsole(page, 'browser', sql);
    const onServer = await serverAnswer(client, sql);
    expect(browser.error).toBeUndefined();
    expect(browser.columns).toEqual(onServer.columns);
    expect(browser.rows).toEqual(onServer.rows);
    expect(onServer.rows[0]!.slice(0, 8)).toEqual([
      1,
      2,
      7,
      8,
      '2026-03-01T00:00:00.123456Z',
      '1969-12-31T23:59:59.999999Z',
      '2026-03-01T00:00:00.123456Z',
      'infinity',
    ]);
  });

  it('shows DECIMAL values as the server does: numbers while exact, else their exact text', async () => {
    // DuckDB-WASM sends decimals as Arrow Decimal of their unscaled integer; every width and sign
    // must scale as the server's JSON does, past 15 digits as text.
    const sql = `SELECT v::DECIMAL(4,2) AS small, w::DECIMAL(18,3) AS negative, x::DECIMAL(38,10) AS wide,
        y::DECIMAL(18,0) AS long_integer, z::DECIMAL(38,3) AS round_wide
      FROM (VALUES
        (1.50, -1234.5, 12345678901234567890.0123456789, 999999999999999999, -1000000000000.000),
        (-0.05, -0.001, -0.0000000001, -1, 0.5),
        (NULL, NULL, NULL, NULL, NULL),
        (99.99, -999999999999999.999, 1.5, 0, -12345678901234567890123456789.123)
      ) t(v, w, x, y, z)`;
    const browser = await runInConsole(page, 'browser', sql);
    const onServer = await serverAnswer(client, sql);
    expect(browser.error).toBeUndefined();
    expect(browser.columns).toEqual(onServer.columns);
    expect(browser.rows).toEqual(onServer.rows);
    expect(onServer.rows).toEqual([
      [1.5, -1234.5, '12345678901234567890.0123456789', '999999999999999999', -1e12],
      [-0.05, -0.001, -1e-10, -1, 0.5],
      [null, null, null, null, null],
      [99.99, '-999999999999999.999', 1.5, 0, '-12345678901234567890123456789.123'],
    ]);
  });

  it('runs the same SQL on the server when switched', async () => {
    const sql = QUERIES.time_bucket!;
    const onServer = await runInConsole(page, 'server', sql);
    expect(onServer.engine).toBe('server');
    compareAnswers(onServer, await serverAnswer(client, sql));
    await visible(page.getByTestId('result-chart').locator('canvas').first());
    await page.screenshot({ path: artifactPath('query-server-chart'), fullPage: true });
  });

  it('shows the server error of a refused statement', async () => {
    const answer = await runInConsole(page, 'browser', "SELECT * FROM read_csv('/etc/passwd')");
    expect(answer.error).toMatch(/read_csv|not allowed|refused/i);
    await visible(page.getByTestId('query-error'));
  });

  it('fetches at most 30% of the table bytes for a one-column aggregate over one hour; a rerun fetches nothing', async () => {
    const tableBytes = (await client.browserSession({ tables: ['cpu'] })).tables[0]!.files.reduce(
      (sum, f) => sum + f.bytes,
      0,
    );
    // A fresh page: nothing of the table loaded yet.
    const fresh = await (await chromium.context()).newPage();
    await signIn(fresh, server.url, server.token);
    const sql = `SELECT avg(usage_user) AS avg_user FROM cpu
      WHERE time >= '${iso(DAY0 + 26 * HOUR)}' AND time < '${iso(DAY0 + 27 * HOUR)}'`;
    const before = await signedBytesServed();
    const answer = await runInConsole(fresh, 'browser', sql);
    const served = (await signedBytesServed()) - before;
    const expected = await serverAnswer(client, sql);
    compareAnswers(answer, expected);
    expect(served).toBeGreaterThan(0);
    // What the page counted is what the server sent.
    expect(answer.bytesFetched).toBe(served);
    expect(served / tableBytes).toBeLessThanOrEqual(0.3);

    // The files are immutable: the page keeps what it loaded, whatever URL signed it.
    const again = await runInConsole(fresh, 'browser', sql);
    compareAnswers(again, expected);
    expect(again.bytesFetched).toBe(0);
    expect((await signedBytesServed()) - before).toBe(served);

    // Four hours load together (one insert); one of them alone is then read from its rows there.
    const hours = (from: number, to: number) => `SELECT count(*) AS n, avg(usage_user) AS avg_user FROM cpu
      WHERE time >= '${iso(DAY0 + from * HOUR)}' AND time < '${iso(DAY0 + to * HOUR)}'`;
    const four = await runInConsole(fresh, 'browser', hours(26, 30));
    compareAnswers(four, await serverAnswer(client, hours(26, 30)));
    expect(four.bytesFetched).toBeGreaterThan(0);
    const one = await runInConsole(fresh, 'browser', hours(28, 29));
    compareAnswers(one, await serverAnswer(client, hours(28, 29)));
    expect(one.bytesFetched).toBe(0);
    await fresh.context().close();
  });
});

describe('the browser limit', () => {
  it('refuses, before fetching anything, a query that would bring more into the page than it may hold', async () => {
    const fresh = await (await chromium.context()).newPage();
    await signIn(fresh, server.url, server.token);
    await fresh.evaluate(() =>
      (
        globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }
      ).localStorage.setItem('weir.query.browserMaxMB', '0.01'),
    );
    const before = await signedBytesServed();
    const refused = await runInConsole(fresh, 'browser', QUERIES['count and sum over every file']!);
    expect(refused.error).toMatch(/browser limit is 0\.0 MB.*run it on the server/);
    await visible(fresh.getByTestId('query-error'));
    expect(await signedBytesServed()).toBe(before);
    // The same query on the server is not limited by the page.
    const onServer = await runInConsole(fresh, 'server', QUERIES['count and sum over every file']!);
    expect(onServer.error).toBeUndefined();
    await fresh.context().close();
  });

  it('refuses an answer of more rows than the server would give', async () => {
    // FIXTURE_ROWS × 50 > 1,000,000 (the server's query.maxRows default).
    const refused = await runInConsole(
      page,
      'browser',
      'SELECT 1 AS one FROM cpu a, (SELECT host FROM cpu LIMIT 50) b',
    );
    expect(refused.error).toContain(`the answer has ${(FIXTURE_ROWS * 50).toLocaleString('en-US')} rows`);
    await visible(page.getByTestId('query-error'));
  });
});

describe('browsing the catalog', () => {
  it("shows a table's schema, files and the catalog's versions", async () => {
    const session = await client.browserSession({ tables: ['cpu'] });
    await page.goto(`${server.url}/#/browse/default/cpu`);
    const schema = page.getByTestId('table-schema');
    await visible(schema);
    for (const column of session.tables[0]!.columns)
      await visible(schema.getByText(column.name, { exact: true }).first());
    await countIs(page.getByTestId('table-files').locator('tbody tr'), session.tables[0]!.files.length);
    // Background runs (checkpoints) may commit meanwhile: every version shown must be a real one.
    const rows = page.getByTestId('catalog-versions').locator('tr[data-version]');
    await visible(rows.first());
    const shown = (
      await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-version'))))
    ).sort((a, b) => b - a);
    const real = (await client.catalogVersions({ limit: 100 })).map((v) => v.version);
    expect(shown.length).toBeGreaterThan(0);
    expect(real).toEqual(expect.arrayContaining(shown));
    await visible(page.getByTestId('catalog-tree'));
    await page.screenshot({ path: artifactPath('browse-table'), fullPage: true });

    // Its statement names the table quoted: `default` is a keyword.
    await page.getByRole('link', { name: 'Query this table' }).click();
    await visible(page.getByTestId('sql-editor'));
    const answer = await runShownQuery(page);
    expect(answer.error).toBeUndefined();
    expect(answer.rows.length).toBeGreaterThan(0);
  });
});

describe('a token limited to some databases', () => {
  it('browses its tables without tenant-wide facts it may not read', async () => {
    const { token } = await client.tokens.create({
      name: 'scoped',
      permissions: ['read'],
      databases: ['default'],
    });
    const scoped = await (await chromium.context()).newPage();
    await signIn(scoped, server.url, token);
    await scoped.goto(`${server.url}/#/browse/default/cpu`);
    await visible(scoped.getByTestId('table-schema'));
    const files = (await client.browserSession({ tables: ['cpu'] })).tables[0]!.files.length;
    await countIs(scoped.getByTestId('table-files').locator('tbody tr'), files);
    expect(await scoped.getByTestId('token-databases').textContent()).toBe('default');
    // Nothing on the page failed (the catalog's versions are tenant-wide: the server refuses them).
    await scoped.waitForLoadState('networkidle');
    expect(await scoped.getByRole('alert').count()).toBe(0);
    await scoped.context().close();
  });
});

describe('the database picker', () => {
  const SAVED_DATABASE = 'weir.query.database';

  /** A new page signed in with `token`, its query page reloaded with `saved` as the remembered database. */
  async function queryPage(token: string, saved?: string): Promise<Page> {
    const fresh = await (await chromium.context()).newPage();
    await signIn(fresh, server.url, token);
    if (saved !== undefined) {
      await fresh.evaluate(
        ([key, value]) =>
          (
            globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }
          ).localStorage.setItem(key, value),
        [SAVED_DATABASE, saved] as const,
      );
      await fresh.reload();
    }
    await visible(fresh.getByTestId('sql-editor'));
    return fresh;
  }

  /** The picker's choice once its options are `options`. */
  async function chosen(page: Page, options: string[]): Promise<string> {
    const picker = page.getByTestId('database-select');
    const listed = () => picker.locator('option').allTextContents();
    await waitFor(
      async () => (JSON.stringify(await listed()) === JSON.stringify(options) ? true : undefined),
      30_000,
      100,
    ).catch(async () => expect(await listed()).toEqual(options));
    return picker.inputValue();
  }

  it('picks the first database a scoped token sees over a saved one it does not, and queries there', async () => {
    const { token } = await client.tokens.create({
      name: 'infra-only',
      permissions: ['read'],
      databases: ['infra'],
    });
    const scoped = await queryPage(token, 'default');
    expect(await chosen(scoped, ['infra'])).toBe('infra');
    const answer = await runInConsole(scoped, 'server', 'SELECT count(*) AS n FROM mem');
    expect(answer.error).toBeUndefined();
    expect(answer.rows).toEqual([[FIXTURE_ROWS]]);
    await scoped.context().close();
  });

  it('shows none for a tenant without databases and runs nothing; then the first in order, or the saved one', async () => {
    const tenant = await client.tenants.create({ id: 'nodefault', display_name: 'No default' });
    const page = await queryPage(tenant.token);
    const queried: string[] = [];
    page.on('request', (request) => {
      if (/\/api\/v1\/(query|browser\/session)/.test(request.url())) queried.push(request.url());
    });
    await textMatches(page.getByTestId('database-hint'), /sees no database/);
    expect(await chosen(page, [])).toBe('');
    expect(await page.getByTestId('run-query').isEnabled()).toBe(false);
    // Ctrl-Enter runs without the button: it is refused too, not sent to the client's `default`.
    await setSql(page, 'SELECT 1 AS one');
    const answer = await runShownQuery(page, () => page.locator('.cm-content').press('Control+Enter'));
    expect(answer.error).toMatch(/^No database chosen/);
    await visible(page.getByTestId('query-error'));
    expect(queried).toEqual([]);

    // Made out of order: the picker lists them sorted and takes the first.
    const own = server.client({ token: tenant.token });
    await own.databases.create('zeta');
    await own.databases.create('alpha');
    await page.reload();
    expect(await chosen(page, ['alpha', 'zeta'])).toBe('alpha');
    expect(await page.getByTestId('database-hint').count()).toBe(0);
    await page.getByTestId('database-select').selectOption('zeta');
    await page.reload();
    expect(await chosen(page, ['alpha', 'zeta'])).toBe('zeta');
    await page.context().close();
  });
});

describe('run history and lineage', () => {
  it('lists a real compaction, shows its tasks and replays it', async () => {
    // A second file in two old hours makes them compaction candidates.
    const late = [DAY0 + 30_000, DAY0 + HOUR + 30_000];
    await client.writeColumnar({
      table: 'cpu',
      tags: ['host'],
      columns: { time: late, host: ['h9', 'h9'], usage_user: [1, 2], usage_system: [3, 4], requests: [5, 6] },
    });
    await waitFor(
      async () => {
        const answer = await client.query("SELECT count(*) FROM cpu WHERE host = 'h9'");
        return Number(answer.data[0]?.[0]) === late.length ? true : undefined;
      },
      60_000,
      200,
    );
    const started = await fetch(`${server.url}/api/v1/compaction/trigger?tier=daily`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
    });
    expect(started.status).toBe(200);
    const { runs } = (await started.json()) as { runs: { run_id: string }[] };
    expect(runs.length).toBe(late.length);
    const runId = runs[0]!.run_id;
    await waitFor(
      async () => ((await client.runs.get(runId)).status === 'succeeded' ? true : undefined),
      60_000,
      200,
    );

    await page.goto(`${server.url}/#/runs`);
    await visible(page.getByTestId('runs-list'));
    await countIs(page.getByTestId('run-row').filter({ hasText: runId }), 1);
    await page.getByTestId('runs-kind').selectOption('compaction');
    await countIs(page.getByTestId('run-row'), runs.length);
    await page.screenshot({ path: artifactPath('runs'), fullPage: true });

    await page.goto(`${server.url}/#/runs/${runId}`);
    await textMatches(page.getByTestId('run-detail'), /succeeded/);
    await visible(page.getByTestId('task-timeline').locator('rect').first());
    await page.getByTestId('replay-run').click();
    const replay = await textMatches(page.getByTestId('replay-result'), /reproducible/i, 60_000);
    expect(replay).not.toMatch(/not reproducible|false/i);
    await page.screenshot({ path: artifactPath('run-detail'), fullPage: true });
  });

  it('draws the lineage of a table: a continuous query reads cpu and writes cpu_hourly', async () => {
    const cq = await client.continuousQueries.create({
      name: 'cpu_hourly',
      database: 'default',
      source_measurement: 'cpu',
      destination_measurement: 'cpu_hourly',
      query: `SELECT time_bucket(INTERVAL '1 hour', time) AS time, host, avg(usage_user) AS usage_user
        FROM cpu WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY 1, 2`,
      interval: '1h',
      start_time: iso(DAY0),
    });
    await client.continuousQueries.execute(cq.id, { start_time: iso(DAY0), end_time: iso(DAY0 + 3 * HOUR) });
    const graph = await waitFor(async () => {
      const found = await client.lineage({ table: 'default.cpu', direction: 'downstream', depth: 2 });
      return found.edges.length > 0 ? found : undefined;
    });
    expect(graph.nodes.map((n) => n.id)).toContain('default.cpu_hourly');

    await page.goto(`${server.url}/#/lineage?table=default.cpu&direction=downstream&depth=2`);
    const svg = page.getByTestId('lineage-graph');
    await visible(svg);
    await countIs(svg.locator('g[data-node]'), graph.nodes.length);
    await countIs(svg.locator('[data-edge]'), graph.edges.length);
    await textMatches(svg, /cpu_hourly/);
    await page.screenshot({ path: artifactPath('lineage'), fullPage: true });
  });
});
