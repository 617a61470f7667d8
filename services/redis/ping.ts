import { connect } from 'node:net';

export type RedisAddress = { path: string } | { host: string; port: number };

/**
 * True when a Redis answers PING at the address within the timeout. Raw RESP over a socket, so
 * a probe leaves no client behind and logs nothing; a Redis that demands a password answers
 * -NOAUTH and counts as not usable.
 */
export function ping(address: RedisAddress, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(address);
    let reply = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}
