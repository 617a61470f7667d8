/**
 * Time bounds written as plain literals (`TIMESTAMP '2026-03-01 06:00:00'`, `'2026-03-01'`) read in
 * JavaScript, so pruning needs no round trip to DuckDB for them. Only the strict forms whose value
 * is beyond doubt are read here; anything else (offsets, `now()`, nanoseconds, odd spacing) is left
 * to DuckDB, and a test holds this reader to DuckDB's own cast.
 */
import { utcMillisOf } from '../../lib/rfc3339/index.js';
import type { SqlNode } from './parser.js';

/** `YYYY-MM-DD`, optionally ` HH:MM` (space or `T`), optionally `:SS[.ffffff][Z]` (DuckDB wants seconds before a `Z`). */
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?Z?)?)?$/;

function varcharConstant(node: unknown): string | undefined {
  const n = node as SqlNode | null;
  if (n?.class !== 'CONSTANT') return undefined;
  const value = n.value as { type?: { id?: unknown }; is_null?: boolean; value?: unknown } | undefined;
  return value?.type?.id === 'VARCHAR' && value.is_null === false && typeof value.value === 'string'
    ? value.value
    : undefined;
}

/**
 * The literal's value as a TIMESTAMP in microseconds since the epoch (UTC), as DuckDB casts it;
 * undefined when the expression is not such a literal (ask DuckDB then).
 */
export function literalTimestampMicros(expression: SqlNode): bigint | undefined {
  let text = varcharConstant(expression);
  if (text === undefined && expression.class === 'CAST') {
    const target = (expression.cast_type as { id?: unknown } | undefined)?.id;
    if (target === 'TIMESTAMP') text = varcharConstant(expression.child);
  }
  if (text === undefined) return undefined;
  const match = TIMESTAMP_TEXT.exec(text);
  if (!match) return undefined;
  // Two-digit years mean 19xx to Date.UTC; DuckDB's 24:00:00 rolls over: both are left to DuckDB.
  if (Number(match[1]) < 1000) return undefined;
  const ms = utcMillisOf(match.slice(1, 7));
  if (ms === undefined) return undefined; // 2026-02-30, 24:00:00
  return BigInt(ms) * 1000n + BigInt((match[7] ?? '').padEnd(6, '0'));
}
