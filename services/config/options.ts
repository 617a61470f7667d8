import { z } from 'zod';
import { configSchema } from './schema.js';

/** One leaf of the config schema, described from its JSON Schema. */
export interface ConfigOption {
  /** Dotted key, as written in the config file (`s3.bucket` is `{"s3": {"bucket": …}}`). */
  key: string;
  /** Environment variables that set it; the first one set wins. */
  env: readonly string[];
  type: 'string' | 'integer' | 'boolean';
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description: string;
  /** Never echoed in errors or `weir config`. */
  secret: boolean;
}

/** Environment variables per option. A test checks every option has an entry. */
export const ENV_NAMES: Readonly<Record<string, readonly string[]>> = {
  host: ['WEIR_HOST'],
  port: ['WEIR_PORT'],
  dataDir: ['WEIR_DATA_DIR'],
  logLevel: ['WEIR_LOG_LEVEL'],
  workers: ['WEIR_WORKERS'],
  workerProcesses: ['WEIR_WORKER_PROCESSES'],
  workerLockMs: ['WEIR_WORKER_LOCK_MS'],
  schedulerIntervalMs: ['WEIR_SCHEDULER_INTERVAL_MS'],
  shutdownTimeoutMs: ['WEIR_SHUTDOWN_TIMEOUT_MS'],
  heapGrowingPercent: ['WEIR_HEAP_GROWING_PERCENT'],
  'auth.bootstrapToken': ['WEIR_BOOTSTRAP_TOKEN'],
  'auth.cacheTtlMs': ['WEIR_AUTH_CACHE_TTL_MS'],
  'ingest.durability': ['WEIR_INGEST_DURABILITY'],
  'ingest.walDir': ['WEIR_INGEST_WAL_DIR'],
  'ingest.maxBufferRows': ['WEIR_INGEST_MAX_BUFFER_ROWS'],
  'ingest.maxBufferBytes': ['WEIR_INGEST_MAX_BUFFER_BYTES'],
  'ingest.maxBufferAgeMs': ['WEIR_INGEST_MAX_BUFFER_AGE_MS'],
  'ingest.maxTotalBufferBytes': ['WEIR_INGEST_MAX_TOTAL_BUFFER_BYTES'],
  'ingest.maxStagingBacklog': ['WEIR_INGEST_MAX_STAGING_BACKLOG'],
  'ingest.maxBodyBytes': ['WEIR_INGEST_MAX_BODY_BYTES'],
  'ingest.maxDecompressedBytes': ['WEIR_INGEST_MAX_DECOMPRESSED_BYTES'],
  'query.timeoutMs': ['WEIR_QUERY_TIMEOUT_MS'],
  'query.maxRows': ['WEIR_QUERY_MAX_ROWS'],
  'query.maxBytes': ['WEIR_QUERY_MAX_BYTES'],
  'query.threads': ['WEIR_QUERY_THREADS'],
  'query.memoryLimit': ['WEIR_QUERY_MEMORY_LIMIT'],
  'query.maxEngines': ['WEIR_QUERY_MAX_ENGINES'],
  'query.cacheDir': ['WEIR_QUERY_CACHE_DIR'],
  'query.maxCacheBytes': ['WEIR_QUERY_MAX_CACHE_BYTES'],
  'query.resultCacheBytes': ['WEIR_QUERY_RESULT_CACHE_BYTES'],
  'delete.confirmationThreshold': ['WEIR_DELETE_CONFIRMATION_THRESHOLD'],
  'delete.maxRows': ['WEIR_DELETE_MAX_ROWS'],
  'delete.runTimeoutMs': ['WEIR_DELETE_RUN_TIMEOUT_MS'],
  'browser.urlTtlSeconds': ['WEIR_BROWSER_URL_TTL_SECONDS'],
  'browser.maxUrlTtlSeconds': ['WEIR_BROWSER_MAX_URL_TTL_SECONDS'],
  'browser.signingSecret': ['WEIR_SIGNING_SECRET'],
  storage: ['WEIR_STORAGE'],
  's3.bucket': ['WEIR_S3_BUCKET'],
  's3.prefix': ['WEIR_S3_PREFIX'],
  's3.region': ['WEIR_S3_REGION'],
  's3.endpoint': ['WEIR_S3_ENDPOINT'],
  's3.forcePathStyle': ['WEIR_S3_FORCE_PATH_STYLE'],
  's3.accessKeyId': ['WEIR_S3_ACCESS_KEY_ID'],
  's3.secretAccessKey': ['WEIR_S3_SECRET_ACCESS_KEY'],
  'redis.url': ['WEIR_REDIS_URL', 'REDIS_URL'],
  'redis.probeLocal': ['WEIR_REDIS_PROBE_LOCAL'],
  'redis.serverPath': ['WEIR_REDIS_SERVER'],
};

const SECRET_KEYS = new Set(['s3.secretAccessKey', 'auth.bootstrapToken', 'browser.signingSecret']);

interface JsonSchemaNode {
  type?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description?: string;
  properties?: Record<string, JsonSchemaNode>;
}

function collect(node: JsonSchemaNode, prefix: string, out: ConfigOption[]): void {
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (child.type === 'object') {
      collect(child, key, out);
      continue;
    }
    if (child.type !== 'string' && child.type !== 'integer' && child.type !== 'boolean') {
      throw new Error(`config option ${key} has unsupported type ${String(child.type)}`);
    }
    out.push({
      key,
      env: ENV_NAMES[key] ?? [],
      type: child.type,
      ...(child.enum ? { enum: child.enum } : {}),
      // zod writes MAX_SAFE_INTEGER for an unbounded int; that is no limit worth documenting.
      ...(child.minimum !== undefined ? { minimum: child.minimum } : {}),
      ...(child.maximum !== undefined && child.maximum < Number.MAX_SAFE_INTEGER
        ? { maximum: child.maximum }
        : {}),
      ...('default' in child ? { default: child.default } : {}),
      description: child.description ?? '',
      secret: SECRET_KEYS.has(key),
    });
  }
}

let cached: readonly ConfigOption[] | undefined;

/** Every config option, in schema order. */
export function configOptions(): readonly ConfigOption[] {
  if (!cached) {
    const out: ConfigOption[] = [];
    collect(z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchemaNode, '', out);
    cached = out;
  }
  return cached;
}
