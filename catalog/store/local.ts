/**
 * Object store on a local directory (DESIGN.md §1, §4). Keys map to files under the root.
 * Writes go to a temp file in the target directory and are fsynced before they become
 * visible; `putIfAbsent` publishes with `link()`, which fails when the name exists, so the
 * commit log's put-if-absent is atomic and durable without any lock.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats, Dirent } from 'node:fs';
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import path from 'node:path';
import { InvalidNameError, ObjectNotFoundError } from '../errors.js';
import { assertSafeKey, assertSafePrefix, isSafeKey } from '../paths.js';
import { assertByteRange, assertDirectoryPrefix, listAllPages, maxKeysOf } from './arguments.js';
import { bodyParts, MAX_WRITEV_PARTS, type ObjectBody, partsAfter } from './body.js';
import type { ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore } from './types.js';

/**
 * Temp files start with this. Keys may not contain '%' (assertSafeKey), so a temp name can
 * never collide with, or hide, a real object, and listings can skip temp files blindly.
 */
export const LOCAL_TEMP_PREFIX = '.tmp%';

/** Error codes that mean "no object under this key" (missing, a file in the way, or a prefix dir). */
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && NOT_FOUND_CODES.has(code);
}

/**
 * Compares strings in UTF-8 byte order (S3's order) rather than UTF-16 code-unit order; the
 * two differ only when a surrogate meets a code unit in U+E000–U+FFFF.
 */
