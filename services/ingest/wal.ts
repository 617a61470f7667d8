/**
 * The write-ahead log of durability mode `wal` (DESIGN.md §5, ADR 0013). One segment file per
 * buffer generation of one table: the segment and the staging batch it becomes share an id, so
 * recovery knows whether a segment was already staged. Appends are plain (positional) writes;
 * durability is a grouped fdatasync: every request waiting when a sync starts is acknowledged by
 * that one sync.
 *
 * Segment layout: the 8-byte magic `WEIRWAL2`, then records `[u32 length][u32 crc32][payload]`
 * (little endian). Record 0 is the JSON header; the others start with a kind byte:
 * - `0` a whole request's rows for this table: `[0][u16 key length][idempotency key][rows]` (the
 *   rows as `wal-record.ts` lays them out);
 * - `1` one table's part of a multi-table request: `[1][u16 key length][key][u32 request id][rows]`;
 * - `2` a multi-table request's completion marker: `[2][u32 request id][id of its last segment]`;
 * - `3` and `4` are `0` and `1` of a request with an Idempotency-Key, the key followed by the 32-byte
 *   SHA-256 of what the request means (`idempotency.ts`): `[3][u16 key length][key][digest][rows]`,
 *   `[4][u16 key length][key][digest][u32 request id][rows]`. Requests without a key still write `0`
 *   and `1` (empty key); a `0` or `1` with a key was written before keys were bound to requests.
 * A request writes its parts, then a marker to every segment it touched, in id order. A part counts
 * only when its marker follows it and the request's last marker (in its segment of greatest id) was
 * written too (`readLeftovers`): otherwise the request never finished, was never acknowledged, and
 * none of it is read. `WEIRWAL1` segments (before the markers) are still read: their records are kind 0
 * without the kind byte. A torn or corrupt tail record (a crash mid-write) ends the segment: no
 * request that wrote it was acknowledged. Records are written at the segment's tracked offset, and a
 * failed append is cut off again, so a torn record never sits in front of later ones.
 *
 * Segment files are recycled: a staged segment's file is renamed into a small free pool and the
 * next segment overwrites it from the start. Overwriting blocks the file already has costs about
 * half the CPU and fdatasync latency of growing a new file (ext4 allocates blocks and journals the
 * size at every sync of a growing file). A recycled file still holds the old segment's records past
 * the new ones, so record checksums are seeded with the segment's id (a stale record never checks
 * out) and a header whose id is not the file's name holds nothing (a crash between the rename and
 * the new header reaching disk).
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fsync,
  ftruncateSync,
  openSync,
  renameSync,
  writevSync,
} from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { MAX_WRITEV_PARTS, partsAfter } from '../../catalog/index.js';
import type { KeyedRequest } from './idempotency.js';

const MAGIC = Buffer.from('WEIRWAL2');
/** Segments written before records had kinds (every record a whole request), still read after an upgrade. */
const MAGIC_V1 = Buffer.from('WEIRWAL1');
/** Record kinds (the first payload byte of a `WEIRWAL2` data record). */
const WHOLE = 0;
const PART = 1;
const DONE = 2;
const WHOLE_WITH_DIGEST = 3;
const PART_WITH_DIGEST = 4;
/** A SHA-256 digest. */
const DIGEST_BYTES = 32;
const SUFFIX = '.wal';
const FREE_SUFFIX = '.free';
/** Staged segment files kept for reuse (each up to a buffer generation's size, `ingest.maxBufferBytes` or so). */
const MAX_FREE_SEGMENTS = 4;
const fdatasyncAsync = promisify(fdatasync);
/**
 * A sync round runs fdatasync on the event loop while that is quick, as the writes before it do.
 * On the thread pool, its completion waits behind everything else the loop has to do, and the
 * next round starts only then: under ingest a round took 3–8 ms for a syscall of 0.4 ms, and every
 * acknowledgement waited for up to two rounds. A slow sync (a busy or network disk) would stall
 * every request on the loop, so one slower than this sends the rounds of the next
 * `THREAD_POOL_SYNC_MS` to the thread pool.
 */
export const INLINE_SYNC_MAX_MS = 2;
const THREAD_POOL_SYNC_MS = 1_000;
const fsyncAsync = promisify(fsync);

