/** WAL segments for tests: headers, payloads, what a segment reads back, and crash states (ADR 0013 framing). */
import { readFileSync, truncateSync } from 'node:fs';
import { readSegment, type WalSegmentHeader } from '../../services/ingest/wal.js';

export const header = (batchId: string): WalSegmentHeader => ({
  tenant: 't',
  database: 'db',
  table: 'cpu',
  batchId,
  createdAt: 1,
});

/** A payload of 100 + n bytes: `contents` reads n back. */
export const payload = (n: number) => Uint8Array.from({ length: 100 + n }, (_, i) => (i * 7 + n) & 0xff);

/** Payloads (as their numbers in `payload`) and keys of the records that count. */
export async function contents(path: string) {
  return (await readSegment(path))?.records.map((r) => [r.payload.byteLength - 100, r.idempotencyKey]);
}

/** Where each record of a segment file starts: after the 8-byte magic, `[u32 length][u32 crc][payload]` each. */
export function recordStarts(path: string): number[] {
  const bytes = readFileSync(path);
  const starts: number[] = [];
  for (let at = 8; at + 8 <= bytes.length; at += 8 + bytes.readUInt32LE(at)) starts.push(at);
  return starts;
}

/** What a `kill -9` leaves when the file's last `n` records had not been written yet. */
export const cutLast = (path: string, n = 1): void => truncateSync(path, recordStarts(path).at(-n)!);
