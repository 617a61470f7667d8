/**
 * The console when things go wrong, in real headless Chromium against a real `weir serve`: a
 * storage read that fails (file gone, connection reset, signed URL refused or expired) ends the
 * browser run with an error naming the object, never its signed URL, and the page answers the next
 * query; an expired URL gets a new session once; signing out, or a saved token the server rejects,
 * forgets the user's query.
 */
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeirClient } from '../../sdk/index.js';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { assertConsoleBuilt } from '../helpers/console-build.js';
import { waitFor } from '../helpers/wait.js';
import { type SdkServer, startSdkServer } from '../sdk/server.js';
import { compareAnswers, DAY0, HOUR, iso, serverAnswer, textMatches } from './console-fixture.js';
import { runInConsole, setSql, signIn, visible } from './console-page.js';

let server: SdkServer;
let client: WeirClient;
let chromium: TestBrowser;

/** One row per host per minute over three hours: one file per hour. */
const ROWS = 2 * 3 * 60;
const COUNT = 'SELECT count(*) AS n, sum(used) AS used FROM disk';

beforeAll(async () => {
  assertConsoleBuilt();
  [server, chromium] = await Promise.all([startSdkServer(), launchChromium()]);
  client = server.client();
  const time: number[] = [];
  const host: string[] = [];
  for (let t = DAY0; t < DAY0 + 3 * HOUR; t += 60_000)
    for (const h of ['h0', 'h1']) {
      time.push(t);
      host.push(h);
    }
  await client.writeColumnar({
    table: 'disk',
    tags: ['host'],
    columns: { time, host, used: time.map((_, i) => i) },
  });
  await waitFor(
    async () => {
      const answer = await client.query('SELECT count(*) FROM disk').catch(() => undefined);
      return Number(answer?.data[0]?.[0]) === ROWS ? true : undefined;
    },
    60_000,
    200,
  );
}, 120_000);

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
});

async function newPage(token = server.token): Promise<Page> {
  const page = await (await chromium.context()).newPage();
  await signIn(page, server.url, token);
  return page;
}

/** The server's answer to a signed URL it refuses (services/api/routes/files.ts). */
const refused = (route: Route, status: number, code: string) =>
  route.fulfill({
    status,
    contentType: 'application/json',
    body: JSON.stringify({ success: false, error: code.toLowerCase(), code }),
  });

/** Counts the page's browser session requests. */
function countSessions(page: Page): { n: number } {
  const sessions = { n: 0 };
  page.on('request', (request) => {
    if (request.url().endsWith('/api/v1/browser/session')) sessions.n++;
  });
  return sessions;
}

describe('a failed storage read', () => {
  it('ends the run with the object and the status or network error, and the next query answers', async () => {
    const page = await newPage();
    // Over the first 90 minutes the page reads a footer first (hyparquet), to choose row groups.
    const cut = `${COUNT} WHERE time < '${iso(DAY0 + 90 * 60_000)}'`;
    const failures: [string, string, (route: Route) => Promise<void>, RegExp][] = [
      ['file deleted', COUNT, (route) => refused(route, 404, 'OBJECT_NOT_FOUND'), /: HTTP 404$/],
      ['URL refused', COUNT, (route) => refused(route, 403, 'SIGNATURE_INVALID'), /: HTTP 403$/],
      ['connection reset', COUNT, (route) => route.abort('connectionreset'), /: network error \(.+\)$/],
      ['footer refused', cut, (route) => refused(route, 403, 'SIGNATURE_INVALID'), /: HTTP 403$/],
    ];
    for (const [what, sql, fail, reason] of failures) {
      await page.route('**/files/**', fail);
      const answer = await runInConsole(page, 'browser', sql);
      expect(answer.error, what).toMatch(
        /^reading \/files\/tenants\/default\/data\/default\/disk\/\S+\.parquet/,
      );
      expect(answer.error, what).toMatch(reason);
      // The signed URL is a live credential: its query string is not shown.
      expect(answer.error, what).not.toMatch(/[?&](exp|sig)=/);
      await visible(page.getByTestId('query-error'));
      expect(await page.getByTestId('run-query').isEnabled()).toBe(true);
      await page.unroute('**/files/**');
      compareAnswers(await runInConsole(page, 'browser', sql), await serverAnswer(client, sql));
      // Unloaded for the next failure.
      await page.reload();
    }
    await page.context().close();
  });

  it('asks for a new session once when a signed URL has expired', async () => {
    const page = await newPage();
    const sessions = countSessions(page);
    await page.route('**/files/**', (route) =>
      sessions.n === 1 ? refused(route, 403, 'URL_EXPIRED') : route.continue(),
    );
    compareAnswers(await runInConsole(page, 'browser', COUNT), await serverAnswer(client, COUNT));
    expect(sessions.n).toBe(2);

    // URLs that expire again end the run.
    await page.unroute('**/files/**');
    await page.reload();
    sessions.n = 0;
    await page.route('**/files/**', (route) => refused(route, 403, 'URL_EXPIRED'));
    const answer = await runInConsole(page, 'browser', COUNT);
    expect(answer.error).toMatch(/^reading \/files\/\S+\.parquet: HTTP 403 \(signed URL expired\)$/);
    expect(sessions.n).toBe(2);
    await page.context().close();
  });
});

