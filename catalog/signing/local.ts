/**
 * Signed URLs of the local store (ADR 0023): `/files/<key>?exp=<unix seconds>&sig=<base64url>`,
 * where `sig` is HMAC-SHA256, under the server secret, of the method, the tenant, the key and the
 * expiry. The API serves them (GET and HEAD); verifying is a constant-time comparison.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidNameError } from '../errors.js';
import { dataKeys } from '../paths.js';
import { SignedUrlError } from './errors.js';
import type { SigningSecret } from './secret.js';
import { type UrlSigner, unixSeconds } from './types.js';

/** Where the API serves signed data files. */
export const SIGNED_FILES_PATH = '/files/';

/** What a URL may be used for: reads. HEAD is answered under a GET signature. */
const METHOD = 'GET';
/** Characters a data key may hold (names, `date=…/hour=…`, `.parquet`): all safe in a URL path. */
const URL_SAFE_KEY = /^[A-Za-z0-9_.=/-]+$/;
/** Unix seconds, written one way only (no leading zeros): one URL, one spelling. */
const EXPIRY = /^[1-9]\d{0,14}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/** The parts of a request for a signed file, as they arrived. */
export interface SignedRequest {
  /** The path after `/files/`. */
  key: string;
  exp?: string | undefined;
  sig?: string | undefined;
  /** Unix seconds (default: now). */
  now?: number;
}

/** An accepted request: whose file it is and until when the URL holds. */
export interface VerifiedRequest {
  tenant: string;
  key: string;
  expiresAt: number;
}

export class LocalUrlSigner implements UrlSigner {
  readonly kind = 'local' as const;

  constructor(private readonly secret: SigningSecret) {}

  async sign(tenant: string, key: string, expiresAt: number): Promise<string> {
    dataKeys.assertOfTenant(tenant, key);
    if (!URL_SAFE_KEY.test(key))
      throw new InvalidNameError(`key ${key.slice(0, 200)} cannot be put in a URL`);
    if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0)
      throw new RangeError(`invalid expiry ${expiresAt}: Unix seconds expected`);
    const sig = mac(await this.secret.get(), tenant, key, expiresAt).toString('base64url');
    return `${SIGNED_FILES_PATH}${key}?exp=${expiresAt}&sig=${sig}`;
  }

  /**
   * Accepts an authentic, unexpired URL of a tenant's data file; SignedUrlError (403) for
   * anything else. The signature is checked before the expiry, so only an authentic URL is told
   * it expired.
   */
  async verify(request: SignedRequest): Promise<VerifiedRequest> {
    const { key, exp, sig } = request;
    if (exp === undefined || sig === undefined)
      throw new SignedUrlError('SIGNATURE_INVALID', 'a signed URL needs its exp and sig parameters');
    if (!EXPIRY.test(exp) || !SIGNATURE.test(sig))
      throw new SignedUrlError('SIGNATURE_INVALID', 'malformed exp or sig parameter');
    const tenant = dataKeys.tenantOf(key);
    if (tenant === undefined || !URL_SAFE_KEY.test(key))
      throw new SignedUrlError('SIGNATURE_INVALID', 'only data files can be read through signed URLs');
    const expiresAt = Number(exp);
    // Compared as text: two base64url strings may differ in unused low bits of the last character.
    const expected = Buffer.from(mac(await this.secret.get(), tenant, key, expiresAt).toString('base64url'));
    if (!timingSafeEqual(expected, Buffer.from(sig)))
      throw new SignedUrlError('SIGNATURE_INVALID', 'the signature does not match this URL');
    const now = request.now ?? unixSeconds();
    if (expiresAt <= now)
      throw new SignedUrlError(
        'URL_EXPIRED',
        `this URL expired ${now - expiresAt} s ago (at ${new Date(expiresAt * 1000).toISOString()}); ask for a new session`,
      );
    return { tenant, key, expiresAt };
  }
}

function mac(secret: Buffer, tenant: string, key: string, expiresAt: number): Buffer {
  return createHmac('sha256', secret).update(`${METHOD}\n${tenant}\n${key}\n${expiresAt}`).digest();
}
