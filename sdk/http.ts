/**
 * One HTTP call to Weir over the global `fetch` (Node 20 and browsers alike): the token, the
 * client's timeout, and every failure turned into a typed error (errors.ts).
 */
import { ConnectionError, errorFromResponse } from './errors.js';

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

/** A complete answer: headers and body bytes. */
export interface Answer {
  headers: Headers;
  bytes: Uint8Array;
}

export class Transport {
  private readonly base: string;

  constructor(private readonly options: TransportOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  /** The whole answer of a call; non-2xx answers throw. */
  async call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
    return this.withTimeout(path, options, async (signal, timedOut) => {
      const response = await this.send(method, path, options, signal, timedOut);
      const bytes = await readBytes(response, `${this.base}${path}`, options.signal, timedOut);
      return { headers: response.headers, bytes };
    });
  }

  /** The decoded JSON body of a call (undefined for an empty one, e.g. 204). */
  async json<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const { bytes } = await this.call(method, path, options);
    return (bytes.byteLength === 0 ? undefined : JSON.parse(new TextDecoder().decode(bytes))) as T;
  }

  /**
   * A call whose body the caller reads as a stream. The timeout covers the wait for the answer
   * only: a long result may take longer to arrive than any sensible timeout for the first byte.
   */
  async stream(method: string, path: string, options: CallOptions = {}): Promise<Response> {
    return this.withTimeout(path, options, (signal, timedOut) =>
      this.send(method, path, options, signal, timedOut),
    );
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
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.token}`,
      ...options.headers,
    };
    // The SDK's bodies live in plain ArrayBuffers (DOM typings refuse a possibly shared one).
    let body = options.body as Uint8Array<ArrayBuffer> | string | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
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
