import { LocalObjectStore } from './local.js';
import { S3ObjectStore } from './s3.js';
import type { ObjectStore } from './types.js';

export { bodyBytes, bodyParts, MAX_WRITEV_PARTS, type ObjectBody, partsAfter } from './body.js';
export { LocalObjectStore } from './local.js';
export { S3ObjectStore } from './s3.js';
export type { ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore } from './types.js';

export interface LocalStoreConfig {
  kind: 'local';
  /** Directory that holds every object; created when missing. */
  root: string;
}

export interface S3StoreConfig {
  kind: 's3';
  bucket: string;
  /** Optional key prefix inside the bucket (no leading or trailing slash needed). */
  prefix?: string;
  region: string;
  /** Custom endpoint for MinIO, R2, moto and other S3-compatible servers. */
  endpoint?: string;
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export type ObjectStoreConfig = LocalStoreConfig | S3StoreConfig;

/** The configured store, ready to use: an S3 bucket must exist and answer these credentials. */
export async function openObjectStore(config: ObjectStoreConfig): Promise<ObjectStore> {
  if (config.kind === 'local') return new LocalObjectStore(config.root);
  const store = new S3ObjectStore(config);
  try {
    await store.checkBucket();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