export interface WalSegmentHeader {
  tenant: string;
  database: string;
  table: string;
  /** Also the staging batch id. */
  batchId: string;
  createdAt: number;
  /** The version that created the table; absent in segments written before it was recorded. */
  tableVersion?: number;
}

/** A record as read back: its payload (the rows) is one view of the segment's bytes. */
export interface WalRecord {
  idempotencyKey?: string;
  /** Hex digest of the request the key is bound to; absent on records written before keys were bound. */
  requestDigest?: string;
  payload: Uint8Array;
  /** Set on a part of a multi-table request: the request and the segment its last marker went to. */
  request?: { id: number; lastSegment: string };
}

/** What a segment holds: its records that count, and the multi-table requests it saw complete. */
export interface WalSegmentContents {
  header: WalSegmentHeader;
  records: WalRecord[];
  completed: ReadonlySet<number>;
}

/** One table's rows of a request: the payload in parts, written as they are (one writev, no joined copy). */
export interface WalWrite {
  segment: WalSegment;
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
    /** Where the next record goes: records are written there, not at the file position, so a failed write can be undone. */
    public offset: number,
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

/** Writes the parts in order at `position`, in as few writev calls as the kernel allows; answers the position after them. */
function writeAt(fd: number, parts: readonly Uint8Array[], position: number): number {
  let at = position;
  for (let pending = parts.filter((part) => part.byteLength > 0); pending.length > 0; ) {
    const written = writevSync(fd, pending.slice(0, MAX_WRITEV_PARTS), at);
    at += written;
    pending = partsAfter(pending, written);
  }
  return at;
}

/** A record's key field: `[u16 key length][key][digest]`, or `[u16 0]` for a request without a key. */
function keyField(keyed: KeyedRequest | undefined): Buffer {
  if (!keyed) return Buffer.alloc(2);
  const key = Buffer.from(keyed.key, 'utf8');
  const digest = Buffer.from(keyed.digest, 'hex');
  if (digest.byteLength !== DIGEST_BYTES) throw new Error(`request digest ${keyed.digest} is not a SHA-256`);
  const field = Buffer.allocUnsafe(2 + key.byteLength + DIGEST_BYTES);
  field.writeUInt16LE(key.byteLength, 0);
  key.copy(field, 2);
  digest.copy(field, 2 + key.byteLength);
  return field;
}

/** A data record's first bytes: 8 left for its frame, then `[kind][key field]` and, for a part, the request id. */
function recordHead(kind: number, field: Buffer, request?: number): Buffer {
  const head = Buffer.allocUnsafe(9 + field.byteLength + (request === undefined ? 0 : 4));
  head[8] = kind;
  field.copy(head, 9);
  if (request !== undefined) head.writeUInt32LE(request, 9 + field.byteLength);
  return head;
}

/** A completion marker with 8 bytes left for its frame. */
function markerHead(request: number, lastSegment: string): Buffer {
  const id = Buffer.from(lastSegment, 'utf8');
  const head = Buffer.allocUnsafe(13 + id.byteLength);
  head[8] = DONE;
  head.writeUInt32LE(request, 9);
  id.copy(head, 13);
  return head;
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
  /** Rounds of them that ran on the thread pool. */
  threadPoolRounds = 0;
  /** Until when (performance.now()) rounds run on the thread pool, after a slow one on the event loop. */
  private threadPoolUntil = 0;
  /** Told of each sync round that succeeded: how long it took and how many appends' waiters it acknowledged. */
  onSync: (seconds: number, waiters: number) => void = () => {};
  private dirSyncNeeded = false;
  private broken: Error | undefined;
  /** Files of staged segments, to be overwritten by new ones. */
  private readonly free: string[] = [];
  /** Id of the next multi-table request (it only has to differ from the others in the same segments). */
  private nextRequest = 0;

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
    const payload = Buffer.from(JSON.stringify(header));
    let offset: number;
    try {
      offset = writeAt(fd, [MAGIC, frame(payload), payload], 0);
    } catch (error) {
      // The file holds no segment (a torn header reads as nothing): the next start removes it.
      closeSync(fd);
      throw error;
    }
    this.dirSyncNeeded = true;
    return new WalSegment(header, path, fd, offset);
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

  /**
   * Writes one request's rows, one record per table (not yet durable: await `sync`). The payload's
   * parts are written as they are, not copied. A request of several tables writes its parts, then
   * a completion marker to every segment it touched, in name order: the last one (recovery's proof
   * that all parts were written) goes to the greatest name. On an error every record of the request
   * is cut off again; when that fails too the log is broken. A keyed request's records carry its
   * key and digest, so recovery marks the key done bound to the same request.
   */
  append(writes: readonly WalWrite[], keyed?: KeyedRequest): void {
    this.throwIfBroken();
    for (const { segment } of writes) {
      if (segment.closed) throw new Error(`WAL segment ${segment.header.batchId} is closed`);
    }
    const field = keyField(keyed);
    /** Where the request's records start in each segment it wrote to. */
    const starts = new Map<WalSegment, number>();
    const put = (segment: WalSegment, head: Buffer, parts: readonly Uint8Array[] = []) => {
      if (!starts.has(segment)) starts.set(segment, segment.offset);
      let length = head.byteLength - 8;
      let sum = crc32(head.subarray(8), segment.seed);
      for (const part of parts) {
        length += part.byteLength;
        sum = crc32(part, sum);
      }
      head.writeUInt32LE(length, 0);
      head.writeUInt32LE(sum, 4);
      segment.offset = writeAt(segment.fd, [head, ...parts], segment.offset);
    };
    try {
      if (writes.length === 1) {
        put(writes[0]!.segment, recordHead(keyed ? WHOLE_WITH_DIGEST : WHOLE, field), writes[0]!.parts);
      } else if (writes.length > 1) {
        const request = this.nextRequest;
        this.nextRequest = (request + 1) >>> 0;
        const kind = keyed ? PART_WITH_DIGEST : PART;
        for (const { segment, parts } of writes) put(segment, recordHead(kind, field, request), parts);
        const touched = [...new Set(writes.map((w) => w.segment))].sort((a, b) =>
          a.header.batchId < b.header.batchId ? -1 : 1,
        );
        const last = touched.at(-1)!.header.batchId;
        for (const segment of touched) put(segment, markerHead(request, last));
      }
    } catch (error) {
      this.cutOff(starts);
      throw error;
    }
    for (const segment of starts.keys()) segment.written++;
  }

  /** Truncates each segment back to where a failed request's records start, so the next record goes where a reader expects one. */
  private cutOff(starts: ReadonlyMap<WalSegment, number>): void {
    for (const [segment, start] of starts) {
      try {
        ftruncateSync(segment.fd, start);
        segment.offset = start;
      } catch (error) {
        // Torn bytes stay in front of where later records would go: nothing may be acknowledged again.
        this.broken ??= error as Error;
      }
    }
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
    if (!this.syncing) {
      this.syncing = true;
      // The round starts after this turn of the event loop: every request of the turn joins it.
      setImmediate(() => void this.runSyncs());
    }
    return Promise.all(pending).then(() => undefined);
  }

  private async runSyncs(): Promise<void> {
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
        const inline = started >= this.threadPoolUntil;
        try {
          if (inline) for (const s of open) fdatasyncSync(s.fd);
          else {
            this.threadPoolRounds++;
            await Promise.all(open.map((s) => fdatasyncAsync(s.fd)));
          }
          if (inline && performance.now() - started > INLINE_SYNC_MAX_MS)
            this.threadPoolUntil = performance.now() + THREAD_POOL_SYNC_MS;
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
    // In the order of their ids, the order `append` gives a request's markers.
    return names
      .filter((n) => n.endsWith(SUFFIX))
      .map((n) => n.slice(0, -SUFFIX.length))
      .sort()
      .map((id) => join(this.dir, `${id}${SUFFIX}`));
  }

  /**
   * The leftover segments in name order with the records recovery stages. A part of a multi-table
   * request counts only when its marker follows it (`readSegment`) and the request's last marker
   * reached its last segment too, unless that segment is gone: a segment is removed only once
   * staged, which happens only after every request on it finished. A crash between two markers
   * thus drops the request everywhere. The last segment has the greatest name and recovery removes
   * segments in name order, so it outlives every segment that refers to it, across restarts too.
   */
  async *readLeftovers(): AsyncGenerator<{ path: string; contents: WalSegmentContents | undefined }> {
    const finishedIn = new Map<string, Promise<ReadonlySet<number> | 'gone'>>();
    const completedIn = (batchId: string) => {
      let completed = finishedIn.get(batchId);
      if (!completed) {
        completed = readSegment(join(this.dir, `${batchId}${SUFFIX}`)).then(
          (contents) => contents?.completed ?? new Set<number>(),
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'ENOENT') return 'gone' as const;
            throw error;
          },
        );
        finishedIn.set(batchId, completed);
      }
      return completed;
    };
    for (const path of await this.leftovers()) {
      const contents = await readSegment(path);
      if (!contents) {
        yield { path, contents };
        continue;
      }
      const records: WalRecord[] = [];
      for (const record of contents.records) {
        const { request } = record;
        if (request && request.lastSegment !== contents.header.batchId) {
          const completed = await completedIn(request.lastSegment);
          if (completed !== 'gone' && !completed.has(request.id)) continue;
        }
        records.push(record);
      }
      yield { path, contents: { ...contents, records } };
    }
  }
}

