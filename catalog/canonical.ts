import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped. Ids and
 * checksums hash this form, so the same value always gives the same bytes. Non-integer
 * numbers are refused: floats print differently across runtimes and must not enter an id.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalize(value, '$'));
}

function normalize(value: unknown, at: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new TypeError(`canonical JSON allows only safe integers (at ${at})`);
    return value;
  }
  if (Array.isArray(value))
    return value.map((item, i) => normalize(item === undefined ? null : item, `${at}[${i}]`));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = normalize(member, `${at}.${key}`);
    }
    return out;
  }
  throw new TypeError(`canonical JSON cannot hold a ${typeof value} (at ${at})`);
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
