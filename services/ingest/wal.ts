/**
 * The write-ahead log of durability mode `wal` (DESIGN.md §5, ADR 0013). One segment file per
 * buffer generation of one table: the segment and the staging batch it becomes share an id, so
 * recovery knows whether a segment was already staged. Appends are plain writes; durability is a
 * grouped fdatasync: every request waiting when a sync starts is acknowledged by that one sync.
 *
 * Segment layout: the 8-byte magic `WEIRWAL1`, then records `[u32 length][u32 crc32][payload]`
 * (little endian). Record 0 is the JSON header; the others are `[u16 key length][idempotency
 * key][rows]` (the rows as `wal-record.ts` lays them out). A torn or corrupt tail record (a crash
 * mid-write) ends the segment: no request that wrote it was acknowledged.
 *
 * Segment files are recycled: a staged segment's file is renamed into a small free pool and the
 * next segment overwrites it from the start. Overwriting blocks the file already has costs about
 * half the CPU and fdatasync latency of growing a new file (ext4 allocates blocks and journals the
 * size at every sync of a growing file). A recycled file still holds the old segment's records past
 * the new ones, so record checksums are seeded with the segment's id (a stale record never checks
 * out) and a header whose id is not the file's name holds nothing (a crash between the rename and
 * the new header reaching disk).
 */
