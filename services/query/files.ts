/**
 * Where the engine reads data files from (DESIGN.md §7, §10). A local store's files are read in
 * place. Any other store's are copied into a local cache first (DuckDB's httpfs cannot be installed
 * here): data files are immutable, so a cached copy is never stale; the cache is bounded by bytes
 * and drops the least recently used files that no running query holds.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { LocalObjectStore, type ObjectStore, paths } from '../../catalog/index.js';

/** Files held for one query; release them when it is done. */
export interface HeldFiles {
  readonly paths: readonly string[];
  release(): void;
}

export interface QueryFiles {
  /** The directories the tenant's engine may open (its second wall). */
  directories(tenant: string): string[];
  /** Local paths of the data files, in the order of `keys`. */
  hold(tenant: string, keys: readonly string[]): Promise<HeldFiles>;
}

export function queryFilesFor(store: ObjectStore, cacheDir: string, maxCacheBytes: number): QueryFiles {
  return store instanceof LocalObjectStore
    ? new StoreFiles(store.root)
    : new CachedFiles(store, cacheDir, maxCacheBytes);
}

function dataDirectory(root: string, tenant: string): string {
  return join(root, ...`${paths.tenantPrefix(tenant)}data`.split('/')) + sep;
}

class StoreFiles implements QueryFiles {
  constructor(private readonly root: string) {}

  directories(tenant: string): string[] {
    return [dataDirectory(this.root, tenant)];
  }

  async hold(tenant: string, keys: readonly string[]): Promise<HeldFiles> {
    // Keys that are not the tenant's data files never reach DuckDB.
    for (const key of keys) paths.dataKeys.assertOfTenant(tenant, key);
    return { paths: keys.map((key) => join(this.root, ...key.split('/'))), release: () => {} };
  }
}

interface CacheEntry {
  bytes: number;
  holders: number;
  /** Set while the download runs; every query asking meanwhile waits for the same one. */
  ready: Promise<void>;
}

class CachedFiles implements QueryFiles {
  /** In least-recently-used order (a Map keeps insertion order; a use re-inserts). */
  private readonly entries = new Map<string, CacheEntry>();
  /** Removals of evicted copies still running: a new copy of the key waits for its removal. */
  private readonly removals = new Map<string, Promise<void>>();
  private bytes = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  directories(tenant: string): string[] {
    return [dataDirectory(this.dir, tenant)];
  }

  async hold(tenant: string, keys: readonly string[]): Promise<HeldFiles> {
    // Keys that are not the tenant's data files never reach DuckDB.
    for (const key of keys) paths.dataKeys.assertOfTenant(tenant, key);
    const held: CacheEntry[] = [];
    const release = () => {
      for (const entry of held.splice(0)) entry.holders--;
      this.evict();
    };
    try {
      for (const key of keys) {
        const entry = this.entries.get(key) ?? this.fetch(key);
        this.entries.delete(key);
        this.entries.set(key, entry);
        entry.holders++;
        held.push(entry);
      }
      await Promise.all(held.map((entry) => entry.ready));
    } catch (error) {
      release();
      throw error;
    }
    return { paths: keys.map((key) => this.pathOf(key)), release };
  }

  private pathOf(key: string): string {
    return join(this.dir, ...key.split('/'));
  }

  private fetch(key: string): CacheEntry {
    const entry: CacheEntry = { bytes: 0, holders: 0, ready: Promise.resolve() };
    entry.ready = (async () => {
      const data = await this.store.get(key);
      const path = this.pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const temp = `${path}.${randomUUID()}.tmp`;
      await writeFile(temp, data);
      // Else an earlier eviction's late removal would delete the new copy under a running query.
      await this.removals.get(key);
      await rename(temp, path);
      entry.bytes = data.byteLength;
      this.bytes += data.byteLength;
    })();
    entry.ready.catch(() => this.entries.delete(key));
    return entry;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) return;
      if (entry.holders > 0 || entry.bytes === 0) continue;
      this.entries.delete(key);
      this.bytes -= entry.bytes;
      const removal = rm(this.pathOf(key), { force: true })
        .catch(() => {})
        .finally(() => {
          if (this.removals.get(key) === removal) this.removals.delete(key);
        });
      this.removals.set(key, removal);
    }
  }
}
