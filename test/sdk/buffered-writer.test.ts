/**
 * The buffered writer against a real `weir serve`: it sends a batch when it is full, when the
 * flush interval passes, on flush() and on close(); it holds producers back while the server is
 * slow; a batch the server refuses is reported, not retried; a batch whose answer was lost is
 * retried under the same Idempotency-Key and lands once; and under backpressure (429 +
 * Retry-After, from a server whose flushes are stalled) it waits as told and loses nothing. Against
 * a scripted server: what it sends is what the caller wrote when it wrote it, the same bytes on
 * every attempt, even when the caller reuses its arrays and objects.
 */
import { unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectionError,
  type FailedBatch,
  NotFoundError,
  RateLimitedError,
  type RetryEvent,
  ValidationError,
  WeirClient,
} from '../../sdk/index.js';
import { waitFor } from '../helpers/wait.js';
import { errorAnswer, startFakeServer } from './fake-server.js';
import { startLossyProxy } from './lossy-proxy.js';
import { type SdkServer, startSdkServer } from './server.js';

const T0 = Date.UTC(2026, 2, 1);
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Columns of `rows` rows with sequence numbers from `first` (one per second from T0 + first s). */
function seqColumns(first: number, rows: number) {
  return {
    time: Array.from({ length: rows }, (_, i) => T0 + (first + i) * 1000),
    seq: Array.from({ length: rows }, (_, i) => first + i),
  };
}

/** Rows and distinct sequence numbers of a table (0 while it does not exist). */
async function tally(client: WeirClient, table: string): Promise<{ rows: number; distinct: number }> {
  const answer = await client
    .query(`SELECT count(*) AS n, count(DISTINCT seq) AS d FROM ${table}`)
    .catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
  const [rows, distinct] = (answer?.data[0] ?? [0, 0]) as number[];
  return { rows: rows!, distinct: distinct! };
}

const untilRows = (client: WeirClient, table: string, rows: number) =>
  waitFor(async () => ((await tally(client, table)).rows === rows ? true : undefined), 60_000, 100);

