import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { createUrlSigner, LocalObjectStore, LocalUrlSigner } from '../../catalog/index.js';
import { openObjectStore } from '../../catalog/store/index.js';
import { buildApp, DOCS_PREFIX } from '../api/index.js';
import { DEFAULT_TENANT, TokenService } from '../auth/index.js';
import { BrowserSessions, SignedFiles } from '../browser/index.js';
import { objectStoreConfig, redactUrl, type WeirConfig } from '../config/index.js';
import { ContinuousQueries } from '../cq/index.js';
import { DeleteService } from '../deletes/index.js';
import { QueryService, queryFilesFor } from '../query/index.js';
import { redisHealth, resolveRedis } from '../redis/index.js';
import { lockDirectory } from './data-dir-lock.js';
import { startPlatform } from './platform.js';
import { consoleDirectory, weirVersion } from './version.js';
import { startWorkerProcesses } from './worker-processes.js';

/**
 * `serve` is the embedded default (may start a private Redis); `api` is a stateless fleet node;
 * `orchestrator` schedules and reconciles runs; `worker` executes tasks. The last two serve no HTTP.
 */
export type Role = 'serve' | 'api' | 'orchestrator' | 'worker';

export interface RunningServer {
  url: string;
  docsUrl: string;
  /** Stops accepting, lets requests in flight finish, then closes Redis, the store and the private Redis. */
  stop(): Promise<void>;
}

/** A wildcard bind address is not something to paste into a browser. */
function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** The generated admin token, printed once on stdout (never logged). */
function bootstrapBanner(tenant: string, secret: string): string {
  const rule = '-'.repeat(72);
  return [
    rule,
    `Admin token of tenant "${tenant}" (also platform admin). It is shown only this once:`,
    '',
    `    ${secret}`,
    '',
    'Send it as "Authorization: Bearer <token>". Create more tokens with POST /api/v1/auth/tokens.',
    rule,
    '',
  ].join('\n');
}

/**
 * Starts one Weir process: Redis, object store, HTTP API. Whatever started before a failure is
 * stopped again, so a failed start leaves no redis-server behind.
 */
