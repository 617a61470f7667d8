/**
 * Signed URLs of the S3 store: presigned GetObject URLs (SigV4 query signing) for the store's own
 * endpoint, bucket, key prefix and credentials. The browser reads from the bucket directly; the
 * bucket's CORS rule must allow it (ADR 0023).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { dataKeys } from '../paths.js';
import type { S3ObjectStore } from '../store/index.js';
import { type UrlSigner, unixSeconds } from './types.js';

/** SigV4 presigned URLs live at most seven days. */
export const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;

export class S3UrlSigner implements UrlSigner {
  readonly kind = 's3' as const;

  constructor(private readonly store: S3ObjectStore) {}

  async sign(tenant: string, key: string, expiresAt: number, now = unixSeconds()): Promise<string> {
    dataKeys.assertOfTenant(tenant, key);
    const expiresIn = expiresAt - now;
    if (!Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGNED_SECONDS)
      throw new RangeError(`a presigned URL lives 1 to ${MAX_PRESIGNED_SECONDS} s, not ${expiresIn}`);
    const command = new GetObjectCommand({ Bucket: this.store.bucket, Key: this.store.fullKey(key) });
    // Signed as of `now`, so every URL of one session expires at the same second.
    return getSignedUrl(this.store.client, command, { expiresIn, signingDate: new Date(now * 1000) });
  }
}
