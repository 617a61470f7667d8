/**
 * Write errors in the middle of a WAL record (a full disk, an I/O error), injected at the file
 * calls the WAL makes: the failed request's bytes are cut off again, so records written after it
 * are read back; a file that cannot be cut off breaks the log.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { INLINE_SYNC_MAX_MS, WalBrokenError, WriteAheadLog } from '../../services/ingest/wal.js';
import { contents, header, keyed, payload } from './wal-files.js';

const { fault, noFaults } = vi.hoisted(() => {
  const noFaults = {
    /** Writes let through before one is torn: it writes half its first buffer, and the call after it fails. */
    tearAfter: Number.POSITIVE_INFINITY,
    torn: false,
    failTruncate: false,
    /** fdatasync on the event loop: how far each call moves the test's clock, and whether it fails. */
    syncMs: 0,
    /** The clock the WAL reads (performance.now) while a test controls it. */
    clockMs: 0,
    failSync: false,
    inlineSyncs: 0,
  };
  return { fault: { ...noFaults }, noFaults };
});

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const error = (code: string) => Object.assign(new Error(`${code}: injected`), { code });
  return {
    ...fs,
    writevSync: ((fd, buffers, position) => {
      if (fault.torn) {
        fault.torn = false;
        throw error('ENOSPC');
      }
      if (fault.tearAfter-- === 0) {
        fault.torn = true;
        const first = buffers[0]!;
        const half = new Uint8Array(first.buffer, first.byteOffset, Math.ceil(first.byteLength / 2));
        return fs.writevSync(fd, [half], position);
      }
      return fs.writevSync(fd, buffers, position);
    }) as typeof fs.writevSync,
    fdatasyncSync: ((fd) => {
      fault.inlineSyncs++;
      if (fault.failSync) throw error('EIO');
      fault.clockMs += fault.syncMs;
      return fs.fdatasyncSync(fd);
    }) as typeof fs.fdatasyncSync,
    ftruncateSync: ((fd, length) => {
      if (fault.failTruncate) throw error('EIO');
      return fs.ftruncateSync(fd, length);
    }) as typeof fs.ftruncateSync,
  };
});

describe('write-ahead log write errors', () => {
  let dir: string;
  let wal: WriteAheadLog;
  beforeEach(async () => {
    Object.assign(fault, noFaults);
    dir = mkdtempSync(join(tmpdir(), 'weir-wal-faults-'));
    wal = await WriteAheadLog.open(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a record torn by a failed write is cut off: the records appended after it are read back', async () => {
    const segment = wal.create(header('01AAAAAAAAAAAAAAAAAAAAAAAA'));
    wal.append([{ segment, parts: [payload(1)] }], keyed('a'));
    const before = statSync(segment.path).size;
    fault.tearAfter = 0;
    expect(() => wal.append([{ segment, parts: [payload(2)] }], keyed('torn'))).toThrow(/ENOSPC/);
    expect(statSync(segment.path).size).toBe(before);
    wal.append([{ segment, parts: [payload(3)] }], keyed('b'));
    await wal.sync([segment]);
    wal.close(segment);
    expect(await contents(segment.path)).toEqual([
      [1, 'a'],
      [3, 'b'],
    ]);
  });

  it('a request of several tables that fails at its last marker leaves none of its records', async () => {
    const x = wal.create(header('01XXXXXXXXXXXXXXXXXXXXXXXX'));
    const y = wal.create(header('01YYYYYYYYYYYYYYYYYYYYYYYY'));
    wal.append([{ segment: x, parts: [payload(0)] }], keyed('before'));
    // Part x, part y, marker x go through; marker y is torn.
    fault.tearAfter = 3;
    expect(() =>
      wal.append(
        [
          { segment: x, parts: [payload(1)] },
          { segment: y, parts: [payload(2)] },
        ],
        keyed('multi'),
      ),
    ).toThrow(/ENOSPC/);
    wal.append([{ segment: y, parts: [payload(3)] }], keyed('after'));
    await wal.sync([x, y]);
    wal.close(x);
    wal.close(y);
    expect(await contents(x.path)).toEqual([[0, 'before']]);
    expect(await contents(y.path)).toEqual([[3, 'after']]);
  });

  it('a torn record that cannot be cut off breaks the log: nothing is written or acknowledged after it', async () => {
    const segment = wal.create(header('01BBBBBBBBBBBBBBBBBBBBBBBB'));
    wal.append([{ segment, parts: [payload(1)] }]);
    fault.tearAfter = 0;
    fault.failTruncate = true;
    expect(() => wal.append([{ segment, parts: [payload(2)] }])).toThrow(/ENOSPC/);
    expect(() => wal.append([{ segment, parts: [payload(3)] }])).toThrow(WalBrokenError);
    expect(() => wal.sync([segment])).toThrow(WalBrokenError);
    expect(() => wal.create(header('01CCCCCCCCCCCCCCCCCCCCCCCC'))).toThrow(WalBrokenError);
    wal.close(segment);
  });

  it('a failed fdatasync breaks the log: its waiters are refused and nothing is acknowledged after it', async () => {
    const segment = wal.create(header('01DDDDDDDDDDDDDDDDDDDDDDDD'));
    wal.append([{ segment, parts: [payload(1)] }]);
    fault.failSync = true;
    await expect(wal.sync([segment])).rejects.toThrow(WalBrokenError);
    expect(() => wal.append([{ segment, parts: [payload(2)] }])).toThrow(WalBrokenError);
    expect(() => wal.sync([segment])).toThrow(WalBrokenError);
    wal.close(segment);
  });

  it('after a slow fdatasync on the event loop, rounds run on the thread pool for a while, then come back', async () => {
    // The WAL's clock is the test's: a real fdatasync on a busy disk may itself take longer than the bound.
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => fault.clockMs);
    try {
      const segment = wal.create(header('01EEEEEEEEEEEEEEEEEEEEEEEE'));
      const round = async (i: number) => {
        wal.append([{ segment, parts: [payload(i)] }]);
        await wal.sync([segment]);
      };
      await round(0);
      expect({ inline: fault.inlineSyncs, pool: wal.threadPoolRounds }).toEqual({ inline: 1, pool: 0 });
      fault.syncMs = INLINE_SYNC_MAX_MS + 3;
      await round(1);
      fault.syncMs = 0;
      await round(2);
      await round(3);
      expect({ inline: fault.inlineSyncs, pool: wal.threadPoolRounds }).toEqual({ inline: 2, pool: 2 });
      fault.clockMs += 1_100;
      await round(4);
      expect({ inline: fault.inlineSyncs, pool: wal.threadPoolRounds }).toEqual({ inline: 3, pool: 2 });
      wal.close(segment);
      expect((await contents(segment.path))?.map(([n]) => n)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      clock.mockRestore();
    }
  });
});
