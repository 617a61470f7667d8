/**
 * The errors of the ingest path. Each one is a WeirError with the HTTP status the write route answers,
 * and a message that names the culprit: the table, column, row or line, the value and the limit.
 */
import { WeirError } from '../../catalog/index.js';

/**
 * Codes of the decoders: EMPTY_BODY, PAYLOAD_TOO_LARGE (413), UNSUPPORTED_ENCODING (415),
 * INVALID_COMPRESSED_BODY, INVALID_MSGPACK, INVALID_JSON, INVALID_LINE_PROTOCOL, INVALID_ARROW,
 * INVALID_UTF8, INVALID_PRECISION, INVALID_VALUE, INVALID_TIME, MIXED_TIME_UNITS, COLUMN_LENGTH_MISMATCH,
 * DUPLICATE_COLUMN, MISSING_COLUMN, TYPE_CONFLICT, VALUE_OUT_OF_RANGE, STRING_TOO_LONG,
 * TOO_MANY_COLUMNS; bad names are the catalog's InvalidNameError (INVALID_NAME).
 */
export class IngestError extends WeirError {
  constructor(code: string, message: string, httpStatus = 400, details?: Record<string, unknown>) {
    super(code, message, httpStatus, details);
  }
}

/**
 * Puts where it happened in front of a decode error's message ("line 12: ..."). Deep helpers do not
 * know the line or item; their caller adds it once, on the fresh error object, and rethrows it.
 */
export function locate(error: unknown, where: string): unknown {
  if (error instanceof WeirError) error.message = `${where}: ${error.message}`;
  return error;
}

const SHOWN_CHARS = 64;

/** A value as it appears in a message: JSON-like, cut to about 64 characters. */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > SHOWN_CHARS
      ? `${JSON.stringify(value.slice(0, SHOWN_CHARS))}…`
      : JSON.stringify(value);
  }
  if (value instanceof Uint8Array) return `<binary of ${value.length} bytes>`;
  if (Array.isArray(value)) return `<array of ${value.length}>`;
  if (value instanceof Date) return '<timestamp>';
  if (value !== null && typeof value === 'object') return '<map>';
  return String(value);
}
