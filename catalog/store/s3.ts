/**
 * Object store on an S3-compatible bucket (AWS S3, MinIO, R2, moto). Put-if-absent is a
 * conditional PutObject (`If-None-Match: *`): 412 means another writer holds the key
 * (DESIGN.md §4). An optional key prefix from the config is applied transparently.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { ObjectNotFoundError, StoreUnreachableError } from '../errors.js';
import { assertSafeKey, assertSafePrefix } from '../paths.js';
import { assertByteRange, assertDirectoryPrefix, listAllPages, maxKeysOf } from './arguments.js';
import { bodyBytes, type ObjectBody } from './body.js';
import type { S3StoreConfig } from './index.js';
import type { ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore } from './types.js';

/** Attempts of a conditional put that keeps meeting 409 ConditionalRequestConflict. */
const CONFLICT_ATTEMPTS = 5;
const CONFLICT_BACKOFF_MS = 20;

interface SdkError {
  name?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

function sdkError(error: unknown): SdkError {
  return typeof error === 'object' && error !== null ? (error as SdkError) : {};
}

function statusOf(error: unknown): number | undefined {
  return sdkError(error).$metadata?.httpStatusCode;
}

/** A missing key (GetObject says NoSuchKey; HeadObject has no body, so only 404 NotFound). */
function isMissingKey(error: unknown): boolean {
  const { name } = sdkError(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (statusOf(error) === 404 && name !== 'NoSuchBucket');
}

function isPreconditionFailed(error: unknown): boolean {
  return sdkError(error).name === 'PreconditionFailed' || statusOf(error) === 412;
}

/** 409 ConditionalRequestConflict (or the older OperationAborted): a concurrent write; retry. */
function isConditionalConflict(error: unknown): boolean {
  return statusOf(error) === 409;
}

function isInvalidRange(error: unknown): boolean {
  return sdkError(error).name === 'InvalidRange' || statusOf(error) === 416;
}

/** Errors of the socket, not of S3: the endpoint is down or unknown. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);

/**
 * Why the bucket as a whole cannot be used, when `error` says so: gone, refusing these
 * credentials, or unreachable. Undefined for errors about one request or object.
 */
function bucketUnusable(error: unknown): string | undefined {
  const status = statusOf(error);
  if (sdkError(error).name === 'NoSuchBucket') return 'does not exist';
  if (status === 403) return 'refuses these credentials (403)';
  const code = (error as { code?: unknown } | null)?.code;
  if (status === undefined && typeof code === 'string' && NETWORK_ERROR_CODES.has(code))
    return `cannot be reached: ${(error as Error).message || code}`;
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** `a/b/` for a configured prefix `a/b`, `/a/b/` or `a/b/`; '' for none. */
function normalizeKeyPrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${assertSafeKey(trimmed)}/`;
}

function clientConfig(config: S3StoreConfig): S3ClientConfig {
  const options: S3ClientConfig = { region: config.region, forcePathStyle: config.forcePathStyle ?? false };
  if (config.endpoint) {
    options.endpoint = config.endpoint;
    // Many S3-compatible servers reject or mishandle the SDK's default flexible checksums.
    options.requestChecksumCalculation = 'WHEN_REQUIRED';
    options.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  if (config.accessKeyId && config.secretAccessKey) {
    options.credentials = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
  }
  return options;
}

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  private readonly keyPrefix: string;

  constructor(config: S3StoreConfig) {
    this.bucket = config.bucket;
    this.keyPrefix = normalizeKeyPrefix(config.prefix);
    this.client = new S3Client(clientConfig(config));
  }

  /**
   * Fails, saying why, unless the bucket exists and these credentials reach it. HeadObject answers
   * a missing bucket with the bare 404 of a missing key, so without this a misnamed bucket would
   * read as an empty store.
   */
  async checkBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const why =
        statusOf(error) === 404
          ? 'does not exist'
          : (bucketUnusable(error) ??
            `cannot be reached: ${error instanceof Error && error.message ? error.message : (sdkError(error).name ?? String(error))}`);
      throw this.unusable(why);
    }
  }

  private unusable(why: string): StoreUnreachableError {
    return new StoreUnreachableError(`S3 bucket "${this.bucket}" ${why}`);
  }

  /**
   * Makes a request; an error that makes the whole bucket unusable (deleted while we run, keys
   * revoked, endpoint down) becomes a StoreUnreachableError (503), so no caller takes it for a
   * fault of one object, or answers 500.
   */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      const why = bucketUnusable(error);
      throw why === undefined ? error : this.unusable(why);
    }
  }

  /** The object key inside the bucket (config prefix + key), e.g. for presigning a GetObject. */
  fullKey(key: string): string {
    return this.keyPrefix + assertSafeKey(key);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const Key = this.fullKey(key);
    if (range) assertByteRange(range);
    // HTTP cannot ask for zero bytes; answer empty once we know the object exists.
    if (range?.length === 0) {
      if (!(await this.head(key))) throw new ObjectNotFoundError(key);
      return new Uint8Array(0);
    }
    try {
      const out = await this.call(() =>
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range: rangeHeader(range) })),
      );
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    } catch (error) {
      if (isMissingKey(error)) throw new ObjectNotFoundError(key);
      // 416: the range starts at or past the end of an existing object; same as local: empty.
      if (range && isInvalidRange(error)) return new Uint8Array(0);
      throw error;
    }
  }

  async getIfExists(key: string): Promise<Uint8Array | undefined> {
    try {
      return await this.get(key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * A one-byte ranged GET rather than HeadObject: a HEAD has no body, so a bucket deleted while we
   * run answers with the bare 404 of a missing key and would read as an empty store. The GET costs
   * the same round trip and says NoSuchKey or NoSuchBucket. Only an empty object (416) is asked
   * again with HeadObject.
   */
  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.fullKey(key);
    try {
      const out = await this.call(() =>
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range: 'bytes=0-0' })),
      );
      await out.Body?.transformToByteArray();
      return objectInfo(key, totalSize(out.ContentRange) ?? out.ContentLength ?? 0, out);
    } catch (error) {
      if (isMissingKey(error)) return undefined;
      if (isInvalidRange(error)) return this.headObject(key);
      throw error;
    }
  }

  private async headObject(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.call(() =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
      );
      return objectInfo(key, out.ContentLength ?? 0, out);
    } catch (error) {
      if (isMissingKey(error)) return undefined;
      throw error;
    }
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    await this.call(() =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: bodyBytes(body) }),
      ),
    );
  }

  async putIfAbsent(key: string, parts: ObjectBody): Promise<boolean> {
    const Key = this.fullKey(key);
    // One buffer: the request signs and sends a length-known body, and a retry compares bytes.
    const body = bodyBytes(parts);
    // Whether a request of this call may have landed without our hearing of it: the SDK sent one
    // again (a lost response). From then on an object in place may be our own.
    let mayHaveLanded = false;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.call(() =>
          this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, IfNoneMatch: '*' })),
        );
        return true;
      } catch (error) {
        mayHaveLanded ||= (sdkError(error).$metadata?.attempts ?? 1) > 1;
        const conflict = isConditionalConflict(error);
        if (!isPreconditionFailed(error) && !conflict) throw error;
        if (conflict && attempt < CONFLICT_ATTEMPTS) {
          await sleep(CONFLICT_BACKOFF_MS * attempt * (0.5 + Math.random()));
          continue;
        }
        // A 412, or a 409 that never cleared: we lost, unless the object in place is ours.
        const stored = mayHaveLanded || conflict ? await this.getIfExists(key) : undefined;
        if (conflict && stored === undefined) throw error;
        return mayHaveLanded && stored !== undefined && bytesEqual(stored, body);
      }
    }
  }

  async delete(key: string): Promise<void> {
    await this.call(() =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
    );
  }

  async list(prefix: string, options?: ListOptions): Promise<ListPage> {
    assertSafePrefix(prefix);
    const startAfter = options?.startAfter;
    const out = await this.call(() =>
      this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.keyPrefix + prefix || undefined,
          StartAfter: startAfter === undefined ? undefined : this.keyPrefix + startAfter,
          ContinuationToken: options?.continuationToken,
          MaxKeys: maxKeysOf(options),
        }),
      ),
    );
    const objects = (out.Contents ?? []).map((o) =>
      objectInfo(o.Key!.slice(this.keyPrefix.length), o.Size ?? 0, o),
    );
    return out.IsTruncated && out.NextContinuationToken
      ? { objects, nextToken: out.NextContinuationToken }
      : { objects };
  }

  listAll(prefix: string, options?: Pick<ListOptions, 'startAfter'>): AsyncIterable<ObjectInfo> {
    return listAllPages((p, o) => this.list(p, o), prefix, options);
  }

  /** PutObject is atomic and this store never starts multipart uploads: no write leaves anything behind. */
  async removeIncompleteWrites(prefix: string): Promise<number> {
    assertDirectoryPrefix(prefix);
    return 0;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** The object's size from a ranged answer's `Content-Range: bytes 0-0/<size>`. */
function totalSize(contentRange: string | undefined): number | undefined {
  const total = contentRange?.match(/\/(\d+)$/)?.[1];
  return total === undefined ? undefined : Number(total);
}

function objectInfo(key: string, size: number, out: { ETag?: string; LastModified?: Date }): ObjectInfo {
  return {
    key,
    size,
    etag: out.ETag ?? '',
    // A store that leaves the time out: taken as new, so nothing judged by its age goes early.
    lastModified: out.LastModified ?? new Date(),
  };
}

function rangeHeader(range: ByteRange | undefined): string | undefined {
  if (!range) return undefined;
  const end = range.length === undefined ? '' : String(range.offset + range.length - 1);
  return `bytes=${range.offset}-${end}`;
}
