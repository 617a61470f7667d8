/**
 * One conformance suite for every ObjectStore backend: local directory and S3 (moto over HTTP,
 * or WEIR_TEST_S3_ENDPOINT). The commit log relies on these exact semantics on both.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { InvalidNameError, ObjectNotFoundError, StoreUnreachableError } from '../../catalog/errors.js';
import { openObjectStore, type S3StoreConfig } from '../../catalog/store/index.js';
import { LOCAL_TEMP_PREFIX, LocalObjectStore } from '../../catalog/store/local.js';
import { S3ObjectStore } from '../../catalog/store/s3.js';
import type { ObjectInfo, ObjectStore } from '../../catalog/store/types.js';
import { freePort } from '../helpers/ports.js';
import { createTestBucket, removeTestBucket, s3EndpointForTests } from '../helpers/s3.js';

interface StoreUnderTest {
  store: ObjectStore;
  dispose(): Promise<void>;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
/** Plain Uint8Array copy, so backends returning Buffer and Uint8Array compare equal. */
const plain = (bytes: Uint8Array | undefined): Uint8Array | undefined =>
  bytes ? Uint8Array.from(bytes) : bytes;

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of iterable) keys.push(info.key);
  return keys;
}

async function putAll(store: ObjectStore, keys: readonly string[]): Promise<void> {
  for (const key of keys) await store.put(key, text(`body of ${key}`));
}

async function listKeys(store: ObjectStore, prefix: string, startAfter?: string): Promise<string[]> {
  const page = await store.list(prefix, startAfter === undefined ? {} : { startAfter });
  return page.objects.map((o) => o.key);
}

const BAD_KEYS = [
  '../x',
  'a/../b',
  '..',
  '/abs',
  'a//b',
  'a/',
  'a/./b',
  './a',
  'a/%2e%2e/b',
  '%2e%2e/x',
  'a\\b',
  '..\\x',
  'a\u0000b',
  'a\nb',
  '',
];
const BAD_PREFIXES = ['../', '/abs', 'a//', 'a/../', 'a/./', '%2e%2e/', 'a\\', 'a\u0000', 'a\n'];

