/**
 * A scripted HTTP server standing in for Weir where a real `weir serve` cannot answer as a test
 * needs: an answer that is not Weir's (a web server at the wrong URL), a `Retry-After` of any
 * value, or a record of the exact bytes each request carried. It answers each request as `answer`
 * says and keeps every request, its body decompressed.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface FakeRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The body as the client meant it (gzip undone). */
  body: Buffer;
}

export interface FakeAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface FakeServer {
  url: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

/** `answer` gets each request and how many came before it. */
export async function startFakeServer(
  answer: (request: FakeRequest, index: number) => FakeAnswer,
): Promise<FakeServer> {
  const requests: FakeRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const request: FakeRequest = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw,
      };
      const out = answer(request, requests.length);
      requests.push(request);
      res.writeHead(out.status, out.headers ?? {});
      res.end(out.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Weir's JSON error body. */
export function errorAnswer(status: number, code: string, headers: Record<string, string> = {}): FakeAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ success: false, error: code.toLowerCase().replaceAll('_', ' '), code }),
  };
}
