/**
 * Typed errors of the Weir client. Every failure the SDK raises is a `WeirError` carrying the
 * server's message and code (`{success: false, error, code}`) and the HTTP status, so callers can
 * branch on the class (what kind of failure) or on `code` (exactly which one).
 */

export class WeirError extends Error {
  override name = 'WeirError';
  /** The server's machine-readable code (e.g. `VALIDATION_ERROR`), or the SDK's own for network failures. */
  readonly code: string;
  /** HTTP status of the answer; undefined when no answer arrived. */
  readonly status: number | undefined;

  constructor(message: string, code: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}

/** 401: no token, or an unknown, revoked, disabled or expired one. */
export class AuthenticationError extends WeirError {
  override name = 'AuthenticationError';
}

/** 403: the token lacks the permission or the database the call needs. */
export class PermissionError extends WeirError {
  override name = 'PermissionError';
}

/** Any other 4xx (400, 408, 409, 413, 415, 422…): the request, as it stands, was refused. */
export class ValidationError extends WeirError {
  override name = 'ValidationError';
}

/** 404: the database, table, token, policy, run… does not exist. */
export class NotFoundError extends WeirError {
  override name = 'NotFoundError';
}

/** 429: the server is behind and says when to come back. */
export class RateLimitedError extends WeirError {
  override name = 'RateLimitedError';
  /** Seconds the server asked to wait (`Retry-After`); undefined when it did not say. */
  readonly retryAfter: number | undefined;

  constructor(message: string, code: string, retryAfter: number | undefined) {
    super(message, code, 429);
    this.retryAfter = retryAfter;
  }
}

/** 5xx: the server failed (or is shutting down, or a run it waited for timed out). */
export class ServerError extends WeirError {
  override name = 'ServerError';
}

/** No answer: the server could not be reached, the connection broke, or the client's timeout passed. */
export class ConnectionError extends WeirError {
  override name = 'ConnectionError';
}

/** `Retry-After` as seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/** The error of a non-2xx answer, from its status, its body text and its `Retry-After`. */
export function errorFromResponse(status: number, bodyText: string, retryAfter: string | null): WeirError {
  const { message, code } = describeBody(status, bodyText);
  if (status === 401) return new AuthenticationError(message, code, status);
  if (status === 403) return new PermissionError(message, code, status);
  if (status === 404) return new NotFoundError(message, code, status);
  if (status === 429) return new RateLimitedError(message, code, parseRetryAfter(retryAfter));
  if (status >= 500) return new ServerError(message, code, status);
  if (status >= 400) return new ValidationError(message, code, status);
  return new WeirError(message, code, status);
}

/**
 * Weir answers `{success: false, error, code}`. fastify's own answers (e.g. 503 while closing) put
 * the detail in `message`; anything else (a proxy's page) keeps its text.
 */
function describeBody(status: number, text: string): { message: string; code: string } {
  try {
    const body = JSON.parse(text) as { error?: unknown; code?: unknown; message?: unknown };
    const message = typeof body.message === 'string' ? body.message : body.error;
    if (typeof message === 'string') {
      return { message, code: typeof body.code === 'string' ? body.code : `HTTP_${status}` };
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return { message: text.trim().slice(0, 500) || `HTTP ${status}`, code: `HTTP_${status}` };
}
