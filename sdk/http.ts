/**
 * One HTTP call to Weir over the global `fetch` (Node 20 and browsers alike): the token, the
 * client's timeout, and every failure turned into a typed error (errors.ts).
 */
import { ConnectionError, errorFromResponse, WeirError } from './errors.js';

export interface TransportOptions {
  /** Base URL, e.g. `http://localhost:8000`. */
  url: string;
  token: string;
  /** Milliseconds a call may take (for streamed answers: until the answer starts). */
  timeout: number;
}

export type QueryParams = Record<string, string | number | boolean | undefined>;

export interface CallOptions {
  query?: QueryParams;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (writes). */
  body?: Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A complete answer: where it came from, its status, headers and body bytes. */
export interface Answer extends AnswerHead {
  bytes: Uint8Array;
}

/** What a message about an answer names: the URL called (without its query), status and headers. */
export interface AnswerHead {
  where: string;
  status: number;
  headers: Headers;
}

export class Transport {
  private readonly base: string;

  /** Refuses a URL or token that no request could carry, without repeating a password or the token. */
  constructor(private readonly options: TransportOptions) {
    const urlIssue = urlProblem(options.url);
    if (urlIssue) throw new WeirError(`invalid URL: ${urlIssue}`, 'INVALID_URL');
    const tokenIssue = tokenProblem(options.token);
    if (tokenIssue) throw new WeirError(`invalid token: ${tokenIssue}`, 'INVALID_TOKEN');
    this.base = options.url.replace(/\/+$/, '');
  }

  /** The whole answer of a call; non-2xx answers throw. */
  async call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
    return this.withTimeout(path, options, async (signal, timedOut) => {
      const response = await this.send(method, path, options, signal, timedOut);
      const where = `${this.base}${path}`;
      const bytes = await readBytes(response, where, options.signal, timedOut);
      return { where, status: response.status, headers: response.headers, bytes };
    });
  }

  /** The decoded JSON body of a call (undefined for an empty one, e.g. 204). */
  async json<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const answer = await this.call(method, path, options);
    return (answer.bytes.byteLength === 0 ? undefined : decodeJson(answer)) as T;
  }

  /**
   * A call whose body the caller reads as a stream, once its answer says it is of `type` (the
   * answer's `content-type` without parameters). The timeout covers the wait for the answer only:
   * a long result may take longer to arrive than any sensible timeout for the first byte.
   */
  async stream(method: string, path: string, type: string, options: CallOptions = {}): Promise<Response> {
    const response = await this.withTimeout(path, options, (signal, timedOut) =>
      this.send(method, path, options, signal, timedOut),
    );
    if (mediaType(response.headers) !== type) {
      await response.body?.cancel().catch(() => undefined);
      throw invalidAnswer(
        { where: `${this.base}${path}`, status: response.status, headers: response.headers },
        type,
      );
    }
    return response;
  }

  private async withTimeout<T>(
    path: string,
    options: CallOptions,
    run: (signal: AbortSignal, timedOut: () => ConnectionError | undefined) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    const timeout = this.options.timeout;
    const timer = setTimeout(() => controller.abort(), timeout);
    const signal = options.signal ? AbortSignal.any([controller.signal, options.signal]) : controller.signal;
    const timedOut = () =>
      controller.signal.aborted
        ? new ConnectionError(`no answer from ${this.base}${path} within ${timeout} ms`, 'TIMEOUT')
        : undefined;
    try {
      return await run(signal, timedOut);
    } finally {
      clearTimeout(timer);
    }
  }

  private async send(
    method: string,
    path: string,
    options: CallOptions,
    signal: AbortSignal,
    timedOut: () => ConnectionError | undefined,
  ): Promise<Response> {
    const url = new URL(`${this.base}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    // The SDK's bodies live in plain ArrayBuffers (DOM typings refuse a possibly shared one).
    let body = options.body as Uint8Array<ArrayBuffer> | string | undefined;
    const headers = requestHeaders({
      authorization: `Bearer ${this.options.token}`,
      ...options.headers,
      ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
    });
    if (options.json !== undefined) body = JSON.stringify(options.json);
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body, signal });
    } catch (error) {
      throw failure(error, `${this.base}${path}`, options.signal, timedOut);
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw errorFromResponse(response.status, text, response.headers.get('retry-after'));
    }
    return response;
  }
}

const TOKEN_RULE = 'a token is printable ASCII without spaces or line breaks (was something copied with it?)';

/**
 * Why `token` cannot be sent as a bearer token, or undefined when it can. Weir's tokens are
 * printable ASCII; anything else is a token copied with a line end, a space or a typographic
 * character, which would fail as a header (its error repeating the token) or be refused.
 */
export function tokenProblem(token: string): string | undefined {
  return /^[\x21-\x7e]*$/.test(token) ? undefined : TOKEN_RULE;
}

/**
 * Why `url` cannot be the base URL of a Weir server, or undefined when it can. A URL holding a
 * user name or password is refused without repeating it: fetch cannot send one, and the token is
 * Weir's credential.
 */
export function urlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL: use e.g. http://localhost:8000`;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return `the URL of ${parsed.host} holds a user name or password (user:password@): leave it out, the token is the credential`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `${JSON.stringify(url)} must start with http:// or https://`;
  }
  return undefined;
}