function describeConformance(backend: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${backend} object store conformance`, () => {
    let store: ObjectStore;
    let opened: StoreUnderTest | undefined;

    beforeEach(async () => {
      opened = undefined;
      opened = await open();
      store = opened.store;
    });

    // Guarded: when open() failed (no S3 server), its own error is the one to report.
    afterEach(async () => {
      await opened?.store.close();
      await opened?.dispose();
    });

    describe('put and get', () => {
      test('round-trips every byte value unchanged', async () => {
        const body = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
        await store.put('bin/all-bytes', body);
        expect(plain(await store.get('bin/all-bytes'))).toEqual(body);
      });

      test('round-trips an empty object and reports size 0', async () => {
        await store.put('empty', new Uint8Array(0));
        expect((await store.get('empty')).byteLength).toBe(0);
        expect((await store.get('empty', { offset: 0 })).byteLength).toBe(0);
        expect((await store.head('empty'))?.size).toBe(0);
      });

      test('round-trips a 5 MB object byte for byte', async () => {
        const body = new Uint8Array(randomBytes(5 * 1024 * 1024));
        await store.put('big/five-mb.bin', body);
        const read = await store.get('big/five-mb.bin');
        expect(read.byteLength).toBe(body.byteLength);
        expect(Buffer.from(read).equals(body)).toBe(true);
        expect((await store.head('big/five-mb.bin'))?.size).toBe(body.byteLength);
      });

      test('put replaces the content of an existing key', async () => {
        await store.put('k', text('first'));
        await store.put('k', text('second, longer'));
        expect(decode(await store.get('k'))).toBe('second, longer');
      });

      test('get of an absent key throws ObjectNotFoundError naming the key', async () => {
        const error = await store.get('no/such/key').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ObjectNotFoundError);
        expect((error as ObjectNotFoundError).key).toBe('no/such/key');
      });

      test('getIfExists answers undefined when absent and the bytes when present', async () => {
        expect(await store.getIfExists('maybe')).toBeUndefined();
        await store.put('maybe', text('here'));
        expect(decode((await store.getIfExists('maybe'))!)).toBe('here');
      });

      test('a key that is only a prefix of other keys is not an object', async () => {
        await store.put('dir/child', text('x'));
        expect(await store.getIfExists('dir')).toBeUndefined();
        expect(await store.head('dir')).toBeUndefined();
        await expect(store.get('dir')).rejects.toBeInstanceOf(ObjectNotFoundError);
      });
    });

    describe('ranged get', () => {
      const body = text('0123456789');
      beforeEach(async () => {
        await store.put('r', body);
      });

      test('returns exactly offset..offset+length', async () => {
        expect(decode(await store.get('r', { offset: 2, length: 3 }))).toBe('234');
      });

      test('returns from offset to the end when length is omitted', async () => {
        expect(decode(await store.get('r', { offset: 7 }))).toBe('789');
      });

      test('a range running past the end is cut at the end', async () => {
        expect(decode(await store.get('r', { offset: 8, length: 100 }))).toBe('89');
      });

      test('a range starting at or past the end is empty', async () => {
        expect((await store.get('r', { offset: 10 })).byteLength).toBe(0);
        expect((await store.get('r', { offset: 50, length: 5 })).byteLength).toBe(0);
      });

      test('a zero-length range is empty, but still needs the object', async () => {
        expect((await store.get('r', { offset: 3, length: 0 })).byteLength).toBe(0);
        await expect(store.get('absent', { offset: 0, length: 0 })).rejects.toBeInstanceOf(
          ObjectNotFoundError,
        );
      });

      test('a ranged get of an absent key throws ObjectNotFoundError', async () => {
        await expect(store.get('absent', { offset: 1, length: 2 })).rejects.toBeInstanceOf(
          ObjectNotFoundError,
        );
      });

      test('a negative or fractional range is refused', async () => {
        await expect(store.get('r', { offset: -1 })).rejects.toBeInstanceOf(RangeError);
        await expect(store.get('r', { offset: 1.5 })).rejects.toBeInstanceOf(RangeError);
        await expect(store.get('r', { offset: 0, length: -2 })).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('head', () => {
      test('describes a present object: key, size, etag and a recent lastModified', async () => {
        const before = Date.now();
        await store.put('h/obj', text('12345'));
        const info = await store.head('h/obj');
        expect(info?.key).toBe('h/obj');
        expect(info?.size).toBe(5);
        expect(info?.etag).not.toBe('');
        // S3 reports whole seconds; allow for that and a little clock skew.
        expect(info!.lastModified.getTime()).toBeGreaterThan(before - 5000);
        expect(info!.lastModified.getTime()).toBeLessThan(Date.now() + 5000);
      });

      test('answers undefined for an absent key', async () => {
        expect(await store.head('h/none')).toBeUndefined();
      });

      test('describes an empty object', async () => {
        await store.put('h/empty', new Uint8Array(0));
        expect(await store.head('h/empty')).toMatchObject({ key: 'h/empty', size: 0 });
      });

      test('the etag changes when the content is replaced', async () => {
        await store.put('h/e', text('one'));
        const first = await store.head('h/e');
        await store.put('h/e', text('two'));
        expect((await store.head('h/e'))?.etag).not.toBe(first?.etag);
      });
    });

    describe('putIfAbsent', () => {
      test('creates once, then answers false and keeps the original content', async () => {
        expect(await store.putIfAbsent('log/1.json', text('original'))).toBe(true);
        expect(await store.putIfAbsent('log/1.json', text('intruder'))).toBe(false);
        expect(decode(await store.get('log/1.json'))).toBe('original');
      });

      test('answers false for a key written by put', async () => {
        await store.put('log/2.json', text('by put'));
        expect(await store.putIfAbsent('log/2.json', text('late'))).toBe(false);
        expect(decode(await store.get('log/2.json'))).toBe('by put');
      });

      test('20 concurrent writers of one key: exactly one wins and its body is stored', async () => {
        const bodies = Array.from({ length: 20 }, (_, i) => text(`writer ${i} ${'x'.repeat(i * 100)}`));
        const results = await Promise.all(bodies.map((body) => store.putIfAbsent('race/00001.json', body)));
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(plain(await store.get('race/00001.json'))).toEqual(bodies[winners[0]!]);
      });

      test('a body in parts is stored as their concatenation, past one writev call of parts', async () => {
        // 1,500 parts of varied sizes (empty ones too): more buffers than one writev takes.
        const parts = Array.from({ length: 1500 }, (_, i) =>
          Uint8Array.from({ length: (i * 37) % 300 }, (_, j) => (i + j) & 0xff),
        );
        const whole = Buffer.concat(parts);
        expect(await store.putIfAbsent('parts/once', parts)).toBe(true);
        expect(await store.putIfAbsent('parts/once', [text('late')])).toBe(false);
        expect(Buffer.from(await store.get('parts/once')).equals(whole)).toBe(true);
        await store.put('parts/put', parts.slice(0, 700));
        expect(Buffer.from(await store.get('parts/put')).equals(Buffer.concat(parts.slice(0, 700)))).toBe(
          true,
        );
      });

      test('creates an empty object', async () => {
        expect(await store.putIfAbsent('empty-once', new Uint8Array(0))).toBe(true);
        expect((await store.head('empty-once'))?.size).toBe(0);
      });
    });

    describe('delete', () => {
      test('removes an object and is idempotent', async () => {
        await store.put('d/x', text('x'));
        await store.delete('d/x');
        expect(await store.head('d/x')).toBeUndefined();
        await expect(store.delete('d/x')).resolves.toBeUndefined();
        await expect(store.delete('never/existed')).resolves.toBeUndefined();
      });

      test('a deleted key can be created again with putIfAbsent', async () => {
        await store.put('d/again', text('old'));
        await store.delete('d/again');
        expect(await store.putIfAbsent('d/again', text('new'))).toBe(true);
        expect(decode(await store.get('d/again'))).toBe('new');
      });
    });

    describe('removeIncompleteWrites', () => {
      test('never touches objects, and takes only a whole-directory prefix', async () => {
        await putAll(store, ['r/a', 'r/b/c']);
        expect(await store.removeIncompleteWrites('r/', new Date(Date.now() + 3_600_000))).toBe(0);
        expect(await collect(store.listAll(''))).toEqual(['r/a', 'r/b/c']);
        await expect(store.removeIncompleteWrites('r', new Date())).rejects.toThrow(
          /must be '' or end with '\/'/,
        );
        await expect(store.removeIncompleteWrites('../', new Date())).rejects.toBeInstanceOf(
          InvalidNameError,
        );
      });
    });

    describe('list', () => {
      test('lists recursively in byte order, where "-" < "/" < "0"', async () => {
        const keys = ['b', 'a0', 'a/c/d', 'a-b', 'a/b', 'ab', 'a/b-c', 'a/bc'];
        await putAll(store, keys);
        expect(await listKeys(store, '')).toEqual(['a-b', 'a/b', 'a/b-c', 'a/bc', 'a/c/d', 'a0', 'ab', 'b']);
      });

      test('a prefix ending in "/" lists only keys below it', async () => {
        await putAll(store, ['t/a/x', 't/a/y/z', 't/ab/x', 't/a-b/x', 't/b']);
        expect(await listKeys(store, 't/a/')).toEqual(['t/a/x', 't/a/y/z']);
      });

      test('a partial-segment prefix matches keys that start with it, across segments', async () => {
        await putAll(store, ['t/a/x', 't/ab/x', 't/a-b/x', 't/b', 't/a.json']);
        expect(await listKeys(store, 't/a')).toEqual(['t/a-b/x', 't/a.json', 't/a/x', 't/ab/x']);
      });

      test('a partial file-name prefix selects log versions', async () => {
        const log = 'tenants/acme/catalog/log/';
        await putAll(store, [`${log}00000000000000000001.json`, `${log}00000000000000000002.json`]);
        await putAll(store, [`${log}00000000000000000010.json`, `${log}10000000000000000000.json`]);
        expect(await listKeys(store, `${log}0000`)).toEqual([
          `${log}00000000000000000001.json`,
          `${log}00000000000000000002.json`,
          `${log}00000000000000000010.json`,
        ]);
        expect(await listKeys(store, `${log}1`)).toEqual([`${log}10000000000000000000.json`]);
      });

      test('a prefix that matches nothing gives an empty page without a token', async () => {
        await putAll(store, ['x/y']);
        expect(await store.list('nothing/here/')).toEqual({ objects: [] });
        expect(await store.list('x/y/z')).toEqual({ objects: [] });
      });

      test('listed objects carry their size and an etag', async () => {
        await store.put('s/one', text('1'));
        await store.put('s/three', text('333'));
        const { objects } = await store.list('s/');
        expect(objects.map((o) => [o.key, o.size])).toEqual([
          ['s/one', 1],
          ['s/three', 3],
        ]);
        expect(objects.every((o) => o.etag !== '' && o.lastModified instanceof Date)).toBe(true);
      });

      test('startAfter lists only keys strictly greater, even when it is not a key', async () => {
        await putAll(store, ['p/1', 'p/2.json', 'p/2/a', 'p/3', 'p/4/b']);
        expect(await listKeys(store, 'p/', 'p/2.json')).toEqual(['p/2/a', 'p/3', 'p/4/b']);
        expect(await listKeys(store, 'p/', 'p/2')).toEqual(['p/2.json', 'p/2/a', 'p/3', 'p/4/b']);
        expect(await listKeys(store, 'p/', 'p/2/')).toEqual(['p/2/a', 'p/3', 'p/4/b']);
        expect(await listKeys(store, 'p/', 'p/25')).toEqual(['p/3', 'p/4/b']);
        expect(await listKeys(store, 'p/', 'p/4/b')).toEqual([]);
        expect(await listKeys(store, 'p/', 'a')).toEqual(['p/1', 'p/2.json', 'p/2/a', 'p/3', 'p/4/b']);
      });

      test('pages of maxKeys=2 over 7 keys come as 2+2+2+1, in order, ending without a token', async () => {
        const keys = ['pg/a', 'pg/b', 'pg/c/1', 'pg/c/2', 'pg/d', 'pg/e', 'pg/f'];
        await putAll(store, [...keys].reverse());
        const pages: string[][] = [];
        let token: string | undefined;
        do {
          const page = await store.list(
            'pg/',
            token === undefined ? { maxKeys: 2 } : { maxKeys: 2, continuationToken: token },
          );
          pages.push(page.objects.map((o) => o.key));
          token = page.nextToken;
        } while (token !== undefined && pages.length < 10);
        expect(pages).toEqual([['pg/a', 'pg/b'], ['pg/c/1', 'pg/c/2'], ['pg/d', 'pg/e'], ['pg/f']]);
      });

      test('pagination honours startAfter on every page', async () => {
        await putAll(store, ['q/1', 'q/2', 'q/3', 'q/4', 'q/5']);
        const first = await store.list('q/', { startAfter: 'q/2', maxKeys: 2 });
        expect(first.objects.map((o) => o.key)).toEqual(['q/3', 'q/4']);
        const second = await store.list('q/', {
          startAfter: 'q/2',
          maxKeys: 2,
          continuationToken: first.nextToken!,
        });
        expect(second.objects.map((o) => o.key)).toEqual(['q/5']);
        expect(second.nextToken).toBeUndefined();
      });

      test('maxKeys outside 1..1000 is refused', async () => {
        await expect(store.list('', { maxKeys: 0 })).rejects.toBeInstanceOf(RangeError);
        await expect(store.list('', { maxKeys: 1001 })).rejects.toBeInstanceOf(RangeError);
      });

      test('listAll follows pages to the last key, after startAfter', async () => {
        const keys = Array.from({ length: 1005 }, (_, i) => `all/${String(i).padStart(5, '0')}`);
        // Write in parallel batches: 1005 sequential puts would dominate the suite's time.
        for (let i = 0; i < keys.length; i += 100) {
          await Promise.all(keys.slice(i, i + 100).map((key) => store.put(key, new Uint8Array([1]))));
        }
        expect(await collect(store.listAll('all/'))).toEqual(keys);
        expect(await collect(store.listAll('all/', { startAfter: 'all/01000' }))).toEqual(keys.slice(1001));
      });
    });

    describe('second wall: unsafe keys', () => {
      test.each(BAD_KEYS.map((key) => [JSON.stringify(key), key]))(
        'key %s is rejected by every operation and nothing is written',
        async (_label, key) => {
          const body = text('must not land');
          const operations: [string, () => Promise<unknown>][] = [
            ['get', () => store.get(key)],
            ['ranged get', () => store.get(key, { offset: 0, length: 1 })],
            ['getIfExists', () => store.getIfExists(key)],
            ['head', () => store.head(key)],
            ['put', () => store.put(key, body)],
            ['putIfAbsent', () => store.putIfAbsent(key, body)],
            ['delete', () => store.delete(key)],
          ];
          for (const [name, run] of operations) {
            const error = await run().then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(error, `${name} of ${JSON.stringify(key)}`).toBeInstanceOf(InvalidNameError);
          }
          expect(await listKeys(store, '')).toEqual([]);
        },
      );

      test.each(BAD_PREFIXES.map((prefix) => [JSON.stringify(prefix), prefix]))(
        'listing prefix %s is rejected',
        async (_label, prefix) => {
          await expect(store.list(prefix)).rejects.toBeInstanceOf(InvalidNameError);
          await expect(collect(store.listAll(prefix))).rejects.toBeInstanceOf(InvalidNameError);
        },
      );
    });
  });
}

type PutFault = 'pass' | 'conflict' | 'lose-response' | 'lose-response-before-send';

/**
 * Injects faults into PutObject below the SDK's retry loop: a synthetic 409, or a transient
 * error (which the SDK retries) thrown after the request reached the server, or before it did.
 * Returns a counter of PutObject attempts.
 */
function failPutObject(store: S3ObjectStore, plan: (call: number) => PutFault): () => number {
  let call = 0;
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutObjectCommand') return next(args);
      const fault = plan(++call);
      if (fault === 'conflict') {
        throw Object.assign(new Error('A conflicting conditional operation is in progress'), {
          name: 'ConditionalRequestConflict',
          $metadata: { httpStatusCode: 409 },
        });
      }
      const lost = () => Object.assign(new Error('response lost'), { name: 'TimeoutError', $metadata: {} });
      if (fault === 'lose-response-before-send') throw lost();
      const result = await next(args);
      if (fault === 'lose-response') throw lost();
      return result;
    },
    { step: 'deserialize', name: 'weirTestPutFaults' },
  );
  return () => call;
}

describeConformance('local', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'weir-store-'));
  return {
    store: new LocalObjectStore(path.join(dir, 'root')),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});

describeConformance('s3', async () => {
  const config = await createTestBucket(s3EndpointForTests());
  return { store: new S3ObjectStore(config), dispose: () => removeTestBucket(config) };
});

describe('local object store specifics', () => {
  let dir: string;
  let root: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weir-local-'));
    root = path.join(dir, 'root');
    store = new LocalObjectStore(root);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('creates a missing root directory on the first write', async () => {
    expect(existsSync(root)).toBe(false);
    expect(await store.list('')).toEqual({ objects: [] });
    await store.put('a/b/c', text('deep'));
    expect(existsSync(path.join(root, 'a', 'b', 'c'))).toBe(true);
  });

  test('a temp file left by an interrupted put is neither listed nor readable as an object', async () => {
    await store.put('log/00000000000000000001.json', text('v1'));
    const orphan = `${LOCAL_TEMP_PREFIX}deadbeef`;
    await writeFile(path.join(root, 'log', orphan), 'half-written');
    await mkdir(path.join(root, 'other'), { recursive: true });
    await writeFile(path.join(root, 'other', orphan), 'half-written');
    expect(await listKeys(store, '')).toEqual(['log/00000000000000000001.json']);
    expect(await listKeys(store, 'log/')).toEqual(['log/00000000000000000001.json']);
    // A temp name contains '%', which no key may contain, so it can never be addressed either.
    await expect(store.get(`log/${orphan}`)).rejects.toBeInstanceOf(InvalidNameError);
  });

  test('removeIncompleteWrites removes old temp files under the prefix, and nothing else', async () => {
    await store.put('t/in/a', text('a'));
    await store.put('u/b', text('b'));
    const old = new Date(Date.now() - 3_600_000);
    const temps = ['t', 't/in', 'u'].map((dir) => path.join(root, dir, `${LOCAL_TEMP_PREFIX}0${dir.length}`));
    for (const file of temps) {
      await writeFile(file, 'half-written');
      await utimes(file, old, old);
    }
    const young = path.join(root, 't', 'in', `${LOCAL_TEMP_PREFIX}young`);
    await writeFile(young, 'still being written');
    expect(await store.removeIncompleteWrites('t/', new Date(Date.now() - 60_000))).toBe(2);
    expect(temps.map((file) => existsSync(file))).toEqual([false, false, true]);
    expect(existsSync(young)).toBe(true);
    expect(await listKeys(store, '')).toEqual(['t/in/a', 'u/b']);
    expect(await store.removeIncompleteWrites('', new Date())).toBe(2);
    expect(existsSync(young)).toBe(false);
    expect(await store.removeIncompleteWrites('missing/', new Date())).toBe(0);
  });

  test('listing leaves out stray files with unsafe names and symlinks out of the root', async () => {
    await store.put('ok/a', text('a'));
    await writeFile(path.join(root, 'ok', 'stray%2e'), 'x');
    await writeFile(path.join(root, 'ok', 'trailing-space '), 'x');
    await mkdir(path.join(dir, 'outside'));
    await writeFile(path.join(dir, 'outside', 'secret'), 'x');
    await symlink(path.join(dir, 'outside'), path.join(root, 'ok', 'link'));
    expect(await listKeys(store, '')).toEqual(['ok/a']);
  });

  test('successful and failed writes leave no temp files behind', async () => {
    await store.put('w/a', text('a'));
    expect(await store.putIfAbsent('w/b', text('b'))).toBe(true);
    expect(await store.putIfAbsent('w/b', text('lost'))).toBe(false);
    // A directory in the way makes the rename fail: the put must throw and clean up.
    await mkdir(path.join(root, 'w', 'c', 'sub'), { recursive: true });
    await expect(store.put('w/c', text('c'))).rejects.toThrow();
    expect((await readdir(path.join(root, 'w'))).sort()).toEqual(['a', 'b', 'c']);
  });

  test('keys cannot reach outside the root', async () => {
    await writeFile(path.join(dir, 'secret.txt'), 'outside');
    await expect(store.get('../secret.txt')).rejects.toBeInstanceOf(InvalidNameError);
    await expect(store.get('root/../../secret.txt')).rejects.toBeInstanceOf(InvalidNameError);
    await expect(store.put('../evil.txt', text('x'))).rejects.toBeInstanceOf(InvalidNameError);
    await expect(store.putIfAbsent('../../evil.txt', text('x'))).rejects.toBeInstanceOf(InvalidNameError);
    await expect(store.delete('../secret.txt')).rejects.toBeInstanceOf(InvalidNameError);
    await expect(store.list('../')).rejects.toBeInstanceOf(InvalidNameError);
    expect((await readdir(dir)).sort()).toEqual(['secret.txt']);
  });

  test('a key that is also a prefix of another key is refused with a clear error, not an fs error', async () => {
    await store.put('c/file', text('object'));
    await store.put('c/dir/child', text('object below a prefix'));
    const attempts = [
      () => store.put('c/file/below', text('x')),
      () => store.putIfAbsent('c/file/below', text('x')),
      () => store.put('c/dir', text('x')),
      () => store.putIfAbsent('c/dir', text('x')),
    ];
    for (const attempt of attempts) {
      await expect(attempt()).rejects.toThrow(/collides with an existing object or prefix/);
    }
    expect(await listKeys(store, 'c/')).toEqual(['c/dir/child', 'c/file']);
  });

  test('objects are plain files under the root at their key path', async () => {
    await store.put('tenants/acme/data/f.parquet', text('PAR1'));
    expect(existsSync(path.join(root, 'tenants', 'acme', 'data', 'f.parquet'))).toBe(true);
  });
});

describe('s3 object store specifics', () => {
  let config: S3StoreConfig;
  let created: S3StoreConfig | undefined;

  beforeEach(async () => {
    created = undefined;
    config = created = await createTestBucket(s3EndpointForTests());
  });

  afterEach(async () => {
    if (created) await removeTestBucket(created);
  });

  test('opening refuses a bucket that does not exist', async () => {
    const missing = { ...config, bucket: `${config.bucket}-missing` };
    const refused = await openObjectStore(missing).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StoreUnreachableError);
    expect((refused as Error).message).toBe(`S3 bucket "${missing.bucket}" does not exist`);

    const store = await openObjectStore(config);
    try {
      await store.put('x.json', text('{}'));
      expect(decode(await store.get('x.json'))).toBe('{}');
    } finally {
      await store.close();
    }
  });

  test('a bucket deleted while the store is open: every call is STORE_UNREACHABLE, none reads as empty', async () => {
    const store = await openObjectStore(config);
    try {
      await store.put('log/1.json', text('{}'));
      await store.put('empty', new Uint8Array(0));
      expect(await store.head('empty')).toMatchObject({ key: 'empty', size: 0 });
      expect(await store.head('log/1.json')).toMatchObject({ key: 'log/1.json', size: 2 });
      await removeTestBucket(config);
      created = undefined;
      const gone = { name: 'StoreUnreachableError', code: 'STORE_UNREACHABLE', httpStatus: 503 };
      const message = `S3 bucket "${config.bucket}" does not exist`;
      // HeadObject alone would answer a present key and an absent one with the bare 404 of a miss.
      for (const call of [
        () => store.head('log/1.json'),
        () => store.head('log/2.json'),
        () => store.get('log/1.json'),
        () => store.get('log/1.json', { offset: 0, length: 1 }),
        () => store.getIfExists('log/2.json'),
        () => store.list('log/'),
        () => store.put('log/2.json', text('{}')),
        () => store.putIfAbsent('log/2.json', text('{}')),
        () => store.delete('log/1.json'),
      ]) {
        await expect(call()).rejects.toMatchObject({ ...gone, message });
      }
    } finally {
      await store.close();
    }
  });

  test('refused credentials are STORE_UNREACHABLE too, not a missing object', async () => {
    const store = new S3ObjectStore(config);
    try {
      store.client.middlewareStack.add(
        () => async () => {
          throw Object.assign(new Error('The AWS Access Key Id you provided does not exist'), {
            name: 'InvalidAccessKeyId',
            $metadata: { httpStatusCode: 403 },
          });
        },
        { step: 'deserialize', name: 'weirTestRefuse' },
      );
      await expect(store.head('x')).rejects.toMatchObject({
        code: 'STORE_UNREACHABLE',
        message: `S3 bucket "${config.bucket}" refuses these credentials (403)`,
      });
    } finally {
      await store.close();
    }
  });

  test('opening says so when the endpoint cannot be reached', async () => {
    const closed = { ...config, endpoint: `http://127.0.0.1:${await freePort()}` };
    const refused = await openObjectStore(closed).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StoreUnreachableError);
    expect((refused as Error).message).toMatch(
      new RegExp(`^S3 bucket "${config.bucket}" cannot be reached: connect ECONNREFUSED 127\\.0\\.0\\.1:`),
    );
    // And so does any call once the endpoint goes away.
    const store = new S3ObjectStore(closed);
    try {
      await expect(store.get('x')).rejects.toMatchObject({
        code: 'STORE_UNREACHABLE',
        message: expect.stringMatching(/cannot be reached: connect ECONNREFUSED/),
      });
    } finally {
      await store.close();
    }
  });

  test('a 409 ConditionalRequestConflict is retried until the conditional put decides', async () => {
    const store = new S3ObjectStore(config);
    try {
      const calls = failPutObject(store, (call) => (call <= 2 ? 'conflict' : 'pass'));
      expect(await store.putIfAbsent('log/1.json', text('mine'))).toBe(true);
      expect(calls()).toBe(3);
      expect(decode(await store.get('log/1.json'))).toBe('mine');
    } finally {
      await store.close();
    }
  });

  test('endless 409s: false when an object is in place, the error when none is', async () => {
    const store = new S3ObjectStore(config);
    try {
      await store.put('log/taken.json', text('winner'));
      failPutObject(store, () => 'conflict');
      expect(await store.putIfAbsent('log/taken.json', text('mine'))).toBe(false);
      await expect(store.putIfAbsent('log/free.json', text('mine'))).rejects.toMatchObject({
        name: 'ConditionalRequestConflict',
      });
      expect(await store.head('log/free.json')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  test('a 412 after an SDK retry whose first attempt landed counts as our win', async () => {
    const store = new S3ObjectStore(config);
    try {
      const calls = failPutObject(store, (call) => (call === 1 ? 'lose-response' : 'pass'));
      expect(await store.putIfAbsent('log/2.json', text('mine'))).toBe(true);
      expect(calls()).toBe(2); // the SDK retried and met our own object: 412
      expect(decode(await store.get('log/2.json'))).toBe('mine');
    } finally {
      await store.close();
    }
  });

  test.each([
    [
      'a 412',
      'log/4.json',
      (call: number): PutFault => (call === 1 ? 'lose-response' : call === 2 ? 'conflict' : 'pass'),
    ],
    [
      '409s to the end',
      'log/5.json',
      (call: number): PutFault => (call === 1 ? 'lose-response' : 'conflict'),
    ],
  ])(
    'our write that landed before an SDK retry met a 409 counts as ours when the retries end in %s',
    async (_, key, plan) => {
      // The first request lands but its answer is lost; the SDK's retry meets a conflict (409); the
      // store's own retries then meet our object (412) or more conflicts.
      const store = new S3ObjectStore(config);
      try {
        const calls = failPutObject(store, plan);
        expect(await store.putIfAbsent(key, text('mine'))).toBe(true);
        expect(calls()).toBeGreaterThan(2);
        expect(decode(await store.get(key))).toBe('mine');
      } finally {
        await store.close();
      }
    },
  );

  test('a 412 after an SDK retry is still a loss when the stored object is someone else', async () => {
    const store = new S3ObjectStore(config);
    try {
      await store.put('log/3.json', text('theirs'));
      failPutObject(store, (call) => (call === 1 ? 'lose-response-before-send' : 'pass'));
      expect(await store.putIfAbsent('log/3.json', text('mine'))).toBe(false);
      expect(decode(await store.get('log/3.json'))).toBe('theirs');
    } finally {
      await store.close();
    }
  });

  test('a configured key prefix is applied on write and hidden on read and list', async () => {
    const store = new S3ObjectStore({ ...config, prefix: '/deploy/eu/' });
    const other = new S3ObjectStore(config);
    try {
      await store.put('tenants/acme/x', text('inside'));
      await other.put('tenants/acme/y', text('outside the prefix'));
      expect(store.fullKey('tenants/acme/x')).toBe('deploy/eu/tenants/acme/x');
      expect(await listKeys(store, '')).toEqual(['tenants/acme/x']);
      expect(await listKeys(store, 'tenants/')).toEqual(['tenants/acme/x']);
      expect(await listKeys(other, '')).toEqual(['deploy/eu/tenants/acme/x', 'tenants/acme/y']);
      expect(await store.head('tenants/acme/y')).toBeUndefined();
      expect((await store.head('tenants/acme/x'))?.key).toBe('tenants/acme/x');
      const raw = await store.client.send(
        new GetObjectCommand({ Bucket: store.bucket, Key: store.fullKey('tenants/acme/x') }),
      );
      expect(await raw.Body!.transformToString()).toBe('inside');
    } finally {
      await store.close();
      await other.close();
    }
  });

  test('startAfter is taken relative to the configured prefix', async () => {
    const store = new S3ObjectStore({ ...config, prefix: 'p' });
    try {
      await putAll(store, ['a', 'b', 'c']);
      expect(await listKeys(store, '', 'a')).toEqual(['b', 'c']);
    } finally {
      await store.close();
    }
  });

  test('fullKey applies the second wall too', () => {
    const store = new S3ObjectStore(config);
    expect(() => store.fullKey('../x')).toThrow(InvalidNameError);
  });

  test('an unsafe configured prefix is refused', () => {
    expect(() => new S3ObjectStore({ ...config, prefix: 'a/../b' })).toThrow(InvalidNameError);
  });
});
