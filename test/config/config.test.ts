import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  configOptions,
  loadConfig,
  objectStoreConfig,
  README_MARKERS,
  redactConfig,
  redactUrl,
  renderConfigTable,
} from '../../services/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'weir-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has validated defaults', () => {
    expect(loadConfig({ env: {}, cwd: '/srv/weir' })).toEqual({
      host: '0.0.0.0',
      port: 8000,
      dataDir: '/srv/weir/data',
      logLevel: 'info',
      workers: 2,
      workerProcesses: 1,
      workerLockMs: 30_000,
      schedulerIntervalMs: 15_000,
      shutdownTimeoutMs: 10_000,
      heapGrowingPercent: 300,
      auth: { cacheTtlMs: 5_000 },
      ingest: {
        durability: 'wal',
        maxBufferRows: 200_000,
        maxBufferBytes: 64 * 1024 * 1024,
        maxBufferAgeMs: 5_000,
        maxTotalBufferBytes: 512 * 1024 * 1024,
        maxStagingBacklog: 64,
        maxBodyBytes: 64 * 1024 * 1024,
        maxDecompressedBytes: 256 * 1024 * 1024,
      },
      query: {
        timeoutMs: 60_000,
        maxRows: 1_000_000,
        maxBytes: 256 * 1024 * 1024,
        maxEngines: 8,
        maxCacheBytes: 2 * 1024 * 1024 * 1024,
      },
      delete: { confirmationThreshold: 10_000, maxRows: 10_000_000, runTimeoutMs: 600_000 },
      browser: { urlTtlSeconds: 300, maxUrlTtlSeconds: 3600 },
      storage: 'local',
      s3: { region: 'us-east-1', forcePathStyle: false },
      redis: { probeLocal: true, serverPath: 'redis-server' },
    });
  });

  it('reads the file, then env over the file, then flags over env', () => {
    const file = writeConfig('layered.json', {
      port: 9100,
      logLevel: 'debug',
      s3: { region: 'eu-west-1' },
      redis: { probeLocal: false },
    });
    const env = { WEIR_PORT: '9200', WEIR_S3_FORCE_PATH_STYLE: 'true', WEIR_WORKERS: '4' };
    const config = loadConfig({ file, env });
    expect(config.port).toBe(9200);
    expect(config.logLevel).toBe('debug');
    expect(config.workers).toBe(4);
    expect(config.s3).toEqual({ region: 'eu-west-1', forcePathStyle: true });
    expect(config.redis.probeLocal).toBe(false);

    const flagged = loadConfig({ file, env, flags: { port: '9300', dataDir: 'state' }, cwd: '/srv' });
    expect(flagged.port).toBe(9300);
    expect(flagged.dataDir).toBe('/srv/state');
  });

  it('finds the file through WEIR_CONFIG and treats empty variables as unset', () => {
    const file = writeConfig('via-env.json', { host: '127.0.0.1' });
    const config = loadConfig({ env: { WEIR_CONFIG: file, WEIR_PORT: '' } });
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8000);
  });

  it('takes WEIR_REDIS_URL over REDIS_URL', () => {
    expect(loadConfig({ env: { REDIS_URL: 'redis://a:6379' } }).redis.url).toBe('redis://a:6379');
    const both = loadConfig({ env: { REDIS_URL: 'redis://a:6379', WEIR_REDIS_URL: 'redis://b:6379' } });
    expect(both.redis.url).toBe('redis://b:6379');
  });

  it('rejects bad values naming the key, the value and where it came from', () => {
    const fromEnv = configError(() =>
      loadConfig({ env: { WEIR_PORT: 'eighty', WEIR_REDIS_PROBE_LOCAL: 'maybe' } }),
    );
    expect(fromEnv.message).toContain('port = "eighty" (from env WEIR_PORT)');
    expect(fromEnv.message).toContain('redis.probeLocal = "maybe" (from env WEIR_REDIS_PROBE_LOCAL)');
    expect(fromEnv.problems).toHaveLength(2);

    const file = writeConfig('bad.json', { port: 70_000, logLevel: 'loud' });
    const fromFile = configError(() => loadConfig({ file, env: {} }));
    expect(fromFile.message).toContain(`port = 70000 (from config file ${file})`);
    expect(fromFile.message).toContain('logLevel = "loud"');

    // 0 used to run one task at a time: a process that runs task workers runs at least one.
    const noWorkers = configError(() => loadConfig({ env: { WEIR_WORKERS: '0' } }));
    expect(noWorkers.message).toContain('workers = "0" (from env WEIR_WORKERS): Too small');

    const fromFlag = configError(() => loadConfig({ env: {}, flags: { port: '-1' } }));
    expect(fromFlag.message).toContain('port = "-1" (from flag --port)');

    const badUrl = configError(() => loadConfig({ env: { REDIS_URL: 'localhost:6379' } }));
    expect(badUrl.message).toContain('redis.url = "localhost:6379" (from env REDIS_URL)');

    const longTtl = configError(() =>
      loadConfig({ env: { WEIR_BROWSER_URL_TTL_SECONDS: '7200', WEIR_BROWSER_MAX_URL_TTL_SECONDS: '3600' } }),
    );
    expect(longTtl.message).toContain('browser.urlTtlSeconds');
    expect(longTtl.message).toContain('must not exceed browser.maxUrlTtlSeconds (3600)');
  });

  it('takes the memory limits DuckDB takes and refuses others at start', async () => {
    // DuckDB reads the limit only when a tenant's engine opens: each form must open a real one.
    for (const limit of ['2GB', '1.5 gb', '512MiB', '1TiB', '1000000000B', '64kb']) {
      expect(loadConfig({ env: { WEIR_QUERY_MEMORY_LIMIT: limit } }).query.memoryLimit).toBe(limit);
      (await DuckDBInstance.create(':memory:', { memory_limit: limit })).closeSync();
    }
    for (const limit of ['lots', '2XB', '50%', '1000', 'GB']) {
      expect(configError(() => loadConfig({ env: { WEIR_QUERY_MEMORY_LIMIT: limit } })).message).toContain(
        `query.memoryLimit = "${limit}" (from env WEIR_QUERY_MEMORY_LIMIT): must be a number and a unit, e.g. 2GB`,
      );
      await expect(DuckDBInstance.create(':memory:', { memory_limit: limit }), limit).rejects.toThrow();
    }
  });

  it('refuses an unknown WEIR_ variable, naming the nearest known one', () => {
    const typo = configError(() =>
      loadConfig({ env: { WEIR_INGEST_DURABLITI: 'buffered', WEIR_PORT: 'eighty', REDIS_URLS: 'x' } }),
    );
    expect(typo.problems).toEqual([
      'unknown environment variable WEIR_INGEST_DURABLITI (did you mean WEIR_INGEST_DURABILITY?)',
      'port = "eighty" (from env WEIR_PORT): Invalid input: expected number, received string',
    ]);
  });

  it('takes every WEIR_ variable the code, tests and scripts read', () => {
    const root = resolve(import.meta.dirname, '../..');
    const dirs = [
      'bin',
      'cli',
      'sdk',
      'services',
      'scripts',
      'test',
      'bench',
      '.ci',
      'catalog',
      'workers',
      'web',
    ];
    const names = new Set<string>();
    for (const dir of dirs) {
      for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
        const path = join(entry.parentPath, entry.name);
        // This file names misspelled variables on purpose.
        if (!entry.isFile() || path.includes('node_modules') || path === import.meta.filename) continue;
        for (const [name] of readFileSync(path, 'utf8').matchAll(/\bWEIR_[A-Z][A-Z0-9_]*/g)) names.add(name);
      }
    }
    expect(names).toContain('WEIR_TOKEN');
    // Empty values count as unset, so only the names are checked here.
    expect(() => loadConfig({ env: Object.fromEntries([...names].map((name) => [name, ''])) })).not.toThrow();
  });

  it('rejects unknown keys, missing S3 bucket, unreadable and non-JSON files', () => {
    const typo = writeConfig('typo.json', { prot: 1, s3: { buckett: 'x' } });
    const unknown = configError(() => loadConfig({ file: typo, env: {} }));
    expect(unknown.message).toContain('unknown key "prot"');
    expect(unknown.message).toContain('unknown key "s3.buckett"');

    const noBucket = configError(() => loadConfig({ env: { WEIR_STORAGE: 's3' } }));
    expect(noBucket.message).toContain('s3.bucket (set WEIR_S3_BUCKET');

    expect(configError(() => loadConfig({ file: join(dir, 'absent.json'), env: {} })).message).toContain(
      'cannot read config file',
    );
    const notJson = writeConfig('not.json', '{ port: 1 ');
    expect(configError(() => loadConfig({ file: notJson, env: {} })).message).toContain('is not valid JSON');
  });

  it('never echoes a secret', () => {
    const file = writeConfig('secret.json', { s3: { secretAccessKey: 12345 } });
    const error = configError(() => loadConfig({ file, env: {} }));
    expect(error.message).toContain('s3.secretAccessKey = "***"');
    expect(error.message).not.toContain('12345');

    const config = loadConfig({
      env: {
        WEIR_S3_SECRET_ACCESS_KEY: 'hunter2',
        REDIS_URL: 'redis://u:pw@h:6379',
        WEIR_SIGNING_SECRET: 'signing-secret-of-at-least-32-characters',
        WEIR_BOOTSTRAP_TOKEN: 'weir_bootstrap_token_of_at_least_32_chars',
      },
    });
    expect(config.browser.signingSecret).toBe('signing-secret-of-at-least-32-characters');
    const redacted = redactConfig(config);
    const shown = JSON.stringify(redacted);
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('signing-secret');
    expect(shown).not.toContain('bootstrap_token');
    expect(shown).not.toContain(':pw@');
    expect(redacted.auth.bootstrapToken).toBe('***');
    expect(redacted.redis.url).toBe('redis://u:***@h:6379');
    // Masking works on a copy: the running config keeps its secrets.
    expect(config.auth.bootstrapToken).toBe('weir_bootstrap_token_of_at_least_32_chars');
  });

  it('hides the password of a URL in errors and in the shown config, up to its last @, and secret query parameters', () => {
    const badScheme = configError(() =>
      loadConfig({ env: { WEIR_REDIS_URL: 'http://admin:S3cret@redis.internal:6379' } }),
    );
    expect(badScheme.message).toContain('redis.url = "http://admin:***@redis.internal:6379"');
    expect(badScheme.message).not.toContain('S3cret');

    const file = writeConfig('redis-url.json', { redis: { url: 'tcp://:p@ss#w/rd@redis.internal' } });
    const fromFile = configError(() => loadConfig({ file, env: {} }));
    expect(fromFile.message).toContain('redis.url = "tcp://:***@redis.internal" (from config file');

    const config = loadConfig({ env: { REDIS_URL: 'redis://admin:p@ssw0rd-SECRET@redis.internal:6379/0' } });
    expect(redactConfig(config).redis.url).toBe('redis://admin:***@redis.internal:6379/0');
    expect(redactUrl('redis://admin@redis.internal:6379')).toBe('redis://admin@redis.internal:6379');
    expect(redactUrl('unix:///run/redis:6379/redis.sock')).toBe('unix:///run/redis:6379/redis.sock');
    expect(redactUrl('redis://redis.internal:6379/0?db=1&password=S3cret&family=6')).toBe(
      'redis://redis.internal:6379/0?db=1&password=***&family=6',
    );
    expect(redactUrl('https://s3.local/b?X-Amz-Secret=ab%2Fc#x')).toBe(
      'https://s3.local/b?X-Amz-Secret=***#x',
    );
  });

  it('makes the process exit non-zero with the bad key on stderr', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/weir.ts', 'serve'], {
      cwd: resolve(import.meta.dirname, '../..'),
      env: { ...process.env, WEIR_PORT: 'eighty' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('port = "eighty" (from env WEIR_PORT)');
  });
});

