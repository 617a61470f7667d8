import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSegment, WriteAheadLog } from '../../services/ingest/wal.js';
import {
  contents,
  cutLast,
  header,
  keyed,
  legacyKeyField,
  payload,
  u32,
  writeSegmentFile,
} from './wal-files.js';

describe('write-ahead log', () => {
  let dir: string;
  let wal: WriteAheadLog;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weir-wal-'));
    wal = await WriteAheadLog.open(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back the header and every synced record with its idempotency key and request digest', async () => {
    const segment = wal.create(header('01AAAAAAAAAAAAAAAAAAAAAAAA'));
    wal.append([{ segment, parts: [payload(1)] }], keyed('k-1'));
    wal.append([{ segment, parts: [payload(2)] }]);
    await wal.sync([segment]);
    wal.close(segment);
    const read = await readSegment(segment.path);
    expect(read?.header).toEqual(header('01AAAAAAAAAAAAAAAAAAAAAAAA'));
    expect(
      read?.records.map((r) => [
        r.idempotencyKey,
        r.requestDigest,
        Buffer.from(r.payload).equals(payload(r.idempotencyKey ? 1 : 2)),
      ]),
    ).toEqual([
      ['k-1', keyed('k-1').digest, true],
      [undefined, undefined, true],
    ]);
    expect(await wal.leftovers()).toEqual([segment.path]);
    await wal.remove(segment);
    expect(await wal.leftovers()).toEqual([]);
  });

  it('a torn tail record (a crash mid-write) ends the segment; earlier records survive', async () => {
    const segment = wal.create(header('01BBBBBBBBBBBBBBBBBBBBBBBB'));
    wal.append([{ segment, parts: [payload(1)] }]);
    wal.append([{ segment, parts: [payload(2)] }]);
    await wal.sync([segment]);
    wal.close(segment);
    truncateSync(segment.path, statSync(segment.path).size - 10);
    expect((await readSegment(segment.path))?.records).toHaveLength(1);
  });

  it('a record whose checksum does not match ends the segment', async () => {
    const segment = wal.create(header('01CCCCCCCCCCCCCCCCCCCCCCCC'));
    wal.append([{ segment, parts: [payload(1)] }]);
    wal.append([{ segment, parts: [payload(2)] }]);
    await wal.sync([segment]);
    wal.close(segment);
    const bytes = readFileSync(segment.path);
    bytes[bytes.length - 5]! ^= 0xff;
    writeFileSync(segment.path, bytes);
    expect((await readSegment(segment.path))?.records).toHaveLength(1);
    // Garbage after a good record is a torn tail too.
    appendFileSync(segment.path, Buffer.from([1, 2, 3]));
    expect((await readSegment(segment.path))?.records).toHaveLength(1);
  });

  it('a file cut inside its header holds nothing', async () => {
    const segment = wal.create(header('01DDDDDDDDDDDDDDDDDDDDDDDD'));
    wal.close(segment);
    truncateSync(segment.path, 12);
    expect(await readSegment(segment.path)).toBeUndefined();
    truncateSync(segment.path, 3);
    expect(await readSegment(segment.path)).toBeUndefined();
  });

  it('groups concurrent syncs: many waiting requests share few fdatasync rounds', async () => {
    const segments = [
      wal.create(header('01EEEEEEEEEEEEEEEEEEEEEEEE')),
      wal.create(header('01FFFFFFFFFFFFFFFFFFFFFFFF')),
    ];
    const rounds: { seconds: number; waiters: number }[] = [];
    wal.onSync = (seconds, waiters) => rounds.push({ seconds, waiters });
    const requests = Array.from({ length: 200 }, (_, i) => {
      const segment = segments[i % 2]!;
      wal.append([{ segment, parts: [payload(i)] }]);
      return wal.sync([segment]);
    });
    await Promise.all(requests);
    expect(wal.syncRounds).toBeGreaterThan(0);
    expect(wal.syncRounds).toBeLessThan(20);
    // Each round reports its duration and the waiters it acknowledged: every request once.
    expect(rounds).toHaveLength(wal.syncRounds);
    expect(rounds.reduce((sum, r) => sum + r.waiters, 0)).toBe(200);
    for (const round of rounds) expect(round.seconds).toBeGreaterThan(0);
    for (const segment of segments) {
      expect(segment.synced).toBe(segment.written);
      wal.close(segment);
      expect((await readSegment(segment.path))?.records).toHaveLength(100);
    }
  });

  it("a staged segment's file is reused; the old records it still holds are never read as the new segment's", async () => {
    const old = wal.create(header('01GGGGGGGGGGGGGGGGGGGGGGGG'));
    for (let i = 0; i < 3; i++) wal.append([{ segment: old, parts: [payload(0)] }]);
    await wal.sync([old]);
    const inode = statSync(old.path).ino;
    await wal.remove(old);
    expect(await wal.leftovers()).toEqual([]);

    // Same header size and record size: the new segment ends exactly where an old record starts.
    const reused = wal.create(header('01HHHHHHHHHHHHHHHHHHHHHHHH'));
    wal.append([{ segment: reused, parts: [payload(0)] }]);
    await wal.sync([reused]);
    wal.close(reused);
    expect(statSync(reused.path).ino).toBe(inode);
    const read = await readSegment(reused.path);
    expect(read?.header.batchId).toBe('01HHHHHHHHHHHHHHHHHHHHHHHH');
    expect(read?.records).toHaveLength(1);
  });

  it('a reused file whose new header never reached disk holds nothing', async () => {
    const old = wal.create(header('01JJJJJJJJJJJJJJJJJJJJJJJJ'));
    wal.append([{ segment: old, parts: [payload(1)] }]);
    await wal.sync([old]);
    wal.close(old);
    // What a crash right after the rename leaves: the old segment's bytes under the new name.
    const renamed = join(dir, '01KKKKKKKKKKKKKKKKKKKKKKKK.wal');
    writeFileSync(renamed, readFileSync(old.path));
    expect(await readSegment(renamed)).toBeUndefined();
    expect((await readSegment(old.path))?.records).toHaveLength(1);
  });

  it('free files left by an earlier process are reused by the next one', async () => {
    const first = wal.create(header('01MMMMMMMMMMMMMMMMMMMMMMMM'));
    await wal.sync([first]);
    const inode = statSync(first.path).ino;
    await wal.remove(first);
    const next = await WriteAheadLog.open(dir);
    const segment = next.create(header('01NNNNNNNNNNNNNNNNNNNNNNNN'));
    expect(statSync(segment.path).ino).toBe(inode);
    expect(readdirSync(dir)).toEqual(['01NNNNNNNNNNNNNNNNNNNNNNNN.wal']);
    next.close(segment);
  });

  it('a free file removed behind its back is skipped: the next segment starts a new file', async () => {
    const first = wal.create(header('01PPPPPPPPPPPPPPPPPPPPPPPP'));
    await wal.sync([first]);
    await wal.remove(first);
    for (const name of readdirSync(dir)) rmSync(join(dir, name));
    const segment = wal.create(header('01QQQQQQQQQQQQQQQQQQQQQQQQ'));
    wal.append([{ segment, parts: [payload(3)] }]);
    await wal.sync([segment]);
    wal.close(segment);
    expect((await readSegment(segment.path))?.records).toHaveLength(1);
  });

  describe('a request of several tables', () => {
    const X = '01XXXXXXXXXXXXXXXXXXXXXXXX';
    const Y = '01YYYYYYYYYYYYYYYYYYYYYYYY';

    /**
     * Segments X and Y holding one request's parts and markers (X's last record is its marker, Y's
     * too), after a single-table record `before` in X when asked.
     */
    async function written(options: { before?: boolean } = {}) {
      const x = wal.create(header(X));
      const y = wal.create(header(Y));
      if (options.before) wal.append([{ segment: x, parts: [payload(0)] }], keyed('before'));
      wal.append(
        [
          { segment: x, parts: [payload(1)] },
          { segment: y, parts: [payload(2)] },
        ],
        keyed('multi'),
      );
      await wal.sync([x, y]);
      wal.close(x);
      wal.close(y);
      return { x: x.path, y: y.path };
    }

    it('counts its parts once its completion marker follows them, in every segment it touched', async () => {
      const { x, y } = await written();
      expect(await contents(x)).toEqual([[1, 'multi']]);
      expect(await contents(y)).toEqual([[2, 'multi']]);
      // Both parts name the segment the last marker went to: the greater name.
      expect((await readSegment(x))?.records[0]?.request?.lastSegment).toBe(Y);
      const read = [];
      for await (const { contents } of wal.readLeftovers()) read.push(contents?.records.length);
      expect(read).toEqual([1, 1]);
    });

    it('a part without its marker (a crash before the markers) is not read; the records before it are', async () => {
      const { x, y } = await written({ before: true });
      cutLast(x);
      cutLast(y, 2);
      expect(await contents(x)).toEqual([[0, 'before']]);
      expect(await contents(y)).toEqual([]);
    });

    it("a crash between the markers drops the request everywhere: the last segment's marker is missing", async () => {
      const { x, y } = await written();
      cutLast(y);
      // X alone says complete; the leftovers, read together, say not.
      expect(await contents(x)).toEqual([[1, 'multi']]);
      const read: Record<string, unknown> = {};
      for await (const { path, contents } of wal.readLeftovers()) read[path] = contents?.records.length;
      expect(read).toEqual({ [x]: 0, [y]: 0 });
    });

    it('a part counts when its last segment is gone: removed only once staged, after the request finished', async () => {
      const { x, y } = await written();
      rmSync(y);
      const read: Record<string, unknown> = {};
      for await (const { path, contents } of wal.readLeftovers()) read[path] = contents?.records.length;
      expect(read).toEqual({ [x]: 1 });
    });
  });

  describe('segments of earlier formats', () => {
    const batchId = '01VVVVVVVVVVVVVVVVVVVVVVVV';
    const path = () => join(dir, `${batchId}.wal`);
    const write = (magic: string, records: Buffer[]) =>
      writeSegmentFile(path(), magic, header(batchId), records);

    it('reads the first format (WEIRWAL1, no record kinds) as before', async () => {
      write('WEIRWAL1', [
        Buffer.concat([legacyKeyField('old-key'), payload(1)]),
        Buffer.concat([legacyKeyField(''), payload(2)]),
      ]);
      expect((await readSegment(path()))?.header).toEqual(header(batchId));
      expect(await contents(path())).toEqual([
        [1, 'old-key'],
        [2, undefined],
      ]);
    });

    it('reads keyed records written before keys were bound (kinds 0 and 1): a key without a digest', async () => {
      write('WEIRWAL2', [
        Buffer.concat([Buffer.from([0]), legacyKeyField('old-whole'), payload(1)]),
        Buffer.concat([Buffer.from([1]), legacyKeyField('old-part'), u32(7), payload(2)]),
        Buffer.concat([Buffer.from([2]), u32(7), Buffer.from(batchId)]),
      ]);
      const read = await readSegment(path());
      expect(
        read?.records.map((r) => [r.payload.byteLength - 100, r.idempotencyKey, r.requestDigest]),
      ).toEqual([
        [1, 'old-whole', undefined],
        [2, 'old-part', undefined],
      ]);
    });
  });
});
