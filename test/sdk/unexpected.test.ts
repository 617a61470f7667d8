/**
 * What the SDK does with what is not Weir's: a 2xx answer from something else at the URL given (a
 * web server's page), each call failing with one WeirError that names the URL and content type;
 * and a token or URL that no request can carry, refused before any request without repeating the
 * token or password (fetch's own error would, as a connection failure to retry).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeirClient, WeirError } from '../../sdk/index.js';
import { type FakeServer, startFakeServer } from './fake-server.js';

let web: FakeServer;
let client: WeirClient;

beforeAll(async () => {
  web = await startFakeServer(() => ({
    status: 200,
    headers: { 'content-type': 'text/html' },
    body: '<html><body>Welcome to nginx!</body></html>',
  }));
  client = new WeirClient({ url: web.url, token: 't' });
});
afterAll(async () => {
  await web?.close();
});

async function failureOf(call: () => Promise<unknown>): Promise<WeirError> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WeirError);
  return error as WeirError;
}

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable);
}

describe('an answer that is not Weir’s', () => {
  it('fails every kind of call with INVALID_RESPONSE, naming the URL and the content type', async () => {
    const calls: [string, () => Promise<unknown>, string][] = [
      ['query', () => client.query('SELECT 1'), 'JSON'],
      ['management', () => client.tokens.list(), 'JSON'],
      ['queryArrow', () => client.queryArrow('SELECT 1'), 'an Arrow IPC stream'],
      ['streamCsv', () => drain(client.streamCsv('SELECT 1')), 'text/csv'],
      ['streamCsvRows', () => drain(client.streamCsvRows('SELECT 1')), 'text/csv'],
      ['streamArrow', () => drain(client.streamArrow('SELECT 1')), 'application/vnd.apache.arrow.stream'],
    ];
    for (const [name, call, expected] of calls) {
      const error = await failureOf(call);
      expect({ name, code: error.code, status: error.status }).toEqual({
        name,
        code: 'INVALID_RESPONSE',
        status: 200,
      });
      expect(error.message).toMatch(
        new RegExp(`^the answer of ${web.url}/api/v1/\\S+ is not ${expected} \\(content-type text/html\\)`),
      );
    }
  });

  it('fails a query answered with JSON that is not a query answer', async () => {
    const json = await startFakeServer(() => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"status":"ok"}',
    }));
    try {
      const error = await failureOf(() => new WeirClient({ url: json.url, token: 't' }).query('SELECT 1'));
      expect(error.code).toBe('INVALID_RESPONSE');
      expect(error.message).toContain("is not Arc's query answer (content-type application/json)");
    } finally {
      await json.close();
    }
  });
});

describe('a token or URL no request can carry', () => {
  const SECRET = 'weir_secret';

  it('is refused by the constructor, naming the rule and not the token or password', () => {
    for (const token of [`${SECRET}\n`, `${SECRET} x`, `${SECRET}\u00e9`, `${SECRET}\u20ac`, `\t${SECRET}`]) {
      let error: unknown;
      try {
        new WeirClient({ url: web.url, token });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WeirError);
      expect((error as WeirError).code).toBe('INVALID_TOKEN');
      expect((error as WeirError).message).toMatch(/^invalid token: a token is printable ASCII/);
      expect((error as WeirError).message).not.toContain(SECRET);
    }
    const withPassword = () => new WeirClient({ url: 'http://admin:hunter2@127.0.0.1:8000', token: 't' });
    expect(withPassword).toThrow(WeirError);
    expect(withPassword).toThrow(/^invalid URL: the URL of 127\.0\.0\.1:8000 holds a user name or password/);
    expect(withPassword).not.toThrow(/hunter2/);
  });

  it('fails a call with a header fetch refuses before sending, by its name only, without retrying', async () => {
    const before = web.requests.length;
    const verify = await failureOf(() => client.tokens.verify(`${SECRET}\nx`));
    expect(verify).toMatchObject({ code: 'INVALID_TOKEN', status: undefined });
    expect(verify.message).not.toContain(SECRET);
    const write = await failureOf(() =>
      client.writeRows([{ table: 't', fields: { v: 1 } }], { idempotencyKey: 'key\nx' }),
    );
    expect(write).toMatchObject({
      code: 'INVALID_HEADER',
      message: 'invalid idempotency-key header: not a valid HTTP header value',
    });
    expect(web.requests.length).toBe(before);
  });
});