describe('objectStoreConfig', () => {
  it('puts the local store under the data directory', () => {
    const config = loadConfig({ env: { WEIR_DATA_DIR: '/var/lib/weir' } });
    expect(objectStoreConfig(config)).toEqual({ kind: 'local', root: '/var/lib/weir/objects' });
  });

  it('maps every S3 option', () => {
    const config = loadConfig({
      env: {
        WEIR_STORAGE: 's3',
        WEIR_S3_BUCKET: 'lake',
        WEIR_S3_PREFIX: 'weir',
        WEIR_S3_REGION: 'eu-central-1',
        WEIR_S3_ENDPOINT: 'http://127.0.0.1:9000',
        WEIR_S3_FORCE_PATH_STYLE: '1',
        WEIR_S3_ACCESS_KEY_ID: 'id',
        WEIR_S3_SECRET_ACCESS_KEY: 'secret',
      },
    });
    expect(objectStoreConfig(config)).toEqual({
      kind: 's3',
      bucket: 'lake',
      prefix: 'weir',
      region: 'eu-central-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      accessKeyId: 'id',
      secretAccessKey: 'secret',
    });
  });
});

describe('config documentation', () => {
  it('describes every option and names its environment variable', () => {
    for (const option of configOptions()) {
      expect(option.description, option.key).not.toBe('');
      expect(option.env.length, option.key).toBeGreaterThan(0);
    }
    const table = renderConfigTable();
    for (const option of configOptions()) expect(table).toContain(`| \`${option.key}\` |`);
  });

  const readme = resolve(import.meta.dirname, '../../README.md');
  it('README holds the generated options table', () => {
    const text = readFileSync(readme, 'utf8');
    const start = text.indexOf(README_MARKERS.start);
    const end = text.indexOf(README_MARKERS.end);
    expect(start, `README.md lacks ${README_MARKERS.start}`).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const inReadme = text.slice(start + README_MARKERS.start.length, end).trim();
    expect(inReadme, 'README options table is stale: paste the output of `npm run config-docs`').toBe(
      renderConfigTable(),
    );
  });
});
