/**
 * The README's "Client SDK (TypeScript)" examples are true: their `ts` blocks, joined in order
 * into one script, run in a child Node process against a real `weir serve`, and every line they
 * print is what its `// →` comment in the README says.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runTsProcess } from '../helpers/processes.js';
import { type SdkServer, startSdkServer } from './server.js';

const repo = resolve(import.meta.dirname, '../..');
const SECTION = '## Client SDK (TypeScript)';

/** The section's `ts` code blocks, in order. */
function sdkExamples(): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${SECTION}\n`);
  expect(start, `README has no "${SECTION}" section`).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + SECTION.length + 2);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

let server: SdkServer;

beforeAll(async () => {
  server = await startSdkServer();
});
afterAll(async () => {
  await server?.stop();
});

it('runs the README’s SDK examples and prints what they say', async () => {
  const blocks = sdkExamples();
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  const script = blocks.join('\n');
  const expected = [...script.matchAll(/\/\/ → (.*)$/gm)].map((match) => match[1]!);
  expect(expected.length).toBeGreaterThan(10);
  // Next to the repository's node_modules, so `apache-arrow` resolves; the SDK import points at sdk/.
  const dir = join(repo, 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'readme-sdk-examples.ts');
  writeFileSync(file, script.replace("from './sdk/index.js'", "from '../sdk/index.js'"));
  const result = await runTsProcess(file, { WEIR_URL: server.url, WEIR_TOKEN: server.token }, 180_000);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout.trimEnd().split('\n')).toEqual(expected);
}, 240_000);
