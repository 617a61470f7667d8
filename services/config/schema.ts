import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** S3 presigned URLs live at most seven days (catalog/signing), so no signed URL may outlive that. */
const MAX_URL_TTL_SECONDS = 7 * 24 * 3600;

/**
 * A size as DuckDB's memory_limit parses it. DuckDB reads it only when a tenant's engine opens, on
 * its first query, so a value it refuses must stop start-up instead.
 */
const DUCKDB_SIZE = /^\d+(\.\d+)?\s*([KMGT]i?)?B$/i;

const redisUrl = z
  .string()
  .regex(/^(redis|rediss|unix):\/\/.+/, 'must be a redis://, rediss:// or unix:// URL')
  .optional();

/**
 * The whole configuration. Every leaf carries a description and, where it has one, a default:
 * the docs table (`renderConfigTable`) is generated from this schema, so it cannot drift.
 */
export const configSchema = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').describe('Address the HTTP API listens on.'),
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(8000)
      .describe('TCP port of the HTTP API (0 = any free port).'),
    dataDir: z
      .string()
      .min(1)
      .default('./data')
      .describe(
        'Directory for local state: the local object store (`objects/`) and the private Redis (`redis/`).',
      ),
    logLevel: z.enum(LOG_LEVELS).default('info').describe('Level of the structured JSON logs.'),
    workers: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(2)
      .describe('Tasks each queue runs at once in a `weir serve` or `weir worker` process.'),
    workerProcesses: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(1)
      .describe(
        '`weir serve` runs its task workers in this many child `weir worker` processes, off the API event loop; 0 runs them inside the API process.',
      ),
    workerLockMs: z
      .number()
      .int()
      .min(500)
      .default(30_000)
      .describe(
        'A task whose worker stops renewing its lock for this long (it died) is redelivered to another worker.',
      ),
    schedulerIntervalMs: z
      .number()
      .int()
      .min(100)
      .default(15_000)
      .describe('How often the orchestrator looks for due schedule ticks and reconciles unfinished runs.'),
    shutdownTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe('Longest a graceful shutdown may take before the process exits non-zero.'),
    heapGrowingPercent: z
      .number()
      .int()
      .min(0)
      .max(900)
      .default(300)
      .describe(
        'After a full garbage collection the JS heap may grow to (1 + n/100) × what survived before the next one (V8 `--heap-growing-percent`); 0 leaves it to V8. Higher means fewer full collections under sustained ingest, for more memory.',
      ),
    auth: z
      .strictObject({
        bootstrapToken: z
          .string()
          .min(32)
          .max(256)
          .optional()
          .describe(
            'Admin token of tenant `default` (also platform admin) created on first start; when unset, one is generated and printed once.',
          ),
        cacheTtlMs: z
          .number()
          .int()
          .min(0)
          .max(300_000)
          .default(5_000)
          .describe(
            'How long a node trusts a validated token; a revoke on another node takes effect within this time.',
          ),
      })
      .prefault({}),
    ingest: z
      .strictObject({
        durability: z
          .enum(['buffered', 'wal'])
          .default('wal')
          .describe(
            '`wal`: a 204 means the rows survive `kill -9` (grouped fsync); `buffered`: faster, a crash may lose the last seconds.',
          ),
        walDir: z
          .string()
          .min(1)
          .optional()
          .describe('Directory of the write-ahead log (default `<dataDir>/wal`); must be local disk.'),
        maxBufferRows: z
          .number()
          .int()
          .min(1)
          .default(200_000)
          .describe('A table buffer with this many rows is staged and flushed.'),
        maxBufferBytes: z
          .number()
          .int()
          .min(1024)
          .default(64 * 1024 * 1024)
          .describe('A table buffer holding this many bytes is staged and flushed.'),
        maxBufferAgeMs: z
          .number()
          .int()
          .min(10)
          .default(5_000)
          .describe('A table buffer older than this is staged and flushed.'),
        maxTotalBufferBytes: z
          .number()
          .int()
          .min(1024)
          .default(512 * 1024 * 1024)
          .describe('Writes answer 429 with Retry-After while all buffers together hold more than this.'),
        maxStagingBacklog: z
          .number()
          .int()
          .min(1)
          .default(64)
          .describe(
            'Writes answer 429 with Retry-After while this many staged batches of this node await their flush.',
          ),
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .default(64 * 1024 * 1024)
          .describe('Largest request body as sent (413 above).'),
        maxDecompressedBytes: z
          .number()
          .int()
          .min(1024)
          .default(256 * 1024 * 1024)
          .describe('Largest request body after gzip or zstd decompression (413 above).'),
      })
      .prefault({}),
    query: z
      .strictObject({
        timeoutMs: z
          .number()
          .int()
          .min(100)
          .default(60_000)
          .describe('Longest a query may run before it is stopped (408).'),
        maxRows: z
          .number()
          .int()
          .min(1)
          .default(1_000_000)
          .describe('Most rows one answer may hold (413 above).'),
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .default(256 * 1024 * 1024)
          .describe('Largest encoded answer in bytes (413 above).'),
        threads: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe('DuckDB threads per tenant engine (default: one per core).'),
        memoryLimit: z
          .string()
          .regex(DUCKDB_SIZE, 'must be a number and a unit, e.g. 2GB or 512MiB')
          .optional()
          .describe(
            "DuckDB memory limit per tenant engine: a number and a unit, e.g. `2GB` or `512MiB` (B; KB, MB, GB, TB in powers of 1000; KiB, MiB, GiB, TiB in powers of 1024). Default: half the machine's memory shared equally by `query.maxEngines` engines.",
          ),
        maxEngines: z
          .number()
          .int()
          .min(1)
          .default(8)
          .describe('Tenant engines kept open at once (idle ones close first).'),
        cacheDir: z
          .string()
          .min(1)
          .optional()
          .describe('Local copies of data files of a remote store (default: `<dataDir>/query-cache`).'),
        maxCacheBytes: z
          .number()
          .int()
          .min(1024 * 1024)
          .default(2 * 1024 * 1024 * 1024)
          .describe('Bytes the query file cache may hold; least recently used files go first.'),
        resultCacheBytes: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe(
            'Bytes of encoded answers kept in memory for repeated queries, keyed by the statement and the catalog version, so never stale (default: 64 MiB; 0 turns it off). An answer above an eighth of it is not kept.',
          ),
      })
      .prefault({}),
    delete: z
      .strictObject({
        confirmationThreshold: z
          .number()
          .int()
          .min(0)
          .default(10_000)
          .describe('Deletes of more rows than this are named as large when refused for want of confirm.'),
        maxRows: z
          .number()
          .int()
          .min(1)
          .default(10_000_000)
          .describe('Most rows one delete may remove, even with confirm (400 above).'),
        runTimeoutMs: z
          .number()
          .int()
          .min(1000)
          .default(600_000)
          .describe('How long a delete request waits for its run (504 after; the run goes on).'),
      })
      .prefault({}),
    browser: z
      .strictObject({
        urlTtlSeconds: z
          .number()
          .int()
          .min(1)
          .max(MAX_URL_TTL_SECONDS)
          .default(300)
          .describe(
            'How long the signed data file URLs of a browser session last when the request names no `ttl_seconds`.',
          ),
        maxUrlTtlSeconds: z
          .number()
          .int()
          .min(1)
          .max(MAX_URL_TTL_SECONDS)
          .default(3600)
          .describe('Longest `ttl_seconds` a browser session may ask for (S3 presigned URLs allow 7 days).'),
        signingSecret: z
          .string()
          .min(32)
          .max(1024)
          .optional()
          .describe(
            'HMAC secret of the local store’s signed URLs (`/files/…`); when unset, one is generated once and kept in the object store under `_system/`, shared by every API node.',
          ),
      })
      .prefault({}),
    storage: z.enum(['local', 's3']).default('local').describe('Object store backend.'),
    s3: z
      .strictObject({
        bucket: z.string().min(1).optional().describe('S3 bucket (required when `storage` is `s3`).'),
        prefix: z.string().optional().describe('Key prefix inside the bucket.'),
        region: z.string().min(1).default('us-east-1').describe('S3 region.'),
        endpoint: z
          .url()
          .optional()
          .describe('Custom endpoint for MinIO, R2, moto and other S3-compatible stores.'),
        forcePathStyle: z.boolean().default(false).describe('Path-style bucket addressing (MinIO, moto).'),
        accessKeyId: z.string().min(1).optional().describe('Access key id (else the AWS SDK default chain).'),
        secretAccessKey: z
          .string()
          .min(1)
          .optional()
          .describe('Secret access key (else the AWS SDK default chain).'),
      })
      .prefault({}),
    redis: z
      .strictObject({
        url: redisUrl.describe(
          'Redis for BullMQ. When unset: 127.0.0.1:6379 if it answers, else a private redis-server.',
        ),
        probeLocal: z
          .boolean()
          .default(true)
          .describe('When no URL is set, try 127.0.0.1:6379 before starting a private redis-server.'),
        serverPath: z
          .string()
          .min(1)
          .default('redis-server')
          .describe('redis-server binary used for the private Redis.'),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.storage === 's3' && !config.s3.bucket) {
      ctx.addIssue({ code: 'custom', path: ['s3', 'bucket'], message: 'is required when storage is s3' });
    }
    if (config.browser.urlTtlSeconds > config.browser.maxUrlTtlSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['browser', 'urlTtlSeconds'],
        message: `must not exceed browser.maxUrlTtlSeconds (${config.browser.maxUrlTtlSeconds})`,
      });
    }
  });

export type WeirConfig = z.output<typeof configSchema>;
export type WeirConfigInput = z.input<typeof configSchema>;
