import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning, readPidFile, writePidFile } from '../process/index.js';
import { RedisUnavailableError } from './errors.js';
import { ping } from './ping.js';

export interface PrivateRedisOptions {
  /** The Redis files (socket, AOF, pid file) go to `<dataDir>/redis`. */
  dataDir: string;
  /** redis-server binary; default `redis-server` from PATH. */
  serverPath?: string;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export interface PrivateRedis {
  socketPath: string;
  pid: number;
  stop(): Promise<void>;
}

// sun_path is 108 bytes on Linux (104 on macOS); keep room for the terminator.
const MAX_SOCKET_PATH = 100;
const OUTPUT_TAIL = 4096;

const INSTALL_HINT =
  'install the OS package redis-server (Debian/Ubuntu: apt-get install redis-server; or run `npm run setup`), ' +
  'or set REDIS_URL to a Redis you run';

async function readPid(dir: string): Promise<string> {
  const text = await readFile(join(dir, 'redis.pid'), 'utf8').catch(() => '');
  return text.trim() || 'unknown';
}

/** SHUTDOWN makes redis fsync its AOF and exit; wait until the socket stops answering. */
async function shutdownOrphan(socketPath: string, timeoutMs: number): Promise<void> {
  await new Promise<void>((done) => {
    const socket = connect({ path: socketPath });
    socket.on('connect', () => socket.end('SHUTDOWN\r\n'));
    socket.on('close', () => done());
    socket.on('error', () => done());
  });
  const deadline = Date.now() + timeoutMs;
  while (await ping({ path: socketPath }, 250)) {
    if (Date.now() > deadline)
      throw new RedisUnavailableError(`the orphaned Redis at ${socketPath} did not shut down`);
    await sleep(50);
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Starts a redis-server child owned by this process: unix socket only (`--port 0`), AOF on so
 * queued work survives a restart, not daemonized so it cannot outlive a clean shutdown.
 */
export async function startPrivateRedis(options: PrivateRedisOptions): Promise<PrivateRedis> {
  const dir = resolve(options.dataDir, 'redis');
  const socketPath = join(dir, 'redis.sock');
  const serverPath = options.serverPath ?? 'redis-server';
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new RedisUnavailableError(
      `the private Redis socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes: use a shorter data directory or set REDIS_URL`,
    );
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });

  // Two servers on one AOF directory would corrupt it. A Redis whose owner died (weir killed
  // with SIGKILL) is shut down cleanly, which fsyncs its AOF, and replaced; any other refuses.
  const ownerFile = join(dir, 'owner.pid');
  if (await ping({ path: socketPath })) {
    const owner = await readPidFile(ownerFile).catch(() => undefined);
    if (owner === undefined || (await isRunning(owner))) {
      throw new RedisUnavailableError(
        `a Redis already answers at ${socketPath} (pid ${await readPid(dir)}, owner ${owner?.pid ?? 'unknown'}): ` +
          'another weir uses this data directory; stop it or use another data directory',
      );
    }
    await shutdownOrphan(socketPath, options.stopTimeoutMs ?? 10_000);
  }
  await writePidFile(ownerFile);

  // biome-ignore format: one flag and its value per line
  const args = [
    '--port', '0',
    '--unixsocket', socketPath,
    '--unixsocketperm', '700',
    '--dir', dir,
    '--appendonly', 'yes',
    '--save', '',
    '--daemonize', 'no',
    '--pidfile', join(dir, 'redis.pid'),
  ];
  // Its own process group: a terminal's Ctrl-C (SIGINT to the foreground group) must not kill it
  // before weir has stopped what uses it; weir stops it last.
  const child = spawn(serverPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });

  // Keep the pipes drained (a full pipe would block redis) and the tail for error messages.
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let spawnError: NodeJS.ErrnoException | undefined;
  child.on('error', (error: NodeJS.ErrnoException) => {
    spawnError = error;
  });
  // Last resort when this process exits without stop(): never leave an orphan redis behind.
  const killOnExit = (): void => {
    if (!hasExited(child)) child.kill('SIGTERM');
  };
  process.on('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    await rm(ownerFile, { force: true });
    if (hasExited(child) || child.pid === undefined) return;
    const exited = once(child, 'exit');
    // SIGTERM makes redis fsync the AOF and remove its socket and pid file.
    child.kill('SIGTERM');
    const timeout = sleep(options.stopTimeoutMs ?? 10_000).then(() => 'timeout' as const);
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  for (;;) {
    if (spawnError) {
      process.off('exit', killOnExit);
      throw spawnError.code === 'ENOENT' || spawnError.code === 'EACCES'
        ? new RedisUnavailableError(
            `cannot run redis-server (${serverPath}: ${spawnError.code}): ${INSTALL_HINT}`,
          )
        : new RedisUnavailableError(`cannot start redis-server (${serverPath}): ${spawnError.message}`);
    }
    if (hasExited(child)) {
      process.off('exit', killOnExit);
      throw new RedisUnavailableError(
        `redis-server exited at start (code ${child.exitCode ?? child.signalCode}):\n${output.trim()}`,
      );
    }
    if (child.pid !== undefined && (await ping({ path: socketPath }, 250))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new RedisUnavailableError(
        `redis-server did not answer at ${socketPath} in time:\n${output.trim()}`,
      );
    }
    await sleep(50);
  }
  return { socketPath, pid: child.pid!, stop };
}
