/**
 * The buffered writer across restarts of the real `weir serve` (durability `wal`): while a producer
 * writes a steady stream of numbered rows, the server is killed (SIGKILL, as a crash) and later
 * stopped gracefully (SIGTERM), and started again on the same port each time. The writer rides
 * out refused connections, cut requests and the shutdown's answers, and once closed every row is
 * in the table exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, NotFoundError, type RetryEvent } from '../../sdk/index.js';
import { waitFor } from '../helpers/wait.js';
import { type SdkServer, startSdkServer } from './server.js';

const T0 = Date.UTC(2026, 2, 1);

describe('buffered writer across server restarts', () => {
  let server: SdkServer;

  beforeAll(async () => {
    server = await startSdkServer({ WEIR_INGEST_DURABILITY: 'wal' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('loses and duplicates no row when the server is killed and restarted mid-stream', async () => {
    const client = server.client({ database: 'rs' });
    const retries: RetryEvent[] = [];
    const writer = client.bufferedWriter({
      batchSize: 200,
      flushInterval: 100,
      retryDelay: 100,
      maxRetryDelay: 1000,
      // Enough to outlast a restart, and the minute the server may hold the key of a request cut by the kill.
      maxRetries: 200,
      onRetry: (event) => retries.push(event),
    });
    let written = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        await writer.writeColumnar({
          table: 'stream',
          columns: {
            time: Array.from({ length: 20 }, (_, i) => T0 + (written + i) * 1000),
            seq: Array.from({ length: 20 }, (_, i) => written + i),
          },
        });
        written += 20;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const until = (rows: number) =>
      waitFor(async () => (writer.stats.rowsWritten >= rows ? true : undefined), 60_000);

    await until(1000);
    await server.restart('SIGKILL', 500);
    const afterKill = writer.stats.rowsWritten;
    await until(afterKill + 1000);
    await server.restart('SIGTERM', 500);
    const afterStop = writer.stats.rowsWritten;
    await until(afterStop + 1000);
    producing = false;
    await producer;
    await writer.close();

    expect(writer.stats).toMatchObject({ rowsWritten: written, failedBatches: 0, bufferedRows: 0 });
    expect(retries.some((r) => r.error instanceof ConnectionError)).toBe(true);
    const result = await waitFor(
      async () => {
        const answer = await client
          .query('SELECT count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi FROM stream')
          .catch((error: unknown) => {
            if (error instanceof NotFoundError) return undefined;
            throw error;
          });
        const row = answer?.data[0] as number[] | undefined;
        return row && row[0]! >= written ? row : undefined;
      },
      120_000,
      200,
    );
    expect(result).toEqual([written, written, 0, written - 1]);
  }, 300_000);
});
