/** The real `weir` binary from source, as a child process whose stdout lines tests can wait for. */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');

export interface Proc {
  child: ChildProcess;
  stdout: string[];
  stderr: string;
  exited: Promise<number | null>;
}

/**
 * `weir <args>` from source, with a clean WEIR_* / REDIS_URL environment plus `env` (and optional Node
 * flags). `detached` gives it its own process group, as a terminal's foreground job has.
 */
export function weir(
  args: string[],
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
  options: { detached?: boolean } = {},
): Proc {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('WEIR_') && !key.endsWith('REDIS_URL')),
  );
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'bin/weir.ts', ...args], {
    cwd: repo,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const proc: Proc = {
    child,
    stdout: [],
    stderr: '',
    exited: new Promise((done) => child.on('exit', (code) => done(code))),
  };
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    proc.stdout.push(...lines);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    proc.stderr += chunk;
  });
  return proc;
}

export async function waitForLine(
  proc: Proc,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of proc.stdout) {
      const match = line.match(pattern);
      if (match) return match;
    }
    if (proc.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no line matching ${pattern}; stdout:\n${proc.stdout.join('\n')}\nstderr:\n${proc.stderr}`);
}

/** The bootstrap token line of the banner `weir serve` prints once. */
export const TOKEN_LINE = /^\s+(weir_[A-Za-z0-9_-]{43})$/;
