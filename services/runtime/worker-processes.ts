/**
 * `weir serve` runs its task workers as child `weir worker` processes (ADR 0017): flushes and
 * compactions are CPU-heavy JavaScript (Parquet conversion, DuckDB glue) and would otherwise share
 * the API's event loop. A child is tied to its parent by an IPC channel: when the parent dies,
 * even by `kill -9`, the channel closes and the child shuts down gracefully. A child that dies
 * while the parent runs is started again, after a wait that doubles while children keep dying
 * young (a child that cannot start, say for a bad configuration, must not spin the machine).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

export interface WorkerProcessesOptions {
  count: number;
  /** Environment the children need beyond the parent's (Redis URL, data directory, config file). */
  env: Record<string, string>;
  log: Logger;
  /** Wait before starting again a child that died; doubled while its successors die young. */
  restartDelayMs?: number;
  /** Cap of that wait. */
  maxRestartDelayMs?: number;
  /** A child that ran this long was healthy: after its death, the wait starts over. */
  healthyAfterMs?: number;
  /** Arguments of a child after Node's own path (default: this process's flags and script, `worker`). */
  childArgs?: readonly string[];
}

export interface WorkerProcesses {
  pids(): number[];
  /** SIGTERM to every child; one still running after `timeoutMs` is killed. */
  stop(timeoutMs: number): Promise<void>;
}

export function startWorkerProcesses(options: WorkerProcessesOptions): WorkerProcesses {
  const children = new Set<ChildProcess>();
  let stopping = false;
  // The same Node flags (e.g. tsx's loader) and entry script as this process, sub-command `worker`.
  const args = options.childArgs ?? [...process.execArgv, process.argv[1]!, 'worker'];
  const firstDelayMs = options.restartDelayMs ?? 1_000;
  const maxDelayMs = Math.max(firstDelayMs, options.maxRestartDelayMs ?? 60_000);
  const healthyAfterMs = options.healthyAfterMs ?? 60_000;

  const launch = (slot: number, delayMs: number): void => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...options.env, [PARENT_ENV]: String(process.pid) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    options.log.info({ pid: child.pid, slot }, 'worker process started');
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (stopping) return;
      const wait = performance.now() - startedAt >= healthyAfterMs ? firstDelayMs : delayMs;
      options.log.error(
        { pid: child.pid, code, signal, slot, restartInMs: wait },
        'worker process died; starting another',
      );
      setTimeout(() => {
        if (!stopping) launch(slot, Math.min(maxDelayMs, wait * 2));
      }, wait).unref();
    });
  };
  for (let slot = 0; slot < options.count; slot++) launch(slot, firstDelayMs);

  return {
    pids: () => [...children].flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
    async stop(timeoutMs) {
      stopping = true;
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

/** Set in the environment of a child: the pid of the `weir serve` that started it. */
const PARENT_ENV = 'WEIR_WORKER_PARENT_PID';

/**
 * In a worker started by `weir serve`: shut down when the parent's IPC channel closes (the parent is
 * gone), also when it closed before this process got here (the parent died while the child was
 * loading). An orphan must not linger: if the graceful stop hangs, it is cut after `graceMs` (its
 * tasks are redelivered to other workers, and their commits are idempotent).
 */
export function followParent(graceMs: number): void {
  if (process.env[PARENT_ENV] === undefined) return;
  const leave = (): void => {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), graceMs).unref();
  };
  if (!process.connected || !process.channel) {
    leave();
    return;
  }
  process.channel.unref();
  process.once('disconnect', leave);
}