/**
 * `[u16 key length][key]` at `at`, then the digest when the record kind has one: the key (none
 * when empty), its digest, and where what follows starts.
 */
function readKey(
  payload: Buffer,
  at: number,
  withDigest: boolean,
): { idempotencyKey?: string; requestDigest?: string; end: number } {
  const keyEnd = at + 2 + payload.readUInt16LE(at);
  const key = payload.toString('utf8', at + 2, keyEnd);
  if (!withDigest) return { ...(key ? { idempotencyKey: key } : {}), end: keyEnd };
  const end = keyEnd + DIGEST_BYTES;
  return { idempotencyKey: key, requestDigest: payload.toString('hex', keyEnd, end), end };
}

/**
 * Reads a segment up to its first torn or corrupt record. A file too short for its header (a
 * crash right after creating it), or whose header names another segment (a recycled file whose
 * new header never reached disk), answers no header: nothing in it was acknowledged. A part of a
 * multi-table request counts only when the request's completion marker follows it here.
 */
export async function readSegment(path: string): Promise<WalSegmentContents | undefined> {
  const bytes = await readFile(path);
  const magic = bytes.subarray(0, MAGIC.byteLength);
  const v1 = magic.equals(MAGIC_V1);
  if (!v1 && !magic.equals(MAGIC)) return undefined;
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
  /** Parts whose request's marker has not come (yet). */
  const unfinished = new Map<number, WalRecord[]>();
  const completed = new Set<number>();
  for (let payload = next(seed); payload; payload = next(seed)) {
    const kind = v1 ? WHOLE : payload[0];
    if (kind === WHOLE || kind === WHOLE_WITH_DIGEST) {
      const { end, ...key } = readKey(payload, v1 ? 0 : 1, kind === WHOLE_WITH_DIGEST);
      records.push({ ...key, payload: payload.subarray(end) });
    } else if (kind === PART || kind === PART_WITH_DIGEST) {
      const { end, ...key } = readKey(payload, 1, kind === PART_WITH_DIGEST);
      const record: WalRecord = { ...key, payload: payload.subarray(end + 4) };
      const request = payload.readUInt32LE(end);
      const parts = unfinished.get(request);
      if (parts) parts.push(record);
      else unfinished.set(request, [record]);
      records.push(record);
    } else if (kind === DONE) {
      const id = payload.readUInt32LE(1);
      const lastSegment = payload.toString('utf8', 5);
      for (const record of unfinished.get(id) ?? []) record.request = { id, lastSegment };
      unfinished.delete(id);
      completed.add(id);
    } else {
      // A checksummed record this version does not know (written by a newer one): never skip rows silently.
      throw new Error(`WAL segment ${path} has a record of unknown kind ${kind}`);
    }
  }
  const dropped = new Set([...unfinished.values()].flat());
  return { header, records: records.filter((r) => !dropped.has(r)), completed };
}