function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const file = this.pathOf(key);
    if (range) assertByteRange(range);
    try {
      return range ? await this.readRange(file, range) : await readFile(file);
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(key);
      throw error;
    }
  }

  async getIfExists(key: string): Promise<Uint8Array | undefined> {
    const file = this.pathOf(key);
    try {
      return await readFile(file);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return statObject(key, this.pathOf(key));
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    const file = this.pathOf(key);
    const dir = path.dirname(file);
    const temp = await this.writeTemp(key, dir, body);
    try {
      await rename(temp, file);
    } catch (error) {
      await unlinkQuietly(temp);
      throw errorCode(error) === 'EISDIR' ? keyCollision(key) : error;
    }
    await fsyncDir(dir);
  }

  async putIfAbsent(key: string, body: ObjectBody): Promise<boolean> {
    const file = this.pathOf(key);
    const dir = path.dirname(file);
    const temp = await this.writeTemp(key, dir, body);
    let created = false;
    try {
      // link() is atomic and fails with EEXIST when the name is taken: the whole race is here.
      await link(temp, file);
      created = true;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
      // Only the losing path pays for this check: a directory there is a prefix, not an object.
      if (await isDirectory(file)) throw keyCollision(key);
    } finally {
      await unlinkQuietly(temp);
    }
    // One directory fsync makes the new name durable before we report the win.
    if (created) await fsyncDir(dir);
    return created;
  }

  async delete(key: string): Promise<void> {
    // Not fsynced: a delete lost in a crash is simply repeated by the task that issued it.
    // Empty parent directories stay, so a concurrent put into them never races a rmdir.
    try {
      await unlink(this.pathOf(key));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async list(prefix: string, options?: ListOptions): Promise<ListPage> {
    assertSafePrefix(prefix);
    const maxKeys = maxKeysOf(options);
    const after = laterOf(options?.startAfter, options?.continuationToken);
    const objects: ObjectInfo[] = [];
    for await (const key of this.walkKeys(prefix, after)) {
      if (objects.length === maxKeys) return { objects, nextToken: objects[objects.length - 1]!.key };
      // Walked keys are checked names under the root already; a key deleted meanwhile is skipped.
      const info = await statObject(key, path.join(this.root, key));
      if (info) objects.push(info);
    }
    return { objects };
  }

  listAll(prefix: string, options?: Pick<ListOptions, 'startAfter'>): AsyncIterable<ObjectInfo> {
    return listAllPages((p, o) => this.list(p, o), prefix, options);
  }

  /** Temp files of writes that a crash cut off: invisible to listings, but they hold disk. */
  async removeIncompleteWrites(prefix: string, writtenBefore: Date): Promise<number> {
    return this.removeTemps(path.join(this.root, assertDirectoryPrefix(prefix)), writtenBefore.getTime());
  }

  async close(): Promise<void> {}

  /** The file holding `key`, after the same checks as every call, for a reader that streams it. */
  filePath(key: string): string {
    return this.pathOf(key);
  }

  /** Absolute path of a key, after both walls: the key rules and staying inside the root. */
  private pathOf(key: string): string {
    assertSafeKey(key);
    const file = path.resolve(this.root, ...key.split('/'));
    if (!file.startsWith(this.root + path.sep)) {
      throw new InvalidNameError(`storage key escapes the store root: ${JSON.stringify(key.slice(0, 200))}`);
    }
    return file;
  }

  private async readRange(file: string, range: ByteRange): Promise<Uint8Array> {
    const handle = await open(file, 'r');
    try {
      // Clamp to the file so a range past the end is cut short (as on S3) and never over-allocates.
      const available = Math.max(0, Number((await handle.stat()).size) - range.offset);
      const length = Math.min(range.length ?? available, available);
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, range.offset + filled);
        if (bytesRead === 0) break; // defensive: files are replaced, never truncated, but never spin
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  /** Writes and fsyncs a uniquely named temp file in `dir`, creating `dir` when missing. */
  private async writeTemp(key: string, dir: string, body: ObjectBody): Promise<string> {
    const temp = path.join(dir, `${LOCAL_TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const handle = await this.createTemp(temp, dir).catch((error: unknown) => {
      throw errorCode(error) === 'ENOTDIR' ? keyCollision(key) : error;
    });
    try {
      for (let parts = bodyParts(body).filter((p) => p.byteLength > 0); parts.length > 0; ) {
        const { bytesWritten } = await handle.writev(parts.slice(0, MAX_WRITEV_PARTS));
        parts = partsAfter(parts, bytesWritten);
      }
      await handle.datasync(); // data and size: all a reader needs after link or rename
    } catch (error) {
      await handle.close();
      await unlinkQuietly(temp);
      throw error;
    }
    await handle.close();
    return temp;
  }

  private async createTemp(temp: string, dir: string): Promise<FileHandle> {
    try {
      return await open(temp, 'wx');
    } catch (error) {
      // Only a first write into a new directory pays for mkdir.
      if (errorCode(error) !== 'ENOENT') throw error;
      await this.makeDirs(dir);
      return await open(temp, 'wx');
    }
  }

  /** mkdir -p, then fsync the parent of every directory it created so the new entries persist. */
  private async makeDirs(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined) return;
    let created = dir;
    for (;;) {
      const parent = path.dirname(created);
      await fsyncDir(parent);
      if (created === first || parent === created) return;
      created = parent;
    }
  }

  /** Deletes temp files last written at or before `beforeMs` in `dir` and the store's directories below it. */
  private async removeTemps(dir: string, beforeMs: number): Promise<number> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
    let removed = 0;
    for (const entry of dirents) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory() && isSafeKey(entry.name)) {
        removed += await this.removeTemps(file, beforeMs);
      } else if (entry.isFile() && entry.name.startsWith(LOCAL_TEMP_PREFIX)) {
        // A write in progress keeps touching its temp file, so an old one belongs to no live write.
        const written = await lstat(file).then(
          (s) => s.mtimeMs,
          () => undefined,
        );
        if (written !== undefined && written <= beforeMs && (await unlinkQuietly(file))) removed++;
      }
    }
    return removed;
  }

  /**
   * Keys under `prefix` that sort after `after`, in byte order, lazily. Directory entries are
   * ordered as `name/` so `a/b` sorts between `a-b` and `a0` exactly as S3 orders full keys.
   */
  private async *walkKeys(prefix: string, after: string | undefined): AsyncGenerator<string> {
    const cut = prefix.lastIndexOf('/') + 1;
    const dirKey = prefix.slice(0, cut); // '' or ends with '/'
    yield* this.walkDir(dirKey, prefix.slice(cut), after);
  }

  private async *walkDir(
    dirKey: string,
    namePrefix: string,
    after: string | undefined,
  ): AsyncGenerator<string> {
    const entries = await this.readDirSorted(dirKey);
    for (const { name, isDir } of entries) {
      if (!name.startsWith(namePrefix)) continue;
      const key = dirKey + name + (isDir ? '/' : '');
      if (isDir) {
        // Every key below starts with `key`: skip the subtree when all of it is <= after.
        if (after !== undefined && !after.startsWith(key) && compareKeys(key, after) < 0) continue;
        yield* this.walkDir(key, '', after);
      } else if (after === undefined || compareKeys(key, after) > 0) {
        yield key;
      }
    }
  }

  private async readDirSorted(dirKey: string): Promise<{ name: string; isDir: boolean }[]> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(path.join(this.root, dirKey), { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    // Only what the store itself could have written is listed: plain files and directories whose
    // names are valid key segments. That leaves out temp files ('%'), symlinks and stray files.
    const entries = dirents
      .filter((d) => (d.isFile() || d.isDirectory()) && isSafeKey(d.name))
      .map((d) => ({ name: d.name, isDir: d.isDirectory() }));
    return entries.sort((a, b) =>
      compareKeys(a.isDir ? `${a.name}/` : a.name, b.isDir ? `${b.name}/` : b.name),
    );
  }
}

async function statObject(key: string, file: string): Promise<ObjectInfo | undefined> {
  let stats: BigIntStats;
  try {
    stats = await stat(file, { bigint: true });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  if (!stats.isFile()) return undefined; // a directory is a prefix, not an object
  // Every write publishes a new inode, so inode + mtime + size changes whenever content does.
  return {
    key,
    size: Number(stats.size),
    etag: `${stats.ino.toString(16)}-${stats.mtimeNs.toString(16)}-${stats.size.toString(16)}`,
    lastModified: new Date(Number(stats.mtimeMs)),
  };
}

/** The later of startAfter and a continuation token (the last key of the previous page). */
function laterOf(startAfter: string | undefined, token: string | undefined): string | undefined {
  if (startAfter === undefined) return token;
  if (token === undefined) return startAfter;
  return compareKeys(token, startAfter) > 0 ? token : startAfter;
}

/**
 * A file cannot also be a directory, so unlike S3 the local store cannot hold both `a` and
 * `a/b`. Keys built by catalog/paths never do (objects have extensions, prefixes do not).
 */
function keyCollision(key: string): InvalidNameError {
  return new InvalidNameError(
    `storage key ${JSON.stringify(key.slice(0, 200))} collides with an existing object or prefix: ` +
      'a local store cannot hold both "a" and "a/b"',
  );
}

async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await lstat(file)).isDirectory();
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Answers whether the file was removed. */
async function unlinkQuietly(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch {
    // Best effort: a leftover temp file is invisible to listings, and the expire sweep removes it.
    return false;
  }
}
