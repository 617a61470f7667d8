/**
 * A tenant's catalog state and the rules that move it from one version to the next.
 * States are immutable and share structure: a commit copies only the maps it touches
 * (the tables map, the touched table's partitions map, the touched partitions), so a
 * pinned version stays valid while the head moves on.
 */
import type { LedgerView } from '../log/ledger.js';
import type { CommitSummary, LogState } from '../log/types.js';
import type { ColumnDef, ColumnStats, FileSpec, PolicySpec } from './actions.js';

export interface DatabaseEntry {
  readonly name: string;
  readonly createdVersion: number;
  /** Commit timestamp (ms) of the version that created it. */
  readonly createdAt: number;
  readonly properties: Readonly<Record<string, string>>;
}

/**
 * A live data file. Column statistics stay in their JSON text until someone asks for them
 * (`fileColumnStats`): loading a 100K-file state must not parse 100K small documents.
 */
export interface FileEntry extends Omit<FileSpec, 'columnStats'> {
  readonly columnStatsJson?: string;
  readonly addedVersion: number;
}

const parsedStats = new WeakMap<FileEntry, ColumnStats>();

export function fileColumnStats(file: FileEntry): ColumnStats {
  let stats = parsedStats.get(file);
  if (!stats) {
    stats = file.columnStatsJson ? (JSON.parse(file.columnStatsJson) as ColumnStats) : {};
    parsedStats.set(file, stats);
  }
  return stats;
}

/**
 * How recent a file's rows are: the newest version at which one of them was first committed. A
 * deduplicating compaction keeps the row of the most recent file; a rewrite (compaction, delete)
 * gets a new `addedVersion` but must not make old rows look new.
 */
export function fileRecency(file: Pick<FileEntry, 'addedVersion' | 'sourceVersion'>): number {
  return file.sourceVersion ?? file.addedVersion;
}

/** Files of one partition, by path. */
export type PartitionFiles = ReadonlyMap<string, FileEntry>;

export interface TableEntry {
  readonly database: string;
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  readonly partitioning: 'hour' | 'day';
  readonly sortKey: readonly string[];
  readonly createdVersion: number;
  /** Version of the last schema change (creation or added columns). */
  readonly schemaVersion: number;
  /** Partition text (`date=…/hour=…`) → its live files. */
  readonly partitions: ReadonlyMap<string, PartitionFiles>;
  readonly fileCount: number;
  readonly rowCount: number;
  readonly byteCount: number;
}

export interface PolicyEntry extends PolicySpec {
  /** Version that last set it. */
  readonly version: number;
}

/** A data file removed from the catalog; its object stays until expiry deletes it. */
export interface Tombstone {
  readonly path: string;
  readonly database: string;
  readonly table: string;
  readonly partition: string;
  readonly bytes: number;
  readonly removedVersion: number;
  /** Commit timestamp (ms) of the removal; expiry measures the time-travel window from it. */
  readonly removedAt: number;
  readonly addedVersion: number;
}

export interface TenantState extends LogState {
  readonly tenant: string;
  readonly databases: ReadonlyMap<string, DatabaseEntry>;
  /** Key `database.table`. */
  readonly tables: ReadonlyMap<string, TableEntry>;
  readonly policies: ReadonlyMap<string, PolicyEntry>;
  readonly tombstones: LedgerView<Tombstone>;
  readonly history: LedgerView<CommitSummary>;
}

export function tableKey(database: string, table: string): string {
  return `${database}.${table}`;
}

/**
 * The table `database.table` if it is still the one created at `createdVersion` (any table of that
 * name when undefined); undefined once it was dropped, even if created again under that name.
 */
export function tableCreatedAt(
  state: TenantState,
  database: string,
  table: string,
  createdVersion: number | undefined,
): TableEntry | undefined {
  const entry = state.tables.get(tableKey(database, table));
  return entry && (createdVersion === undefined || entry.createdVersion === createdVersion)
    ? entry
    : undefined;
}

export function* liveFiles(table: TableEntry): IterableIterator<FileEntry> {
  for (const files of table.partitions.values()) yield* files.values();
}

/** The effect of a commit computed by `prepare`, applied by `finalize`. */
export interface PreparedTenantCommit {
  version: number;
  timestamp: number;
  databases: ReadonlyMap<string, DatabaseEntry>;
  tables: ReadonlyMap<string, TableEntry>;
  policies: ReadonlyMap<string, PolicyEntry>;
  removed: Tombstone[];
}

export function finalizeTenantCommit(
  state: TenantState,
  prepared: PreparedTenantCommit,
  history: LedgerView<CommitSummary>,
): TenantState {
  const { version, timestamp, databases, tables, policies } = prepared;
  const tombstones = state.tombstones.advance(version, prepared.removed);
  return { tenant: state.tenant, version, timestamp, databases, tables, policies, tombstones, history };
}
