/** Signed URLs of data files for the browser console (DESIGN.md §7, §8; ADR 0023). */
import { type ObjectStore, S3ObjectStore } from '../store/index.js';
import { LocalUrlSigner } from './local.js';
import { S3UrlSigner } from './s3.js';
import { SigningSecret } from './secret.js';
import type { UrlSigner } from './types.js';

export { SignedUrlError } from './errors.js';
export { LocalUrlSigner, SIGNED_FILES_PATH, type SignedRequest, type VerifiedRequest } from './local.js';
export { MAX_PRESIGNED_SECONDS, S3UrlSigner } from './s3.js';
export { SigningSecret } from './secret.js';
export { type UrlSigner, unixSeconds } from './types.js';

/** The signer of a store: presigned GetObject on S3, HMAC URLs served by the API otherwise. */
export function createUrlSigner(
  store: ObjectStore,
  options: { secret?: string | undefined } = {},
): UrlSigner {
  if (store instanceof S3ObjectStore) return new S3UrlSigner(store);
  return new LocalUrlSigner(new SigningSecret(store, options.secret));
}
