/**
 * An HTTP proxy in front of a real Weir that forwards every request and, when asked, loses the
 * answer: the server has handled the request, but the client's connection is cut before it hears
 * back. That is the one fault that makes a retry dangerous (the rows are already in), and it cannot
 * be caused on demand against the server alone.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Forwarded {
  method: string;
  url: string;
  idempotencyKey: string | undefined;
  status: number;
  /** The server's `x-weir-idempotent-replay` header: it had already landed this key. */
  replay: boolean;
  lost: boolean;
}

export interface LossyProxy {
  url: string;
  /** Every request forwarded, in order. */
  log: Forwarded[];
  close(): Promise<void>;
}

/** `loseAnswer` decides, after the server answered, whether the client hears it. */
export async function startLossyProxy(
  target: string,
  loseAnswer: (request: Omit<Forwarded, 'lost'>) => boolean,
): Promise<LossyProxy> {
  const log: Forwarded[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          ([name]) => !['host', 'connection', 'content-length'].includes(name),
        ),
      ) as Record<string, string>;
      const answer = await fetch(`${target}${req.url}`, {
        method: req.method!,
        headers,
        ...(body.byteLength > 0 ? { body } : {}),
      });
      const bytes = Buffer.from(await answer.arrayBuffer());
      const key = req.headers['idempotency-key'];
      const entry = {
        method: req.method!,
        url: req.url!,
        idempotencyKey: typeof key === 'string' ? key : undefined,
        status: answer.status,
        replay: answer.headers.get('x-weir-idempotent-replay') === 'true',
      };
      const lost = loseAnswer(entry);
      log.push({ ...entry, lost });
      if (lost) {
        res.socket?.destroy();
        return;
      }
      res.writeHead(answer.status, Object.fromEntries(answer.headers));
      res.end(bytes);
    })().catch(() => res.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
