/**
 * Token secrets and ids. A secret is 32 random bytes, so a plain sha256 is a safe way to store
 * it (nothing to brute-force) and lets verification be one map lookup (ADR 0012).
 */
import { createHash, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'weir_';

/** `weir_` + base64url of 32 random bytes; shown once, never stored. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newTokenId(): string {
  return `tok_${randomBytes(16).toString('hex')}`;
}

/**
 * The id of a bootstrap token, the same in every process that starts together: their creates
 * collide in the catalog and exactly one wins. A configured secret has its own id, so adding
 * one to a fleet that already has tokens still creates it once.
 */
export function bootstrapTokenId(tenant: string, configuredHash?: string): string {
  const seed = configuredHash === undefined ? `bootstrap:${tenant}` : `bootstrap:${tenant}:${configuredHash}`;
  return `tok_${createHash('sha256').update(seed).digest('hex').slice(0, 32)}`;
}
