import { WeirError } from '../errors.js';

/**
 * A signed URL that is not accepted: altered, incomplete, naming a key that is no tenant's data
 * file (`SIGNATURE_INVALID`), or past its expiry (`URL_EXPIRED`). Always 403: the signature is
 * the request's only credential.
 */
export class SignedUrlError extends WeirError {
  constructor(code: 'SIGNATURE_INVALID' | 'URL_EXPIRED', message: string) {
    super(code, message, 403);
  }
}
