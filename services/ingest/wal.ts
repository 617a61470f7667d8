/**
 * The write-ahead log of durability mode `wal` (DESIGN.md §5, ADR 0013). One segment file per
 * buffer generation of one table: the segment and the staging batch it becomes share an id, so
 * recovery knows whether a segment was already staged. Appends are plain writes; durability is a
 * grouped fdatasync: every request waiting when a sync starts is acknowledged by that one sync.
 *
 * Segment layout: the 8-byte magic `WEIRWAL1`, then records `[u32 length][u32 crc32][payload]`
 * (little endian). Record 0 is the JSON header; the others are `[u16 key length][idempotency
 * key][Arrow IPC stream]`. A torn or corrupt tail record (a crash mid-write) ends the segment:
 * no request that wrote it was acknowledged.
 */
import { closeSync, fdatasync, fsync, openSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';

const MAGIC = Buffer.from('WEIRWAL1');
const SUFFIX = '.wal';
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);

export interface WalSegmentHeader {
  tenant: string;
  database: string;
  table: string;
  /** Also the staging batch id. */
  batchId: string;
  createdAt: number;
}

export interface WalRecord {
  idempotencyKey?: string;
  payload: Uint8Array;
}

export class WalSegment {
  /** Appends written / fsynced so far. */
  written = 0;
  synced = 0;
  /** Syncs running on the file descriptor: it is closed only when none is. */
  inFlight = 0;
  closed = false;
  constructor(
    readonly header: WalSegmentHeader,
    readonly path: string,
    readonly fd: number,
  ) {}
}

