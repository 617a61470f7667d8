/**
 * Checkpoints: the state at version V as immutable Parquet files plus `_manifest.json`,
 * written last with put-if-absent. A reader trusts a checkpoint only through its manifest
 * and verifies every file's sha256, so a half-written checkpoint is invisible.
 */
import type { Table } from 'apache-arrow';
import { sha256Hex } from '../canonical.js';
import { WeirError } from '../errors.js';
import { readParquet, writeParquet } from '../parquet/index.js';
import { type CatalogScope, catalogKeys } from '../paths.js';
import type { ObjectStore } from '../store/index.js';
import type { CheckpointFileEntry, CheckpointManifest } from './types.js';

export class CatalogCorruptError extends WeirError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CATALOG_CORRUPT', message, 500, details);
  }
}

export class CheckpointStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly scope: CatalogScope,
  ) {}

  /**
   * Writes the tables then the manifest; answers the manifest that is in place afterwards. A
   * version that already has a manifest is left alone: its files are what readers verify.
   */
  async write(
    version: number,
    timestamp: number,
    tables: Record<string, Table>,
  ): Promise<CheckpointManifest> {
    const existing = await this.readManifest(version);
    if (existing) {
      await this.advanceHint(version);
      return existing;
    }
    const files: CheckpointFileEntry[] = [];
    for (const name of Object.keys(tables).sort()) {
      const bytes = writeParquet(tables[name]!);
      const sha256 = sha256Hex(bytes);
      const key = catalogKeys.checkpointFile(this.scope, version, name, sha256);
      await this.store.put(key, bytes);
      files.push({ table: name, key, rows: tables[name]!.numRows, bytes: bytes.length, sha256 });
    }
    const manifest: CheckpointManifest = { format: 1, version, timestamp, files };
    const manifestKey = catalogKeys.checkpointManifest(this.scope, version);
    const created = await this.store.putIfAbsent(
      manifestKey,
      new TextEncoder().encode(JSON.stringify(manifest)),
    );
    const inPlace = created ? manifest : await this.readManifest(version);
    if (!inPlace)
      throw new CatalogCorruptError(`checkpoint manifest ${manifestKey} vanished after being written`);
    await this.advanceHint(version);
    return inPlace;
  }

  /** The hint only moves forward; it is an optimisation, listing stays the source of truth. */
  private async advanceHint(version: number): Promise<void> {
    const current = await this.readHint();
    if (current !== undefined && current >= version) return;
    await this.store.put(
      catalogKeys.lastCheckpoint(this.scope),
      new TextEncoder().encode(JSON.stringify({ version })),
    );
  }

  async readHint(): Promise<number | undefined> {
    const bytes = await this.store.getIfExists(catalogKeys.lastCheckpoint(this.scope));
    if (!bytes) return undefined;
    try {
      const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { version?: unknown };
      return Number.isSafeInteger(parsed.version) ? (parsed.version as number) : undefined;
    } catch {
      return undefined;
    }
  }

  async readManifest(version: number): Promise<CheckpointManifest | undefined> {
    const key = catalogKeys.checkpointManifest(this.scope, version);
    const bytes = await this.store.getIfExists(key);
    if (!bytes) return undefined;
    let manifest: CheckpointManifest;
    try {
      manifest = JSON.parse(new TextDecoder().decode(bytes)) as CheckpointManifest;
    } catch (error) {
      throw new CatalogCorruptError(`checkpoint manifest ${key} is not JSON`, { cause: String(error) });
    }
    if (manifest.format !== 1 || manifest.version !== version || !Array.isArray(manifest.files)) {
      throw new CatalogCorruptError(`checkpoint manifest ${key} is malformed`);
    }
    return manifest;
  }

  /** Versions that have a complete checkpoint (a manifest), ascending. */
  async listVersions(): Promise<number[]> {
    const versions: number[] = [];
    for await (const object of this.store.listAll(catalogKeys.checkpointsPrefix(this.scope))) {
      const version = catalogKeys.parseCheckpointManifestVersion(this.scope, object.key);
      if (version !== undefined) versions.push(version);
    }
    return versions.sort((a, b) => a - b);
  }

  /** The newest complete checkpoint at or before `version` (any version when omitted). */
  async newest(atOrBefore?: number): Promise<CheckpointManifest | undefined> {
    const hint = await this.readHint();
    // A stale hint is still correct (more log to read), so it serves any target at or after it.
    if (hint !== undefined && (atOrBefore === undefined || hint <= atOrBefore)) {
      const manifest = await this.readManifest(hint);
      if (manifest) return manifest;
    }
    const versions = (await this.listVersions()).filter((v) => atOrBefore === undefined || v <= atOrBefore);
    const newest = versions.at(-1);
    return newest === undefined ? undefined : this.readManifest(newest);
  }

  async readTables(manifest: CheckpointManifest): Promise<Record<string, Table>> {
    const entries = await Promise.all(
      manifest.files.map(async (file) => {
        const bytes = await this.store.getIfExists(file.key);
        if (!bytes)
          throw new CatalogCorruptError(`checkpoint file ${file.key} named by its manifest is missing`);
        if (bytes.length !== file.bytes || sha256Hex(bytes) !== file.sha256) {
          throw new CatalogCorruptError(`checkpoint file ${file.key} does not match its manifest`);
        }
        return [file.table, readParquet(bytes)] as const;
      }),
    );
    return Object.fromEntries(entries);
  }
}
