/** WAL segments for tests: headers, payloads, what a segment reads back, and crash states (ADR 0013 framing). */
import { createHash } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import type { KeyedRequest } from '../../services/ingest/idempotency.js';
import { readSegment, type WalSegmentHeader } from '../../services/ingest/wal.js';

export const header = (batchId: string): WalSegmentHeader => ({
  tenant: 't',
  database: 'db',
  table: 'cpu',
  batchId,
  createdAt: 1,
});

/** The key bound to the digest of a request, by default one of its own (a request per key). */
export const keyed = (key: string, request = key): KeyedRequest => ({
  key,
  digest: createHash('sha256').update(`request ${request}`).digest('hex'),
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

/** `[u16 key length][key]`: a record's key field before keys were bound to request digests. */
export function legacyKeyField(key: string): Buffer {
  const bytes = Buffer.from(key);
  const length = Buffer.alloc(2);
  length.writeUInt16LE(bytes.byteLength);
  return Buffer.concat([length, bytes]);
}

export function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

/** A segment file as a version writing `magic` left it: the header, then these record payloads, framed. */
export function writeSegmentFile(
  path: string,
  magic: string,
  head: WalSegmentHeader,
  records: Buffer[],
): void {
  const framed = (bytes: Buffer, seed: number) => {
    const frame = Buffer.alloc(8);
    frame.writeUInt32LE(bytes.byteLength, 0);
    frame.writeUInt32LE(crc32(bytes, seed), 4);
    return [frame, bytes];
  };
  writeFileSync(
    path,
    Buffer.concat([
      Buffer.from(magic),
      ...framed(Buffer.from(JSON.stringify(head)), 0),
      ...records.flatMap((record) => framed(record, crc32(head.batchId))),
    ]),
  );
}