function frame(payload: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32LE(payload.byteLength, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return head;
}

function writeAll(fd: number, buffer: Uint8Array): void {
  let offset = 0;
  while (offset < buffer.byteLength) offset += writeSync(fd, buffer, offset);
}

/** Fatal I/O on the log: after a failed fsync the kernel may have dropped the pages, so nothing may be acknowledged again. */
export class WalBrokenError extends Error {}

export class WriteAheadLog {
  private readonly waiters: {
    segment: WalSegment;
    target: number;
    resolve(): void;
    reject(e: Error): void;
  }[] = [];
  private syncing = false;
  /** fdatasync rounds so far (each acknowledges every request waiting when it started). */
  syncRounds = 0;
  private dirSyncNeeded = false;
  private broken: Error | undefined;

  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<WriteAheadLog> {
    await mkdir(dir, { recursive: true });
    return new WriteAheadLog(dir);
  }

  /** Starts a segment: its header is written now and made durable by the next sync. */
  create(header: WalSegmentHeader): WalSegment {
    this.throwIfBroken();
    const path = join(this.dir, `${header.batchId}${SUFFIX}`);
    const fd = openSync(path, 'wx');
    const segment = new WalSegment(header, path, fd);
    const payload = Buffer.from(JSON.stringify(header));
    writeAll(fd, Buffer.concat([MAGIC, frame(payload), payload]));
    this.dirSyncNeeded = true;
    return segment;
  }

  /** Writes a record (not yet durable: await `sync`). The payload is written as it is, not copied. */
  append(segment: WalSegment, record: WalRecord): void {
    this.throwIfBroken();
    if (segment.closed) throw new Error(`WAL segment ${segment.header.batchId} is closed`);
    const key = Buffer.from(record.idempotencyKey ?? '', 'utf8');
    const head = Buffer.allocUnsafe(10 + key.byteLength);
    head.writeUInt16LE(key.byteLength, 8);
    key.copy(head, 10);
    const keyPart = head.subarray(8);
    head.writeUInt32LE(keyPart.byteLength + record.payload.byteLength, 0);
    head.writeUInt32LE(crc32(record.payload, crc32(keyPart)), 4);
    writeAll(segment.fd, head);
    writeAll(segment.fd, record.payload);
    segment.written++;
  }

  /** Resolves once everything appended to the segments so far is on disk (one fdatasync for all waiters). */
  sync(segments: Iterable<WalSegment>): Promise<void> {
    this.throwIfBroken();
    const pending = [...segments]
      .filter((s) => s.synced < s.written || this.dirSyncNeeded)
      .map(
        (segment) =>
          new Promise<void>((resolve, reject) => {
            this.waiters.push({ segment, target: segment.written, resolve, reject });
          }),
      );
    if (pending.length === 0) return Promise.resolve();
    if (!this.syncing) void this.runSyncs();
    return Promise.all(pending).then(() => undefined);
  }

  private async runSyncs(): Promise<void> {
    this.syncing = true;
    try {
      while (this.waiters.length > 0) {
        const group = this.waiters.splice(0);
        const segments = new Set(group.map((w) => w.segment));
        const targets = new Map([...segments].map((s) => [s, s.written]));
        const syncDir = this.dirSyncNeeded;
        this.dirSyncNeeded = false;
        const open = [...segments].filter((s) => !s.closed);
        this.syncRounds++;
        for (const s of open) s.inFlight++;
        try {
          await Promise.all(open.map((s) => fdatasyncAsync(s.fd)));
          if (syncDir) await this.syncDir();
        } catch (error) {
          this.broken = error as Error;
          for (const w of [...group, ...this.waiters.splice(0)]) w.reject(new WalBrokenError(String(error)));
          return;
        } finally {
          for (const s of open) s.inFlight--;
        }
        for (const [segment, target] of targets) segment.synced = Math.max(segment.synced, target);
        for (const w of group) {
          if (w.segment.synced >= w.target) w.resolve();
          else this.waiters.push(w);
        }
      }
    } finally {
      this.syncing = false;
    }
  }

  private async syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await fsyncAsync(handle.fd);
    } finally {
      await handle.close();
    }
  }

  /** Drops a segment whose rows are staged (the staging batch now holds them durably). */
  async remove(segment: WalSegment): Promise<void> {
    await this.sync([segment]);
    while (segment.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    this.close(segment);
    await unlink(segment.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  close(segment: WalSegment): void {
    if (segment.closed) return;
    segment.closed = true;
    closeSync(segment.fd);
  }

  private throwIfBroken(): void {
    if (this.broken) throw new WalBrokenError(`the write-ahead log failed: ${this.broken.message}`);
  }

  /** Segment files left by an earlier process (recovery reads them before any new segment exists). */
  async leftovers(): Promise<string[]> {
    const names = await readdir(this.dir);
    return names
      .filter((n) => n.endsWith(SUFFIX))
      .sort()
      .map((n) => join(this.dir, n));
  }
}

/**
 * Reads a segment up to its first torn or corrupt record. A file too short for its header (a
 * crash right after creating it) answers no header: nothing in it was acknowledged.
 */
export async function readSegment(
  path: string,
): Promise<{ header: WalSegmentHeader; records: WalRecord[] } | undefined> {
  const bytes = await readFile(path);
  if (bytes.byteLength < MAGIC.byteLength || !bytes.subarray(0, MAGIC.byteLength).equals(MAGIC))
    return undefined;
  const payloads: Buffer[] = [];
  let offset = MAGIC.byteLength;
  while (offset + 8 <= bytes.byteLength) {
    const length = bytes.readUInt32LE(offset);
    const sum = bytes.readUInt32LE(offset + 4);
    const end = offset + 8 + length;
    if (end > bytes.byteLength) break;
    const payload = bytes.subarray(offset + 8, end);
    if (crc32(payload) !== sum) break;
    payloads.push(payload);
    offset = end;
  }
  const [head, ...rest] = payloads;
  if (!head) return undefined;
  const header = JSON.parse(head.toString('utf8')) as WalSegmentHeader;
  const records = rest.map((payload) => {
    const keyLength = payload.readUInt16LE(0);
    const key = payload.subarray(2, 2 + keyLength).toString('utf8');
    return {
      ...(key ? { idempotencyKey: key } : {}),
      payload: new Uint8Array(
        payload.buffer,
        payload.byteOffset + 2 + keyLength,
        payload.byteLength - 2 - keyLength,
      ),
    };
  });
  return { header, records };
}
