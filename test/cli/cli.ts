/**
 * Running the real `weir` binary as an operator would, to its end: exit code and whole output.
 * Every run gets an empty HOME, so no profile file of the machine running the tests leaks in.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';
import { weir } from '../helpers/weir-process.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const emptyHome = mkdtempSync(join(tmpdir(), 'weir-cli-home-'));
// Registered by the test file that imports this module, at its end.
afterAll(() => rmSync(emptyHome, { recursive: true, force: true }));

/** `weir <args>` (test/helpers/weir-process.ts), waited for until its output is complete. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const proc = weir(args, { HOME: emptyHome, ...env });
  await once(proc.child, 'close');
  return {
    code: proc.child.exitCode,
    stdout: proc.stdout.map((line) => `${line}\n`).join(''),
    stderr: proc.stderr,
  };
}

/** `weir <args>` with `input` on stdin, which the shared helper does not pipe. */
export async function runCliWithInput(
  args: string[],
  input: string,
  env: Record<string, string> = {},
): Promise<CliResult> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('WEIR_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/weir.ts', ...args], {
    cwd: resolve(import.meta.dirname, '../..'),
    env: { ...clean, HOME: emptyHome, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(input);
  await once(child, 'close');
  return { code: child.exitCode, stdout, stderr };
}

/** An expected failure is one `error:` message, never a stack trace. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text);
}