describe('the running line', () => {
  it('names the engine the run uses, not the one chosen since', async () => {
    const page = await newPage();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route('**/files/**', async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${server.url}/#/query`);
    await page.getByTestId('engine-browser').check();
    await setSql(page, COUNT);
    await page.getByTestId('run-query').click();
    await textMatches(page.getByTestId('result-status'), /^Running on the browser/);
    await page.getByTestId('engine-server').check();
    expect(await page.getByTestId('result-status').textContent()).toMatch(/^Running on the browser/);
    release();
    await textMatches(page.getByTestId('result-status'), /1 row/);
    await page.context().close();
  });
});

describe('signing out', () => {
  it("forgets the user's statement, database and engine, and what the page loaded", async () => {
    const page = await newPage();
    const sql = "SELECT host, sum(used) AS used FROM disk WHERE host = 'h1' GROUP BY host";
    await runInConsole(page, 'browser', sql);
    await runInConsole(page, 'server', sql);
    const saved = () =>
      page.evaluate(() =>
        Object.keys((globalThis as unknown as { localStorage: object }).localStorage).filter((key) =>
          key.startsWith('weir.query.'),
        ),
      );
    expect(await saved()).toEqual(expect.arrayContaining(['weir.query.sql', 'weir.query.engine']));
    await page.evaluate(() => Object.assign(globalThis, { __beforeSignOut: true }));
    await page.getByTestId('sign-out').click();
    await visible(page.getByTestId('token-input'));
    expect(await saved()).toEqual([]);
    // A new page: nothing of the previous user is left in memory.
    expect(await page.evaluate(() => '__beforeSignOut' in globalThis)).toBe(false);

    // The next user, of another tenant, starts from a clean query page.
    const other = await client.tenants.create({ id: 'acme', display_name: 'Acme' });
    await page.getByTestId('token-input').fill(other.token);
    await page.getByTestId('sign-in').click();
    await page.goto(`${server.url}/#/query`);
    await visible(page.getByTestId('sql-editor'));
    expect(await page.locator('.cm-content').textContent()).not.toContain('disk');
    expect(await page.getByTestId('engine-browser').isChecked()).toBe(true);
    await page.context().close();
  });
});

describe('a saved token the server rejects', () => {
  it("is forgotten at page start with the user's statement, database and engine", async () => {
    const { token, id } = await client.tokens.create({ name: 'revoked-later', permissions: ['read'] });
    const page = await newPage(token);
    const sql = 'SELECT count(*) AS revoked_users_count FROM disk';
    await runInConsole(page, 'server', sql);
    await page.getByTestId('database-select').selectOption('default');
    const saved = () =>
      page.evaluate(() =>
        Object.keys((globalThis as unknown as { localStorage: object }).localStorage).filter((key) =>
          key.startsWith('weir.'),
        ),
      );
    expect((await saved()).sort()).toEqual([
      'weir.query.database',
      'weir.query.engine',
      'weir.query.sql',
      'weir.token',
    ]);

    await client.tokens.revoke(id);
    await page.reload();
    await visible(page.getByTestId('sign-in-error'));
    expect(await saved()).toEqual([]);

    // The next user of this browser starts from a clean query page.
    await page.getByTestId('token-input').fill(server.token);
    await page.getByTestId('sign-in').click();
    await visible(page.getByTestId('sql-editor'));
    expect(await page.locator('.cm-content').textContent()).not.toContain('revoked_users_count');
    expect(await page.getByTestId('engine-browser').isChecked()).toBe(true);
    await page.context().close();
  });
});
