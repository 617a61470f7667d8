/**
 * Driving the console's pages through its test hooks (`window.__weirConsole`, `__weirRuns`,
 * `__weirLastAnswer`); used by the browser tests and bench/browser.ts (so nothing here needs vitest).
 */
import type { Locator, Page } from 'playwright-core';

export async function visible(locator: Locator, timeout = 30_000): Promise<void> {
  await locator.waitFor({ state: 'visible', timeout });
}

export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByTestId('token-input').fill(token);
  await page.getByTestId('sign-in').click();
  await visible(page.getByTestId('nav'));
}

/** `window.__weirLastAnswer`: the console's record of its last run. */
export interface LastAnswer {
  engine: 'browser' | 'server';
  columns: string[];
  rows: unknown[][];
  bytesFetched?: number;
  error?: string;
}

/** Runs `sql` on the query page with the Run button and answers what the page recorded. */
export async function runInConsole(
  page: Page,
  engine: LastAnswer['engine'],
  sql: string,
): Promise<LastAnswer> {
  if (!page.url().includes('#/query')) {
    await page.goto(new URL('/#/query', page.url()).href);
    await visible(page.getByTestId('sql-editor'));
  }
  await page.getByTestId(`engine-${engine}`).check();
  await setSql(page, sql);
  return runShownQuery(page);
}

/** Puts `sql` in the query page's editor. */
export async function setSql(page: Page, sql: string): Promise<void> {
  await page.evaluate((text) => (globalThis as never as ConsoleHooks).__weirConsole.setSql(text), sql);
}

/** Runs the query page as it stands (Run clicked, or `start`) and answers what the run recorded. */
export async function runShownQuery(
  page: Page,
  start: () => Promise<void> = () => page.getByTestId('run-query').click(),
): Promise<LastAnswer> {
  const before = await page.evaluate(() => (globalThis as never as ConsoleHooks).__weirRuns ?? 0);
  await start();
  await page.waitForFunction((n) => ((globalThis as never as ConsoleHooks).__weirRuns ?? 0) > n, before, {
    timeout: 60_000,
  });
  return page.evaluate(() => (globalThis as never as ConsoleHooks).__weirLastAnswer);
}

interface ConsoleHooks {
  __weirConsole: { setSql(text: string): void };
  __weirRuns?: number;
  __weirLastAnswer: LastAnswer;
}
