/**
 * Headless Chromium for the console's tests (DESIGN.md §10): the OS package driven by
 * playwright-core, which never downloads a browser. A missing Chromium fails with what to install.
 * (Also used by bench/browser.ts, so nothing here needs vitest.)
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/browser');

/** Chromium's path: WEIR_TEST_CHROMIUM, else Debian's package. */
export function chromiumPath(): string {
  const path = process.env.WEIR_TEST_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `Chromium is missing at ${path}: install the OS package \`chromium\` (apt-get install -y chromium; ` +
        '`npm test` does this as root) or set WEIR_TEST_CHROMIUM to a Chromium executable',
    );
  }
  return path;
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (own storage) per test that wants one. */
  context(): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    // Without the networking flags Chromium keeps dialling Google's hosts, which this network refuses.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    // playwright-core starts Chromium with a fresh temporary profile of its own.
  });
  return {
    browser,
    context: () => browser.newContext({ viewport: { width: 1400, height: 900 } }),
    close: () => browser.close(),
  };
}

/** Where a test's screenshot goes (test-artifacts/browser/<name>.png). */
export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, `${name}.png`);
}
