/**
 * Write errors in the middle of a WAL record (a full disk, an I/O error), injected at the file
 * calls the WAL makes: the failed request's bytes are cut off again, so records written after it
 * are read back; a file that cannot be cut off breaks the log.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WalBrokenError, WriteAheadLog } from '../../services/ingest/wal.js';
import { contents, header, keyed, payload } from './wal-files.js';

const fault = vi.hoisted(() => ({
  /** Writes let through before one is torn: it writes half its first buffer, and the call after it fails. */
  tearAfter: Number.POSITIVE_INFINITY,
  torn: false,
  failTruncate: false,
}));

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
    Object.assign(fault, { tearAfter: Number.POSITIVE_INFINITY, torn: false, failTruncate: false });
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
});
