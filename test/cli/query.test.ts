/**
 * `weir query` against a scripted server (test/sdk/fake-server.ts), for answers a real Weir gives
 * only with particular data or never: CSV headers whose names repeat or are `__proto__`, and a
 * web server that is not Weir answering at the URL given.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAnswer } from '../../cli/query/formats.js';
import { WeirClient } from '../../sdk/index.js';
import { type FakeServer, startFakeServer } from '../sdk/fake-server.js';
import { hasStackTrace, runCli } from './cli.js';

/** The CSV answer the fake server gives next. */
let csv = '';
let fake: FakeServer;

beforeAll(async () => {
  fake = await startFakeServer(() => ({
    status: 200,
    headers: { 'content-type': 'text/csv; charset=utf-8', 'x-weir-catalog-version': '1' },
    body: csv,
  }));
});
afterAll(async () => {
  await fake?.close();
});

/** What `weir query -f csv` prints for the server's `answer`. */
async function printedCsv(answer: string): Promise<string> {
  csv = answer;
  let printed = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      printed += chunk;
      done();
    },
  });
  await writeAnswer('csv', {
    client: new WeirClient({ url: fake.url, token: 't' }),
    sql: 'SELECT',
    options: {},
    out,
  });
  return printed;
}

describe('weir query -f csv', () => {
  it('prints every column the server sent, whatever its name', async () => {
    for (const answer of [
      'host,host\nserver-a,server-b\n',
      '__proto__,b,constructor\n1,2,3\n',
      '1,a,"x,y"\n"",,"q"""\n',
      'a,b\n',
    ]) {
      expect(await printedCsv(answer)).toBe(answer);
    }
  });
});

describe('weir query --url of a web server that is not Weir', () => {
  it('says what answered instead, in one error line without a stack trace (exit 1)', async () => {
    const web = await startFakeServer(() => ({
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: '<html><body>Welcome to nginx!</body></html>',
    }));
    try {
      const result = await runCli(['query', '--url', web.url, '--token', 't', 'SELECT 1']);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `error: the answer of ${web.url}/api/v1/query is not JSON (content-type text/html): ` +
          'is that a Weir server? (INVALID_RESPONSE, HTTP 200)\n',
      );
      expect(hasStackTrace(result.stderr)).toBe(false);
    } finally {
      await web.close();
    }
  });
});