import { closeSync, fdatasync, fsync, openSync, renameSync, writevSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { MAX_WRITEV_PARTS, partsAfter } from '../../catalog/index.js';

const MAGIC = Buffer.from('WEIRWAL1');
const SUFFIX = '.wal';
const FREE_SUFFIX = '.free';
/** Staged segment files kept for reuse (each up to a buffer generation's size, `ingest.maxBufferBytes` or so). */
const MAX_FREE_SEGMENTS = 4;
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

/** A record as read back: its payload is one view of the segment's bytes. */
export interface WalRecord {
  idempotencyKey?: string;
  payload: Uint8Array;
}

/** A record to append: its payload in parts, written as they are (one writev, no joined copy). */
export interface WalAppend {
  idempotencyKey?: string;
  parts: readonly Uint8Array[];
}

export class WalSegment {
  /** Appends written / fsynced so far. */
  written = 0;
  synced = 0;
  /** Syncs running on the file descriptor: it is closed only when none is. */
  inFlight = 0;
  closed = false;
  readonly seed: number;
  constructor(
    readonly header: WalSegmentHeader,
    readonly path: string,
    readonly fd: number,
  ) {
    this.seed = recordSeed(header.batchId);
  }
}

function frame(payload: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32LE(payload.byteLength, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return head;
}

/** Where a segment's record checksums start: records of an earlier segment in the same file never check out. */
const recordSeed = (batchId: string): number => crc32(batchId);

/** Writes the parts in order, in as few writev calls as the kernel allows. */
function writevAll(fd: number, parts: readonly Uint8Array[]): void {
  for (let pending = parts.filter((part) => part.byteLength > 0); pending.length > 0; ) {
    pending = partsAfter(pending, writevSync(fd, pending.slice(0, MAX_WRITEV_PARTS)));
  }
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
  /** Told of each sync round that succeeded: how long it took and how many appends' waiters it acknowledged. */
  onSync: (seconds: number, waiters: number) => void = () => {};
  private dirSyncNeeded = false;
  private broken: Error | undefined;
  /** Files of staged segments, to be overwritten by new ones. */
  private readonly free: string[] = [];

  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<WriteAheadLog> {
    await mkdir(dir, { recursive: true });
    const wal = new WriteAheadLog(dir);
    for (const name of (await readdir(dir)).filter((n) => n.endsWith(FREE_SUFFIX)).sort()) {
      if (wal.free.length < MAX_FREE_SEGMENTS) wal.free.push(join(dir, name));
      else await unlink(join(dir, name));
    }
    return wal;
  }

  /** Starts a segment (in a free file when there is one): its header is written now and made durable by the next sync. */
  create(header: WalSegmentHeader): WalSegment {
    this.throwIfBroken();
    const path = join(this.dir, `${header.batchId}${SUFFIX}`);
    const reused = this.takeFree(path);
    // A reused file is written over from its start; a new one must not exist yet.
    const fd = openSync(path, reused ? 'r+' : 'wx');
    const segment = new WalSegment(header, path, fd);
    const payload = Buffer.from(JSON.stringify(header));
    writevAll(fd, [MAGIC, frame(payload), payload]);
    this.dirSyncNeeded = true;
    return segment;
  }

  /** Renames a free file to `path`; false when there is none left (one removed behind our back is skipped). */
  private takeFree(path: string): boolean {
    for (let free = this.free.pop(); free !== undefined; free = this.free.pop()) {
      try {
        renameSync(free, path);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return false;
  }

  /** Writes a record (not yet durable: await `sync`). The payload's parts are written as they are, not copied. */
  append(segment: WalSegment, record: WalAppend): void {
    this.throwIfBroken();
    if (segment.closed) throw new Error(`WAL segment ${segment.header.batchId} is closed`);
    const key = Buffer.from(record.idempotencyKey ?? '', 'utf8');
    const head = Buffer.allocUnsafe(10 + key.byteLength);
    head.writeUInt16LE(key.byteLength, 8);
    key.copy(head, 10);
    const keyPart = head.subarray(8);
    let length = keyPart.byteLength;
    let sum = crc32(keyPart, segment.seed);
    for (const part of record.parts) {
      length += part.byteLength;
      sum = crc32(part, sum);
    }
    head.writeUInt32LE(length, 0);
    head.writeUInt32LE(sum, 4);
    writevAll(segment.fd, [head, ...record.parts]);
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
        const started = performance.now();
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
        this.onSync((performance.now() - started) / 1000, group.length);
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

  /** Drops a segment whose rows are staged (the staging batch now holds them durably); its file joins the free pool. */
  async remove(segment: WalSegment): Promise<void> {
    await this.sync([segment]);
    while (segment.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    this.close(segment);
    const ignoreGone = (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    };
    if (this.free.length < MAX_FREE_SEGMENTS) {
      const freePath = join(this.dir, `${segment.header.batchId}${FREE_SUFFIX}`);
      await rename(segment.path, freePath).then(() => this.free.push(freePath), ignoreGone);
    } else {
      await unlink(segment.path).catch(ignoreGone);
    }
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
 * crash right after creating it), or whose header names another segment (a recycled file whose
 * new header never reached disk), answers no header: nothing in it was acknowledged.
 */
export async function readSegment(
  path: string,
): Promise<{ header: WalSegmentHeader; records: WalRecord[] } | undefined> {
  const bytes = await readFile(path);
  if (bytes.byteLength < MAGIC.byteLength || !bytes.subarray(0, MAGIC.byteLength).equals(MAGIC))
    return undefined;
  let offset = MAGIC.byteLength;
  /** The next record's payload, or undefined at a torn or corrupt record. */
  const next = (seed: number): Buffer | undefined => {
    if (offset + 8 > bytes.byteLength) return undefined;
    const end = offset + 8 + bytes.readUInt32LE(offset);
    if (end > bytes.byteLength) return undefined;
    const payload = bytes.subarray(offset + 8, end);
    if (crc32(payload, seed) !== bytes.readUInt32LE(offset + 4)) return undefined;
    offset = end;
    return payload;
  };
  const head = next(0);
  if (!head) return undefined;
  const header = JSON.parse(head.toString('utf8')) as WalSegmentHeader;
  if (header.batchId !== basename(path, SUFFIX)) return undefined;
  const seed = recordSeed(header.batchId);
  const records: WalRecord[] = [];
  for (let payload = next(seed); payload; payload = next(seed)) {
    const keyLength = payload.readUInt16LE(0);
    const key = payload.subarray(2, 2 + keyLength).toString('utf8');
    records.push({
      ...(key ? { idempotencyKey: key } : {}),
      payload: payload.subarray(2 + keyLength),
    });
  }
  return { header, records };
}
