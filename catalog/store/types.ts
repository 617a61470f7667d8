/** Byte range of a ranged read: `length` bytes from `offset` (to the end when omitted). */
import type { ObjectBody } from './body.js';

export interface ByteRange {
  offset: number;
  length?: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** Backend-specific version tag (S3 ETag, local mtime+size); equal tags mean equal content. */
  etag: string;
  lastModified: Date;
}

export interface ListOptions {
  /** Only keys strictly greater than this key (lexicographic, as S3 orders them). */
  startAfter?: string;
  /** Page size, at most 1000. */
  maxKeys?: number;
  /** Token from a previous page's `nextToken`. */
  continuationToken?: string;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Present when more keys follow; pass it as `continuationToken`. */
  nextToken?: string;
}

/**
 * The one interface to object storage. Keys are '/'-separated, relative, and built only
 * by `catalog/paths`; backends re-check them with `assertSafeKey` as a second wall.
 */
export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** Whole object or a byte range; throws ObjectNotFoundError when absent. */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;
  /** Like get, but answers undefined when absent (the cheap probe the commit log uses). */
  getIfExists(key: string): Promise<Uint8Array | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Create or replace (a body in parts is stored as their concatenation). */
  put(key: string, body: ObjectBody): Promise<void>;
  /** Atomic create: true when this call created the object, false when the key already existed. */
  putIfAbsent(key: string, body: ObjectBody): Promise<boolean>;
  /** Delete; deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** One page of keys under a prefix, in lexicographic order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Every key under a prefix (after `startAfter`), following pages. */
  listAll(prefix: string, options?: Pick<ListOptions, 'startAfter'>): AsyncIterable<ObjectInfo>;
  /**
   * Removes what interrupted writes under a prefix ('' or ending in '/') left behind, where the
   * backend can leave anything: only what was last written at or before `writtenBefore`, so a
   * write still in progress is never touched. Answers how many were removed.
   */
  removeIncompleteWrites(prefix: string, writtenBefore: Date): Promise<number>;
  close(): Promise<void>;
}
