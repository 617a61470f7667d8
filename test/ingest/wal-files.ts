/** Crash states of WAL segment files for tests, built from the record framing of ADR 0013. */
import { readFileSync, truncateSync } from 'node:fs';

/** Where each record of a segment file starts: after the 8-byte magic, `[u32 length][u32 crc][payload]` each. */
export function recordStarts(path: string): number[] {
  const bytes = readFileSync(path);
  const starts: number[] = [];
  for (let at = 8; at + 8 <= bytes.length; at += 8 + bytes.readUInt32LE(at)) starts.push(at);
  return starts;
}

/** What a `kill -9` leaves when the file's last `n` records had not been written yet. */
export const cutLast = (path: string, n = 1): void => truncateSync(path, recordStarts(path).at(-n)!);
