/**
 * The server secret of the local store's signed URLs. A configured one (`browser.signingSecret`)
 * wins; otherwise the first API node to need one creates it with put-if-absent under `_system/`,
 * and every node (the winner too) reads back whatever is stored there, so a fleet sharing one
 * store signs and verifies with one secret. Read once per process, then kept in memory.
 */
import { randomBytes } from 'node:crypto';
import { systemKeys } from '../paths.js';
import type { ObjectStore } from '../store/index.js';

const SECRET_BYTES = 32;

interface StoredSecret {
  format: 1;
  /** base64url of the secret bytes. */
  secret: string;
  createdAt: string;
}

export class SigningSecret {
  private loaded: Promise<Buffer> | undefined;

  constructor(
    private readonly store: ObjectStore,
    /** A configured secret (at least 32 characters); its UTF-8 bytes are the key. */
    private readonly configured?: string,
  ) {
    if (configured !== undefined && configured.length < SECRET_BYTES)
      throw new Error(`a signing secret needs at least ${SECRET_BYTES} characters`);
  }

  /** The secret's bytes. */
  get(): Promise<Buffer> {
    if (this.configured !== undefined) return Promise.resolve(Buffer.from(this.configured, 'utf8'));
    if (!this.loaded) {
      this.loaded = this.loadOrCreate();
      // A failed read (store unreachable) is tried again by the next caller.
      this.loaded.catch(() => {
        this.loaded = undefined;
      });
    }
    return this.loaded;
  }

  private async loadOrCreate(): Promise<Buffer> {
    const key = systemKeys.urlSigningSecret;
    const fresh: StoredSecret = {
      format: 1,
      secret: randomBytes(SECRET_BYTES).toString('base64url'),
      createdAt: new Date().toISOString(),
    };
    await this.store.putIfAbsent(key, Buffer.from(JSON.stringify(fresh)));
    // Whoever won the race, the stored one is the fleet's secret.
    const stored = JSON.parse(
      Buffer.from(await this.store.get(key)).toString('utf8'),
    ) as Partial<StoredSecret>;
    const bytes =
      typeof stored.secret === 'string' ? Buffer.from(stored.secret, 'base64url') : Buffer.alloc(0);
    if (stored.format !== 1 || bytes.length < SECRET_BYTES)
      throw new Error(`${key} holds no valid signing secret; delete it to have a new one created`);
    return bytes;
  }
}
