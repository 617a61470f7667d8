/**
 * Checkpoints: the state at version V as immutable Parquet files plus `_manifest.json`,
 * written last with put-if-absent. A reader trusts a checkpoint only through its manifest
 * and verifies every file's sha256, so a half-written checkpoint is invisible.
 */
import type { Table } from 'apache-arrow';
import { z } from 'zod';
import { sha256Hex } from '../canonical.js';
import { WeirError } from '../errors.js';
import { readParquet, writeParquet } from '../parquet/index.js';
import { type CatalogScope, catalogKeys } from '../paths.js';
import type { ObjectStore } from '../store/index.js';
import type { CheckpointFileEntry, CheckpointManifest } from './types.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const count = z.number().int().nonnegative();

/** What a reader accepts as `_manifest.json` (format 1); anything else is a corrupt checkpoint. */
const manifestSchema = z.object({
  format: z.literal(1),
  version: z.number().int().positive(),
  timestamp: z.number().int(),
  files: z.array(
    z.object({
      table: z.string().min(1),
      key: z.string().min(1),
      rows: count,
      bytes: count,
      sha256: z.string().regex(SHA256_HEX),
    }),
  ),
});

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
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new CatalogCorruptError(`checkpoint manifest ${key} is not JSON`, { cause: String(error) });
    }
    const parsed = manifestSchema.safeParse(raw);
    if (!parsed.success || parsed.data.version !== version) {
      throw new CatalogCorruptError(`checkpoint manifest ${key} is malformed`);
    }
    // Every file must be one of this checkpoint's own (digest-named, or plain `{table}.parquet`
    // from before): a manifest names nothing else to read.
    const directory = key.slice(0, key.lastIndexOf('/') + 1);
    for (const file of parsed.data.files) {
      const name = file.key.slice(directory.length);
      if (!file.key.startsWith(directory) || !/^[A-Za-z][A-Za-z0-9_-]*\.parquet$/.test(name))
        throw new CatalogCorruptError(`checkpoint manifest ${key} names a file that is not its own`);
    }
    return parsed.data;
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

  /**
   * The newest complete checkpoint at or before `version` (any version when omitted) whose
   * manifest reads back; a corrupt manifest is passed over like a checkpoint that is not there.
   */
  async newest(atOrBefore?: number): Promise<CheckpointManifest | undefined> {
    const hint = await this.readHint();
    // A stale hint is still correct (more log to read), so it serves any target at or after it.
    if (hint !== undefined && (atOrBefore === undefined || hint <= atOrBefore)) {
      const manifest = await this.readManifestIfSound(hint);
      if (manifest) return manifest;
    }
    const versions = (await this.listVersions()).filter((v) => atOrBefore === undefined || v <= atOrBefore);
    for (const version of versions.reverse()) {
      const manifest = await this.readManifestIfSound(version);
      if (manifest) return manifest;
    }
    return undefined;
  }

  private async readManifestIfSound(version: number): Promise<CheckpointManifest | undefined> {
    try {
      return await this.readManifest(version);
    } catch (error) {
      if (error instanceof CatalogCorruptError) return undefined;
      throw error;
    }
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