describe('thresholds, flush and close', () => {
  let server: SdkServer;
  let client: WeirClient;

  beforeAll(async () => {
    server = await startSdkServer();
    client = server.client({ database: 'bw' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('sends a batch as soon as it holds batchSize rows, keeping the rest for later', async () => {
    const writer = client.bufferedWriter({ batchSize: 100, flushInterval: HOUR });
    await writer.writeColumnar({ table: 'by_size', columns: seqColumns(0, 250) });
    await waitFor(async () => (writer.stats.rowsWritten === 200 ? true : undefined), 10_000, 10);
    expect(writer.stats).toMatchObject({ batchesWritten: 2, bufferedRows: 50 });
    await untilRows(client, 'by_size', 200);
    await sleep(500);
    expect(writer.stats.rowsWritten).toBe(200);
    await writer.close();
    expect(writer.stats).toMatchObject({ rowsWritten: 250, batchesWritten: 3, bufferedRows: 0 });
    await untilRows(client, 'by_size', 250);
    expect(await tally(client, 'by_size')).toEqual({ rows: 250, distinct: 250 });
  });

  it('sends what it holds once flushInterval has passed', async () => {
    const writer = client.bufferedWriter({ batchSize: 1_000_000, flushInterval: 1000 });
    const started = Date.now();
    await writer.writeRows(
      Array.from({ length: 10 }, (_, i) => ({
        table: 'by_interval',
        time: T0 + i * 1000,
        fields: { seq: i },
      })),
    );
    await sleep(300);
    expect(writer.stats.rowsWritten).toBe(0);
    await waitFor(async () => (writer.stats.rowsWritten === 10 ? true : undefined), 10_000, 10);
    // Node may fire a timer a millisecond early by Date.now(): the bound allows for that only.
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    await untilRows(client, 'by_interval', 10);
    await writer.close();
    expect(writer.stats.batchesWritten).toBe(1);
  });

  it('sends what it holds on close, and takes nothing after', async () => {
    const writer = client.bufferedWriter({ batchSize: 1_000_000, flushInterval: HOUR });
    await writer.writeColumnar({ table: 'on_close', columns: seqColumns(0, 7) });
    await sleep(600);
    expect(writer.stats).toMatchObject({ rowsWritten: 0, bufferedRows: 7 });
    expect((await tally(client, 'on_close')).rows).toBe(0);
    await writer.close();
    expect(writer.stats).toMatchObject({ rowsWritten: 7, bufferedRows: 0 });
    await untilRows(client, 'on_close', 7);
    await expect(writer.writeColumnar({ table: 'on_close', columns: seqColumns(7, 1) })).rejects.toThrow(
      /closed/,
    );
  });

  it('flush() sends what it holds and resolves once the server took it', async () => {
    const writer = client.bufferedWriter({ batchSize: 1_000_000, flushInterval: HOUR });
    await writer.writeColumnar({ table: 'on_flush', columns: seqColumns(0, 5) });
    await writer.flush();
    expect(writer.stats).toMatchObject({ rowsWritten: 5, batchesWritten: 1, bufferedRows: 0 });
    await writer.writeColumnar({ table: 'on_flush', columns: seqColumns(5, 5) });
    await writer.flush();
    expect(writer.stats).toMatchObject({ rowsWritten: 10, batchesWritten: 2 });
    await untilRows(client, 'on_flush', 10);
    await writer.close();
  });

  it('holds producers back while maxBufferedRows rows wait for a slow server', async () => {
    const writer = client.bufferedWriter({ batchSize: 10, maxBufferedRows: 20, flushInterval: HOUR });
    const pid = server.apiPid();
    process.kill(pid, 'SIGSTOP');
    let third: Promise<void> | undefined;
    let thirdDone = false;
    try {
      await writer.writeColumnar({ table: 'held', columns: seqColumns(0, 10) });
      third = writer.writeColumnar({ table: 'held', columns: seqColumns(10, 10) }).then(() => {
        thirdDone = true;
      });
      await sleep(500);
      expect(thirdDone).toBe(false);
      expect(writer.stats).toMatchObject({ rowsWritten: 0, bufferedRows: 20 });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await third;
    await writer.close();
    expect(writer.stats.rowsWritten).toBe(20);
    await untilRows(client, 'held', 20);
  });

  it('reports a batch the server refuses, without retrying it, and still sends the others', async () => {
    const failed: { error: unknown; rows: number }[] = [];
    const writer = client.bufferedWriter({
      batchSize: 1,
      flushInterval: HOUR,
      onError: (error, batch) => failed.push({ error, rows: batch.rows }),
    });
    await writer.writeRows([
      { table: 'refused', time: T0, fields: { seq: 0 } },
      { table: 'not a name!', time: T0, fields: { seq: 1 } },
      { table: 'refused', time: T0 + 1000, fields: { seq: 2 } },
    ]);
    const error = await writer.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(failed).toEqual([{ error, rows: 1 }]);
    expect(writer.stats).toMatchObject({ rowsWritten: 2, failedBatches: 1, failedRows: 1, retries: 0 });
    await writer.close();
    await untilRows(client, 'refused', 2);
  });

  it('retries a batch whose answer was lost under the same Idempotency-Key, so it lands once', async () => {
    const lostKeys = new Set<string>();
    // The server writes every batch, but the writer never hears back the first time.
    const proxy = await startLossyProxy(server.url, ({ idempotencyKey }) => {
      if (!idempotencyKey || lostKeys.has(idempotencyKey)) return false;
      lostKeys.add(idempotencyKey);
      return true;
    });
    const retries: RetryEvent[] = [];
    try {
      const writer = server.client({ url: proxy.url, database: 'bw' }).bufferedWriter({
        batchSize: 50,
        flushInterval: HOUR,
        retryDelay: 20,
        onRetry: (e) => retries.push(e),
      });
      await writer.writeColumnar({ table: 'lost_answers', columns: seqColumns(0, 200) });
      await writer.close();
      expect(writer.stats).toMatchObject({
        rowsWritten: 200,
        batchesWritten: 4,
        retries: 4,
        failedBatches: 0,
      });
    } finally {
      await proxy.close();
    }
    expect(retries.every((r) => r.error instanceof ConnectionError && r.attempt === 1)).toBe(true);
    // Each batch went twice with one key: written the first time, recognised the second.
    const writes = proxy.log.filter((r) => r.url.startsWith('/api/v1/write/'));
    expect(writes).toHaveLength(8);
    for (const key of lostKeys) {
      expect(writes.filter((r) => r.idempotencyKey === key).map((r) => [r.status, r.lost, r.replay])).toEqual(
        [
          [204, true, false],
          [204, false, true],
        ],
      );
    }
    await untilRows(client, 'lost_answers', 200);
    await sleep(500);
    expect(await tally(client, 'lost_answers')).toEqual({ rows: 200, distinct: 200 });
  });
});

describe('backpressure', () => {
  let server: SdkServer;

  beforeAll(async () => {
    // One staged batch awaiting its flush pushes back on writes (429 + Retry-After: 1).
    server = await startSdkServer({ WEIR_INGEST_MAX_STAGING_BACKLOG: '1' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('waits as Retry-After says while the server answers 429, and loses no row', async () => {
    const client = server.client({ database: 'bp' });
    const retries: RetryEvent[] = [];
    const writer = client.bufferedWriter({
      batchSize: 100,
      flushInterval: 50,
      onRetry: (e) => retries.push(e),
    });
    const total = 3000;
    const worker = await server.workerPid();
    let stopped = false;
    try {
      for (let first = 0; first < total; first += 50) {
        await writer.writeColumnar({ table: 'paced', columns: seqColumns(first, 50) });
        await sleep(20);
        // Flushes stall for 3 s from the 10th chunk on: staged batches pile up and writes get 429s.
        if (first === 500) {
          process.kill(worker, 'SIGSTOP');
          stopped = true;
          setTimeout(() => {
            process.kill(worker, 'SIGCONT');
            stopped = false;
          }, 3000);
        }
      }
      await writer.close();
    } finally {
      if (stopped) process.kill(worker, 'SIGCONT');
    }
    const paced = retries.filter((r) => r.error instanceof RateLimitedError);
    expect(paced.length).toBeGreaterThan(0);
    expect(writer.stats.rateLimited).toBe(paced.length);
    expect(paced.every((r) => r.delayMs === 1000)).toBe(true);
    expect(writer.stats).toMatchObject({ rowsWritten: total, failedBatches: 0 });
    await untilRows(client, 'paced', total);
    expect(await tally(client, 'paced')).toEqual({ rows: total, distinct: total });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const rejected = Number(
      metrics.match(/^weir_ingest_rejected_total\{reason="backpressure"\} (\d+)/m)?.[1],
    );
    expect(rejected).toBeGreaterThanOrEqual(paced.length);
  });
});

describe('the caller’s arrays and objects', () => {
  it('may be reused once write… returns: every attempt sends the rows as written, in the same bytes', async () => {
    // The first attempt fails, so the batch is sent twice under one key.
    const fake = await startFakeServer((_, index) =>
      index === 0 ? errorAnswer(503, 'UNAVAILABLE') : { status: 204 },
    );
    try {
      const writer = new WeirClient({ url: fake.url, token: 't' }).bufferedWriter({
        batchSize: 1000,
        flushInterval: HOUR,
        retryDelay: 1,
      });
      // One pair of arrays refilled for each write, as a producer with a reused buffer does.
      const time: number[] = [];
      const value: number[] = [];
      for (let round = 0; round < 3; round++) {
        time.length = 0;
        value.length = 0;
        for (let i = 0; i < 5; i++) {
          time.push(T0 + round * 10 + i);
          value.push(round * 10 + i);
        }
        await writer.writeColumnar({ table: 'm', columns: { time, value } });
      }
      const row = { table: 'r', time: T0, tags: { host: 'a' }, fields: { v: 1 } };
      await writer.writeRows([row]);
      row.tags.host = 'z';
      row.fields.v = 999;
      const flushed = writer.flush();
      // Changed again while the batch is on its way and before its retry.
      value.fill(-1);
      row.fields.v = -1;
      await flushed;
      expect(writer.stats).toMatchObject({ rowsWritten: 16, batchesWritten: 1, retries: 1 });
    } finally {
      await fake.close();
    }
    const [first, retry] = fake.requests;
    expect(fake.requests).toHaveLength(2);
    expect(retry!.headers['idempotency-key']).toBe(first!.headers['idempotency-key']);
    expect(retry!.body.equals(first!.body)).toBe(true);
    const column = (round: number) => Array.from({ length: 5 }, (_, i) => round * 10 + i);
    expect(unpack(first!.body)).toEqual([
      ...[0, 1, 2].map((round) => ({
        m: 'm',
        columns: { time: column(round).map((n) => T0 + n), value: column(round) },
      })),
      { m: 'r', t: T0, tags: { host: 'a' }, fields: { v: 1 } },
    ]);
  });

  it('gives a refused batch to onError with the body it sent', async () => {
    const fake = await startFakeServer(() => errorAnswer(400, 'INVALID_MSGPACK'));
    const failed: FailedBatch[] = [];
    try {
      const writer = new WeirClient({ url: fake.url, token: 't', compression: 'zstd' }).bufferedWriter({
        flushInterval: HOUR,
        onError: (_, batch) => failed.push(batch),
      });
      await writer.writeRows([{ table: 'r', time: T0, fields: { v: 1 } }]);
      await expect(writer.close()).rejects.toBeInstanceOf(ValidationError);
    } finally {
      await fake.close();
    }
    expect(failed).toHaveLength(1);
    expect(failed[0]!.rows).toBe(1);
    expect(failed[0]!.idempotencyKey).toBe(fake.requests[0]!.headers['idempotency-key']);
    expect(unpack(failed[0]!.body)).toEqual({ m: 'r', t: T0, fields: { v: 1 } });
  });
});
