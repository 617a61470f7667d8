/**
 * Each SDK error type for the server answer it stands for, from a real `weir serve` in the state
 * that makes it answer so: a bad token (401), a read-only token writing (403), bad SQL (400), a
 * body over the size limit (413), a missing policy (404), a write while flushes are stalled (429 +
 * Retry-After), a delete whose run cannot finish in time (504), and no answer at all (a closed
 * port; a frozen server and the client's timeout). Stalls are real: the worker or the API process
 * is stopped with SIGSTOP and resumed with SIGCONT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConnectionError,
  NotFoundError,
  PermissionError,
  RateLimitedError,
  ServerError,
  ValidationError,
  type WeirClient,
  WeirError,
} from '../../sdk/index.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { type SdkServer, startSdkServer } from './server.js';

let server: SdkServer;
let client: WeirClient;
const T0 = Date.UTC(2026, 2, 1);

beforeAll(async () => {
  server = await startSdkServer({
    WEIR_INGEST_MAX_BODY_BYTES: '1024',
    // One staged batch awaiting its flush is enough to push back on writes.
    WEIR_INGEST_MAX_STAGING_BACKLOG: '1',
    WEIR_DELETE_RUN_TIMEOUT_MS: '1000',
  });
  client = server.client({ database: 'errs', compression: 'none' });
});
afterAll(async () => {
  await server?.stop();
});

/** Runs `during` while process `pid` is stopped. */
async function whileStopped<T>(pid: number, during: () => Promise<T>): Promise<T> {
  process.kill(pid, 'SIGSTOP');
  try {
    return await during();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

/** The error `call` rejects with (fails the test when it resolves). */
async function failureOf(call: Promise<unknown>): Promise<WeirError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WeirError);
  return error as WeirError;
}

describe('error types', () => {
  it('AuthenticationError for 401: an unknown token', async () => {
    const stranger = server.client({ token: 'weir_not_a_token' });
    const error = await failureOf(stranger.query('SELECT 1'));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(error.message).toMatch(/token/i);
  });

  it('PermissionError for 403: a read-only token writing', async () => {
    const { token } = await client.tokens.create({ name: 'ro', permissions: ['read'] });
    const reader = server.client({ token });
    const error = await failureOf(reader.writeLineProtocol('cpu v=1'));
    expect(error).toBeInstanceOf(PermissionError);
    expect(error).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(error.message).toMatch(/write/);
  });

  it('ValidationError for 400: SQL the server refuses, with its message and code', async () => {
    const error = await failureOf(client.query('DROP TABLE cpu'));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.status).toBe(400);
    expect(error.code).not.toBe('HTTP_400');
    expect(error.message.length).toBeGreaterThan(0);
    const invalid = await failureOf(client.tokens.create({ name: '' }));
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(invalid).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
  });

  it('ValidationError for 413: a body over ingest.maxBodyBytes', async () => {
    const values = Array.from({ length: 400 }, (_, i) => i * 1.5);
    const error = await failureOf(client.writeColumnar({ table: 'big', columns: { v: values } }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.status).toBe(413);
  });

  it('NotFoundError for 404: a policy that does not exist', async () => {
    const error = await failureOf(client.retention.get('ret_missing'));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'POLICY_NOT_FOUND' });
    expect(error.message).toContain('ret_missing');
  });

  it('ConnectionError when nothing listens', async () => {
    const nowhere = server.client({ url: `http://127.0.0.1:${await freePort()}` });
    const error = await failureOf(nowhere.health());
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ status: undefined, code: 'CONNECTION_FAILED' });
  });

  it('ConnectionError when the server does not answer within the timeout', async () => {
    const impatient = server.client({ timeout: 300 });
    const started = Date.now();
    const error = await whileStopped(server.apiPid(), () => failureOf(impatient.query('SELECT 1')));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    // Resumed, the server answers again (with time to catch up: the machine may be loaded).
    expect((await client.query('SELECT 1 AS one')).data).toEqual([[1]]);
  });

  describe('while the worker is stopped', () => {
    beforeAll(async () => {
      await client.writeColumnar({
        table: 'd',
        columns: { time: [T0, T0 + 1000], host: ['a', 'b'], v: [1, 2] },
      });
      await waitFor(async () => {
        const answer = await client.query('SELECT count(*) FROM d').catch(() => undefined);
        return answer?.data[0]?.[0] === 2 ? true : undefined;
      });
    });

    it('ServerError for 504: a delete whose run does not finish in delete.runTimeoutMs', async () => {
      const error = await whileStopped(await server.workerPid(), () =>
        failureOf(
          client.deletes.execute({ database: 'errs', measurement: 'd', where: "host = 'a'", confirm: true }),
        ),
      );
      expect(error).toBeInstanceOf(ServerError);
      expect(error).toMatchObject({ status: 504, code: 'RUN_TIMEOUT' });
      expect(error.message).toMatch(/did not finish/);
    });

    it('RateLimitedError for 429, with the Retry-After the server sent', async () => {
      const error = await whileStopped(await server.workerPid(), () =>
        // The first write is taken; once its batch is staged and waits for a flush, writes are pushed back.
        waitFor(async () => {
          const e = await client.writeRows([{ table: 'bp', fields: { v: 1 } }]).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (e !== undefined && !(e instanceof RateLimitedError)) throw e;
          return e;
        }, 20_000),
      );
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error).toMatchObject({ status: 429, code: 'BACKPRESSURE', retryAfter: 1 });
      expect(error.message).toMatch(/retry later/);
      // Resumed, the flush runs and writes are taken again.
      await waitFor(() =>
        client.writeRows([{ table: 'bp', fields: { v: 2 } }]).then(
          () => true,
          () => undefined,
        ),
      );
    });
  });
});
