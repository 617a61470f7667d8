/**
 * Data files of the local store read through signed URLs (`/files/<key>?exp=&sig=`, ADR 0023):
 * the URL is verified (signature, then expiry; only tenants' data files), the object looked up
 * and the requested range chosen. The route streams the bytes.
 */
import {
  type LocalObjectStore,
  type LocalUrlSigner,
  ObjectNotFoundError,
  type SignedRequest,
  type VerifiedRequest,
} from '../../catalog/index.js';
import { parseRange, type RangeChoice } from './range.js';

export interface SignedFile extends VerifiedRequest {
  /** The local file to stream. */
  path: string;
  size: number;
  /** The store's version tag of the object. */
  etag: string;
  lastModified: Date;
  range: RangeChoice;
}

export class SignedFiles {
  constructor(
    private readonly store: LocalObjectStore,
    private readonly signer: LocalUrlSigner,
  ) {}

  /** SignedUrlError (403) for a URL that is not accepted, ObjectNotFoundError (404) when the file is gone. */
  async open(request: SignedRequest & { range?: string | undefined }): Promise<SignedFile> {
    const verified = await this.signer.verify(request);
    const info = await this.store.head(verified.key);
    if (!info) throw new ObjectNotFoundError(verified.key);
    return {
      ...verified,
      path: this.store.filePath(verified.key),
      size: info.size,
      etag: info.etag,
      lastModified: info.lastModified,
      range: parseRange(request.range, info.size),
    };
  }
}
