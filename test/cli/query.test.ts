/**
 * `weir query` against a scripted server (test/sdk/fake-server.ts), for answers a real Weir gives
 * only with particular data or never: CSV headers whose names repeat or are `__proto__`, a web
 * server that is not Weir answering at the URL given, and an Arrow answer held back halfway.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
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

/** A stream that keeps what is written to it, calling `onWrite` after each chunk. */
function collector(onWrite: () => void = () => {}) {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      onWrite();
      done();
    },
  });
  return { out, bytes: () => Buffer.concat(chunks) };
}

/** What `weir query -f csv` prints for the server's `answer`. */
async function printedCsv(answer: string): Promise<string> {
  csv = answer;
  const { out, bytes } = collector();
  await writeAnswer('csv', {
    client: new WeirClient({ url: fake.url, token: 't' }),
    sql: 'SELECT',
    options: {},
    out,
  });
  return bytes().toString();
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

describe('weir query -f arrow', () => {
  it("passes the server's bytes on as they arrive, without holding the whole answer", async () => {
    const ipc = tableToIPC(
      tableFromArrays({ n: Int32Array.from({ length: 50_000 }, (_, i) => i) }),
      'stream',
    );
    const half = ipc.length >> 1;
    // The server sends half its answer and ends it only once the CLI has written something (or
    // after 10 s): a CLI that waits for the whole answer writes nothing before the end.
    let release!: () => void;
    const printedSome = new Promise<void>((resolve) => {
      release = resolve;
    });
    let ended = false;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/vnd.apache.arrow.stream' });
        res.write(ipc.subarray(0, half));
        const end = () => {
          ended = true;
          res.end(ipc.subarray(half));
        };
        const timer = setTimeout(end, 10_000);
        void printedSome.then(() => {
          clearTimeout(timer);
          end();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let wroteBeforeEnd = false;
    const { out, bytes } = collector(() => {
      if (!ended) wroteBeforeEnd = true;
      release();
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await writeAnswer('arrow', {
        client: new WeirClient({ url, token: 't' }),
        sql: 'SELECT',
        options: {},
        out,
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
    expect(wroteBeforeEnd).toBe(true);
    expect(Buffer.compare(bytes(), Buffer.from(ipc))).toBe(0);
    expect(tableFromIPC(bytes()).getChild('n')?.get(49_999)).toBe(49_999);
  });
});
