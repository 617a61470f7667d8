/**
 * vitest globalSetup: one S3-compatible server for the whole run, handed to test workers via
 * `provide('s3Server')`, and the browser console built once (scripts/build-web.mjs) for the tests
 * that load it. A part that cannot start must not stop the tests that do not need it, so its
 * failure is provided instead and thrown where the part is needed.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type S3Server, startS3Server } from './s3.js';

function buildConsole(): { error?: string } {
  const script = resolve(import.meta.dirname, '../../scripts/build-web.mjs');
  const result = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  return result.status === 0 ? {} : { error: `${script} failed: ${result.stderr || result.stdout}`.trim() };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: S3Server | undefined;
  try {
    server = await startS3Server();
    project.provide('s3Server', { endpoint: server.endpoint });
  } catch (error) {
    project.provide('s3Server', { error: (error as Error).message });
  }
  project.provide('consoleBuild', buildConsole());
  return async () => {
    await server?.stop();
  };
}
