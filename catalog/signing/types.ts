/** Short-lived URLs that let a browser read one data file of one tenant (DESIGN.md §7, §8; ADR 0023). */

/** Mints read URLs, one object at a time; each is for one data file of one tenant, GET (and HEAD) only. */
export interface UrlSigner {
  readonly kind: 'local' | 's3';
  /**
   * A URL reading `key`, a data file of `tenant`, until `expiresAt` (Unix seconds; `now` is the
   * signing time, also Unix seconds). Relative (`/files/…?exp=…&sig=…`, served by the API) for the
   * local store, an absolute presigned GetObject URL for S3. InvalidNameError for any other key.
   */
  sign(tenant: string, key: string, expiresAt: number, now?: number): Promise<string>;
}

/** The current time in whole Unix seconds, the unit of every expiry here. */
export function unixSeconds(ms = Date.now()): number {
  return Math.floor(ms / 1000);
}
