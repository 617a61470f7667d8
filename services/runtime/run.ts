import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig, type WeirConfig } from '../config/index.js';
import { RedisUnavailableError } from '../redis/index.js';
import { DataDirInUseError } from './data-dir-lock.js';
import { tuneHeapGrowth } from './heap.js';
import { createLogger } from './logger.js';
import { type Role, startServer } from './server.js';
import { followParent } from './worker-processes.js';

export interface RunOptions {
  role: Role;
  /** `--config`; else WEIR_CONFIG. */
  configFile?: string;
  /** Command-line overrides by config key (`port`, `dataDir`). */
  flags: Readonly<Record<string, string | undefined>>;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals): void => {
      for (const s of SIGNALS) process.off(s, handler);
      resolve(signal);
    };
    for (const s of SIGNALS) process.on(s, handler);
  });
}

/** Loads the config or prints why it is invalid (a ConfigError is a message for people, not a crash). */
export function loadConfigOrReport(
  configFile: string | undefined,
  flags: RunOptions['flags'],
): WeirConfig | undefined {
  try {
    return loadConfig({ ...(configFile ? { file: configFile } : {}), flags });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`weir: ${error.message}\n`);
    return undefined;
  }
}

/**
 * Runs a server until SIGINT or SIGTERM, then shuts down gracefully within `shutdownTimeoutMs`.
 * Answers the process exit code: 0 after a clean shutdown, 1 when start failed, shutdown timed
 * out, or a second signal cut it short.
 */
export async function runServer(options: RunOptions): Promise<number> {
  const config = loadConfigOrReport(options.configFile, options.flags);
  if (!config) return 1;
  tuneHeapGrowth(config.heapGrowingPercent);
  const log = createLogger(config.logLevel, options.role);

  const stopRequested = nextSignal();
  if (options.role === 'worker') followParent(config.shutdownTimeoutMs + 5_000);
  // Worker processes `weir serve` starts read the same config file.
  if (options.role === 'serve' && options.configFile) process.env.WEIR_CONFIG = resolve(options.configFile);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, options.role, log);
  } catch (error) {
    if (error instanceof RedisUnavailableError || error instanceof DataDirInUseError) {
      log.fatal(error.message);
      process.stderr.write(`weir: ${error.message}\n`);
    } else {
      log.fatal({ err: error }, 'start failed');
      // The log may go to a file or be JSON on stdout: the terminal gets one plain line too.
      process.stderr.write(`weir: could not start: ${(error as Error).message ?? String(error)}\n`);
    }
    return 1;
  }
  if (server.url) {
    log.info({ url: server.url, docs: server.docsUrl }, 'listening');
    process.stdout.write(
      `Weir is listening on ${server.url}\nConsole: ${server.url}/\nAPI docs: ${server.docsUrl}\n`,
    );
  } else {
    log.info(`${options.role} started`);
    process.stdout.write(`Weir ${options.role} started\n`);
  }

  const signal = await stopRequested;
  log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
  const outcome = await Promise.race([
    server.stop().then(() => 'stopped' as const),
    sleep(config.shutdownTimeoutMs, 'timeout' as const),
    nextSignal().then(() => 'forced' as const),
  ]);
  if (outcome === 'stopped') {
    log.info('stopped');
    return 0;
  }
  log.error(
    { outcome },
    outcome === 'timeout' ? 'shutdown timed out' : 'shutdown cut short by a second signal',
  );
  return 1;
}
