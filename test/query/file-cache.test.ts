/**
 * The query file cache (services/query/files.ts) over a real S3 server (moto over HTTP): an
 * evicted copy's removal runs in the background, and a new copy of the same file must not be
 * deleted by it. The removal is held back here (a mocked `rm`), the only way to make it late on
 * purpose; downloads, the cache directory and the store are real.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ObjectStore, paths } from '../../catalog/index.js';
import { queryFilesFor } from '../../services/query/index.js';
import { BACKENDS } from '../helpers/stores.js';

/** Removals wait for `open()`; `settled` resolves when every removal asked for so far is done. */
const removals = vi.hoisted(() => {
  let open: () => void = () => {};
  let gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const running: Promise<void>[] = [];
  return {
    running,
    open: () => open(),
    close() {
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
    gate: () => gate,
  };
});

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    rm: (...args: Parameters<typeof actual.rm>) => {
      const removal = removals.gate().then(() => actual.rm(...args));
      removals.running.push(removal);
      return removal;
    },
  };
});

const s3 = BACKENDS.find((backend) => backend.name === 's3')!;
const KEY = paths.dataKeys.file('acme', 'metrics', 'cpu', { date: '2026-01-01', hour: 0 }, 'f0');
const BODY = new TextEncoder().encode('the bytes of one data file');

let store: ObjectStore;
let cleanup: () => Promise<void>;
const dir = mkdtempSync(join(tmpdir(), 'weir-file-cache-'));

beforeAll(async () => {
  ({ store, cleanup } = await s3.create());
  await store.put(KEY, BODY);
});

afterAll(async () => {
  removals.open();
  await cleanup?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('the query file cache', () => {
  it('a late removal of an evicted copy does not delete the copy a later query downloaded', async () => {
    // One byte of room: every copy is evicted as soon as no query holds it.
    const files = queryFilesFor(store, dir, 1);
    removals.close();

    const first = await files.hold('acme', [KEY]);
    const path = first.paths[0]!;
    expect(await readFile(path)).toEqual(Buffer.from(BODY));
    first.release();
    expect(removals.running).toHaveLength(1);

    // The file is downloaded again while the first copy's removal has not run yet.
    const second = files.hold('acme', [KEY]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    removals.open();
    const held = await second;
    await Promise.all(removals.running);

    expect(held.paths).toEqual([path]);
    expect(existsSync(path)).toBe(true);
    expect(await readFile(path)).toEqual(Buffer.from(BODY));
    held.release();
  });
});