export async function startServer(config: WeirConfig, role: Role, log: Logger): Promise<RunningServer> {
  const cleanups: Array<{ name: string; run: () => Promise<void> }> = [];
  let shutdownDeadline = 0;
  const stopAll = async (): Promise<void> => {
    shutdownDeadline = Date.now() + config.shutdownTimeoutMs;
    // Reverse start order: the API goes first so nothing uses Redis or the store while they close.
    for (const { name, run } of cleanups.splice(0).reverse()) {
      await run().catch((error: unknown) => log.error({ err: error }, `failed to stop ${name}`));
    }
  };

  try {
    // Before anything touches the data directory (private Redis, WAL recovery, query spill). The
    // other roles keep nothing there but the shared object store, and `serve`'s children share it.
    const walDir = config.ingest.walDir ? resolve(config.ingest.walDir) : join(config.dataDir, 'wal');
    if (role === 'serve' || role === 'api') {
      const lock = await lockDirectory(config.dataDir, 'data directory');
      cleanups.push({ name: 'data directory lock', run: lock.release });
      // A WAL elsewhere is node-local state of its own: two servers recovering one WAL lose rows.
      if (!isInside(walDir, config.dataDir)) {
        const walLock = await lockDirectory(walDir, 'WAL directory');
        cleanups.push({ name: 'WAL directory lock', run: walLock.release });
      }
    }
    const redis = await resolveRedis({
      url: config.redis.url,
      probeLocal: config.redis.probeLocal,
      allowPrivate: role === 'serve',
      dataDir: config.dataDir,
      serverPath: config.redis.serverPath,
    });
    cleanups.push({ name: 'redis-server', run: redis.stop });
    log.info({ redis: { kind: redis.kind, url: redactUrl(redis.url), pid: redis.pid } }, 'redis resolved');

    const storeConfig = objectStoreConfig(config);
    const store = await openObjectStore(storeConfig);
    cleanups.push({ name: 'object store', run: () => store.close() });
    log.info(
      { store: storeConfig.kind === 'local' ? storeConfig : { ...storeConfig, secretAccessKey: undefined } },
      'object store opened',
    );

    const platform = await startPlatform({
      role,
      store,
      redis: redis.options,
      log,
      workerConcurrency: config.workers,
      inProcessWorkers: config.workerProcesses === 0,
      workerLockMs: config.workerLockMs,
      schedulerIntervalMs: config.schedulerIntervalMs,
      query: config.query,
      ingest: {
        ...config.ingest,
        walDir,
      },
    });
    cleanups.push({ name: 'orchestrator and workers', run: platform.stop });
    if (role === 'serve' && config.workerProcesses > 0) {
      const workers = startWorkerProcesses({
        count: config.workerProcesses,
        env: { WEIR_REDIS_URL: redis.url, WEIR_DATA_DIR: config.dataDir },
        log,
      });
      // Stopped after the ingest buffers are staged, before the platform and the private Redis
      // (cleanups run in reverse). A child busy in a long task gets half of what is left of the
      // shutdown budget, so the rest still stops in time; its task is redelivered.
      cleanups.push({
        name: 'worker processes',
        run: () => workers.stop(Math.max(0, shutdownDeadline - Date.now()) / 2),
      });
    }
    if (role === 'orchestrator' || role === 'worker') {
      return { url: '', docsUrl: '', stop: stopAll };
    }

    const auth = new TokenService(platform.system, { cacheTtlMs: config.auth.cacheTtlMs });
    const bootstrap = await auth.bootstrap({
      tenant: DEFAULT_TENANT,
      ...(config.auth.bootstrapToken ? { token: config.auth.bootstrapToken } : {}),
    });
    if (bootstrap.created) {
      log.info({ tenant: DEFAULT_TENANT, tokenId: bootstrap.tokenId }, 'bootstrap admin token created');
    }
    // Only the process that generated the secret has it (a configured one is never printed). It is
    // printed before listening: the token exists from now on, even if the rest of the start fails.
    if (bootstrap.secret) process.stdout.write(bootstrapBanner(DEFAULT_TENANT, bootstrap.secret));

    const health = redisHealth(redis.options, (error) => log.debug({ err: error }, 'redis connection error'));
    cleanups.push({ name: 'redis connection', run: () => health.close() });
    await health
      .check()
      .catch((error: Error) => log.warn({ err: error }, 'redis does not answer yet; /ready reports 503'));

    // Spill directories of the engines this process ran before (a crash leaves them).
    const querySpill = join(config.dataDir, 'query-spill');
    await rm(querySpill, { recursive: true, force: true });
    const query = await QueryService.open({
      catalogs: platform.catalogs,
      files: queryFilesFor(
        store,
        config.query.cacheDir ? resolve(config.query.cacheDir) : join(config.dataDir, 'query-cache'),
        config.query.maxCacheBytes,
      ),
      engine: {
        maxInstances: config.query.maxEngines,
        spillDir: querySpill,
        ...(config.query.threads !== undefined ? { threads: config.query.threads } : {}),
        ...(config.query.memoryLimit !== undefined ? { memoryLimit: config.query.memoryLimit } : {}),
      },
      timeoutMs: config.query.timeoutMs,
    });
    cleanups.push({ name: 'query engines', run: async () => query.close() });
    // Browser sessions sign their URLs: presigned GetObject on S3, served by /files on the local store.
    const signer = createUrlSigner(store, { secret: config.browser.signingSecret });

    const app = await buildApp({
      logger: log,
      version: weirVersion(),
      auth,
      orchestrator: { orchestrator: platform.orchestrator, catalogs: platform.catalogs },
      cqs: {
        cqs: new ContinuousQueries({
          catalogs: platform.catalogs,
          query,
          orchestrator: platform.orchestrator,
        }),
      },
      deletes: {
        deletes: new DeleteService({ query, orchestrator: platform.orchestrator, limits: config.delete }),
      },
      browser: {
        sessions: new BrowserSessions({
          query,
          signer,
          ttl: { defaultSeconds: config.browser.urlTtlSeconds, maxSeconds: config.browser.maxUrlTtlSeconds },
        }),
      },
      ...(store instanceof LocalObjectStore && signer instanceof LocalUrlSigner
        ? { files: { files: new SignedFiles(store, signer) } }
        : {}),
      query: {
        service: query,
        catalogs: platform.catalogs,
        limits: { maxRows: config.query.maxRows, maxBytes: config.query.maxBytes },
        resultCacheBytes: config.query.resultCacheBytes,
      },
      ...(platform.ingest
        ? {
            ingest: {
              service: platform.ingest,
              maxBodyBytes: config.ingest.maxBodyBytes,
              maxDecompressedBytes: config.ingest.maxDecompressedBytes,
            },
          }
        : {}),
      console: { dir: consoleDirectory(), storageOrigins: storageOrigins(storeConfig) },
      readiness: [
        // One small listing proves the store is reachable and the credentials work.
        { name: 'object_store', check: async () => void (await store.list('_system/', { maxKeys: 1 })) },
        { name: 'redis', check: () => health.check() },
      ],
    });
    // Right after HTTP stops taking requests: acknowledged rows of `buffered` mode live only in
    // the buffers until staged, so nothing may use up the shutdown budget before.
    const ingest = platform.ingest;
    if (ingest) cleanups.push({ name: 'ingest buffers', run: () => ingest.close() });
    cleanups.push({ name: 'http server', run: () => app.close() });
    await app.listen({ host: config.host, port: config.port });

    const { port } = app.server.address() as AddressInfo;
    const url = `http://${displayHost(config.host)}:${port}`;
    return { url, docsUrl: `${url}${DOCS_PREFIX}`, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Origins the console fetches presigned URLs from: the S3 endpoint, or its bucket subdomains. */
function storageOrigins(store: ReturnType<typeof objectStoreConfig>): string[] {
  if (store.kind !== 's3') return [];
  if (!store.endpoint) return ['https://*.amazonaws.com'];
  const endpoint = new URL(store.endpoint);
  return [endpoint.origin, `${endpoint.protocol}//*.${endpoint.host}`];
}

/** Whether `path` is `dir` or lies under it, as written (symlinks are not followed). */
function isInside(path: string, dir: string): boolean {
  const rest = relative(resolve(dir), resolve(path));
  return !isAbsolute(rest) && rest !== '..' && !rest.startsWith(`..${sep}`);
}