/**
 * A request's headers, each checked on its own: a value fetch would refuse is reported by the
 * header's name only, never its value (the token), and is not a connection failure to retry.
 */
function requestHeaders(values: Record<string, string>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(values)) {
    try {
      headers.set(name, value);
    } catch {
      if (name.toLowerCase() === 'authorization') {
        throw new WeirError(`invalid token: ${TOKEN_RULE}`, 'INVALID_TOKEN');
      }
      throw new WeirError(`invalid ${name} header: not a valid HTTP header value`, 'INVALID_HEADER');
    }
  }
  return headers;
}

/** The JSON of an answer's body; a body that is not JSON is an INVALID_RESPONSE. */
export function decodeJson(answer: Answer): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(answer.bytes));
  } catch (error) {
    throw invalidAnswer(answer, 'JSON', error);
  }
}

/**
 * A 2xx answer that is not what the call expects: something other than Weir answers at the URL
 * (a web server, a captive portal), or a proxy put its own page in. Names the URL and the content
 * type, which usually tell which.
 */
export function invalidAnswer(answer: AnswerHead, expected: string, cause?: unknown): WeirError {
  const type = answer.headers.get('content-type') ?? 'none';
  return new WeirError(
    `the answer of ${answer.where} is not ${expected} (content-type ${type}): is that a Weir server?`,
    'INVALID_RESPONSE',
    answer.status,
    cause === undefined ? undefined : { cause },
  );
}

/** An answer's media type, without parameters such as `charset`. */
function mediaType(headers: Headers): string | undefined {
  return headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
}

async function readBytes(
  response: Response,
  where: string,
  userSignal: AbortSignal | undefined,
  timedOut: () => ConnectionError | undefined,
): Promise<Uint8Array> {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw failure(error, where, userSignal, timedOut);
  }
}

/**
 * What a failed fetch or body read means: the caller's own abort stays theirs; a timeout or a
 * network failure becomes a ConnectionError.
 */
export function failure(
  error: unknown,
  where: string,
  userSignal: AbortSignal | undefined,
  timedOut: () => ConnectionError | undefined = () => undefined,
): unknown {
  const timeout = timedOut();
  if (timeout) return timeout;
  if (userSignal?.aborted) return userSignal.reason;
  if (error instanceof ConnectionError) return error;
  const reason = (error as Error).cause ?? error;
  const detail = reason instanceof Error ? reason.message : String(reason);
  return new ConnectionError(`connection to ${where} failed: ${detail}`, 'CONNECTION_FAILED', undefined, {
    cause: error,
  });
}
