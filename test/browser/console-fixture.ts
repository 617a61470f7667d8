/**
 * What the console's browser tests share: the data they write, waiting on the page, and comparing
 * an answer computed in the page with the server's.
 */
import type { Locator } from 'playwright-core';
import { expect } from 'vitest';
import type { WeirClient } from '../../sdk/index.js';
import { waitFor } from '../helpers/wait.js';
import type { LastAnswer } from './console-page.js';

export const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Midnight UTC three days ago: old enough for the daily compaction tier. */
export const DAY0 = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
const HOSTS = ['h0', 'h1', 'h2', 'h3', 'h4'];
const STEP = 60_000;
/** One row per host per minute over 72 hours. */
export const FIXTURE_ROWS = HOSTS.length * ((72 * HOUR) / STEP);

export const iso = (ms: number) => new Date(ms).toISOString();

/** `cpu` in database `default` and `mem` in database `infra`, every row at a known time, then waits until both are queryable. */
export async function writeFixture(client: WeirClient): Promise<void> {
  const time: number[] = [];
  const host: string[] = [];
  for (let t = DAY0; t < DAY0 + 72 * HOUR; t += STEP)
    for (const h of HOSTS) {
      time.push(t);
      host.push(h);
    }
  const wave = (i: number, k: number) => 50 + 40 * Math.sin(i / k) + (i % 7) / 3;
  await client.writeColumnar(
    {
      table: 'cpu',
      tags: ['host'],
      columns: {
        time,
        host,
        usage_user: time.map((_, i) => wave(i, 97)),
        usage_system: time.map((_, i) => wave(i, 31) / 4),
        requests: time.map((_, i) => (i * 7919) % 1000),
      },
    },
    { database: 'default' },
  );
  await client.writeColumnar(
    { table: 'mem', tags: ['host'], columns: { time, host, used: time.map((_, i) => wave(i, 53) * 1e6) } },
    { database: 'infra' },
  );
  for (const [database, table] of [
    ['default', 'cpu'],
    ['infra', 'mem'],
  ] as const)
    await waitFor(
      async () => {
        const answer = await client
          .query(`SELECT count(*) AS n FROM ${table}`, { database })
          .catch(() => undefined);
        return Number(answer?.data[0]?.[0]) === FIXTURE_ROWS ? true : undefined;
      },
      60_000,
      200,
    );
}

export async function countIs(locator: Locator, count: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => ((await locator.count()) === count ? true : undefined), timeoutMs, 100).catch(
    async () => expect(await locator.count(), `count of ${locator}`).toBe(count),
  );
}

/** The locator's text once it matches `pattern`. */
export async function textMatches(locator: Locator, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return waitFor(
    async () => {
      const text = await locator.textContent().catch(() => null);
      return text && pattern.test(text) ? text : undefined;
    },
    timeoutMs,
    100,
  );
}

export async function serverAnswer(client: WeirClient, sql: string): Promise<LastAnswer> {
  const answer = await client.query(sql);
  return { engine: 'server', columns: answer.columns, rows: answer.data as unknown[][] };
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;
const NUMBER = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i;

/** One cell as a comparable value: timestamps as epoch ms, numbers (also as text, as bigints are) as numbers. */
function comparable(value: unknown): unknown {
  if (typeof value === 'string' && TIMESTAMP.test(value)) {
    const zoned = /(Z|[+-]\d{2}(:?\d{2})?)$/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
    return Date.parse(zoned);
  }
  if (typeof value === 'string' && NUMBER.test(value)) return Number(value);
  return value;
}

/** Same columns and rows; floats equal to 1e-9 relative (sums may add in another order). */
export function compareAnswers(actual: LastAnswer, expected: LastAnswer): void {
  expect(actual.error).toBeUndefined();
  expect(actual.columns).toEqual(expected.columns);
  expect(actual.rows.length).toBe(expected.rows.length);
  for (const [r, row] of expected.rows.entries()) {
    for (const [c, cell] of row.entries()) {
      const want = comparable(cell);
      const got = comparable(actual.rows[r]?.[c]);
      const where = `row ${r}, column ${expected.columns[c]}: ${String(actual.rows[r]?.[c])} vs ${String(cell)}`;
      if (typeof want === 'number' && typeof got === 'number')
        expect(Math.abs(got - want), where).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
      else expect(got, where).toEqual(want);
    }
  }
}
