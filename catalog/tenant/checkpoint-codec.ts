/**
 * Tenant state ↔ the checkpoint tables `databases`, `tables`, `columns`, `files` (live files
 * and tombstones) and `policies`. Rows are sorted so equal states give equal bytes. The
 * column names are documented in docs/catalog-checkpoints.md and read by DuckDB directly.
 */
import { Table } from 'apache-arrow';
import { LedgerView } from '../log/ledger.js';
import type { CommitSummary } from '../log/types.js';
import {
  column,
  readBigintColumn,
  readInt32Column,
  readNonNullBigintColumn,
  readNonNullStringColumn,
  readStringColumn,
  readStringListColumn,
} from '../parquet/index.js';
import type { ColumnDef, PolicySpec } from './actions.js';
import {
  type DatabaseEntry,
  type FileEntry,
  liveFiles,
  type PolicyEntry,
  type TableEntry,
  type TenantState,
  type Tombstone,
  tableKey,
} from './state.js';

export const TENANT_CHECKPOINT_TABLES = ['databases', 'tables', 'columns', 'files', 'policies'] as const;

const byString =
  <T>(key: (v: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

export function tenantStateToTables(state: TenantState): Record<string, Table> {
  const databases = [...state.databases.values()].sort(byString((d) => d.name));
  const tables = [...state.tables.values()].sort(byString((t) => tableKey(t.database, t.name)));
  const policies = [...state.policies.values()].sort(byString((p) => p.id));
  const files = tables.flatMap((t) => [...liveFiles(t)]).sort(byString((f) => f.path));
  const tombstones = [...state.tombstones].sort(
    (a, b) => a.removedVersion - b.removedVersion || (a.path < b.path ? -1 : 1),
  );
  const columns = tables.flatMap((t) =>
    t.columns.map((c, ordinal) => ({ ...c, ordinal, database: t.database, table: t.name })),
  );

  return {
    databases: new Table({
      name: column.utf8(databases.map((d) => d.name)),
      created_version: column.int64(databases.map((d) => d.createdVersion)),
      created_at: column.timestampMicros(databases.map((d) => d.createdAt * 1000)),
      properties: column.utf8(databases.map((d) => JSON.stringify(d.properties))),
    }),
    tables: new Table({
      database: column.utf8(tables.map((t) => t.database)),
      name: column.utf8(tables.map((t) => t.name)),
      partitioning: column.utf8(tables.map((t) => t.partitioning)),
      sort_key: column.utf8List(tables.map((t) => t.sortKey)),
      created_version: column.int64(tables.map((t) => t.createdVersion)),
      schema_version: column.int64(tables.map((t) => t.schemaVersion)),
      file_count: column.int64(tables.map((t) => t.fileCount)),
      row_count: column.int64(tables.map((t) => t.rowCount)),
      byte_count: column.int64(tables.map((t) => t.byteCount)),
    }),
    columns: new Table({
      database: column.utf8(columns.map((c) => c.database)),
      table: column.utf8(columns.map((c) => c.table)),
      name: column.utf8(columns.map((c) => c.name)),
      type: column.utf8(columns.map((c) => c.type)),
      role: column.utf8(columns.map((c) => c.role)),
      ordinal: column.int32(columns.map((c) => c.ordinal)),
    }),
    files: filesTable(files, tombstones),
    policies: new Table({
      id: column.utf8(policies.map((p) => p.id)),
      kind: column.utf8(policies.map((p) => p.kind)),
      database: column.utf8(policies.map((p) => p.database)),
      table: column.utf8(policies.map((p) => p.table ?? null)),
      definition: column.utf8(policies.map((p) => JSON.stringify(p.definition))),
      version: column.int64(policies.map((p) => p.version)),
    }),
  };
}

/** Live files first (removed_version null), then tombstones in removal order. */
function filesTable(files: FileEntry[], tombstones: Tombstone[]): Table {
  const rows = files.length + tombstones.length;
  const pick = <T>(live: (f: FileEntry) => T, dead: (t: Tombstone) => T): T[] => {
    const out = new Array<T>(rows);
    files.forEach((f, i) => {
      out[i] = live(f);
    });
    tombstones.forEach((t, i) => {
      out[files.length + i] = dead(t);
    });
    return out;
  };
  return new Table({
    path: column.utf8(
      pick(
        (f) => f.path,
        (t) => t.path,
      ),
    ),
    database: column.utf8(
      pick(
        (f) => f.database,
        (t) => t.database,
      ),
    ),
    table: column.utf8(
      pick(
        (f) => f.table,
        (t) => t.table,
      ),
    ),
    partition: column.utf8(
      pick(
        (f) => f.partition,
        (t) => t.partition,
      ),
    ),
    rows: column.int64(
      pick(
        (f) => f.rows,
        () => null,
      ),
    ),
    bytes: column.int64(
      pick(
        (f) => f.bytes,
        (t) => t.bytes,
      ),
    ),
    min_time: column.timestampMicros(
      pick(
        (f) => f.minTime,
        () => null,
      ),
    ),
    max_time: column.timestampMicros(
      pick(
        (f) => f.maxTime,
        () => null,
      ),
    ),
    sha256: column.utf8(
      pick(
        (f) => f.sha256,
        () => null,
      ),
    ),
    column_stats: column.utf8(
      pick(
        (f) => f.columnStatsJson ?? null,
        () => null,
      ),
    ),
    added_version: column.int64(
      pick(
        (f) => f.addedVersion,
        (t) => t.addedVersion,
      ),
    ),
    source_version: column.int64(
      pick(
        (f) => f.sourceVersion ?? null,
        () => null,
      ),
    ),
    removed_version: column.int64(
      pick(
        () => null,
        (t) => t.removedVersion,
      ),
    ),
    removed_at: column.timestampMicros(
      pick(
        () => null,
        (t) => t.removedAt * 1000,
      ),
    ),
  });
}

export function tenantStateFromTables(
  tenant: string,
  tables: Record<string, Table>,
  at: { version: number; timestamp: number; history: LedgerView<CommitSummary> },
): TenantState {
  const databases = readDatabases(tables.databases!);
  const policies = readPolicies(tables.policies!);
  const { live, tombstones } = readFiles(tables.files!);
  const tableEntries = readTables(tables.tables!, readColumns(tables.columns!), live);
  return {
    tenant,
    version: at.version,
    timestamp: at.timestamp,
    history: at.history,
    databases,
    tables: tableEntries,
    policies,
    tombstones: LedgerView.from(tombstones, at.version, (t) => t.path),
  };
}

function readDatabases(table: Table): Map<string, DatabaseEntry> {
  const names = readNonNullStringColumn(table, 'name');
  const versions = readNonNullBigintColumn(table, 'created_version');
  const createdAt = readNonNullBigintColumn(table, 'created_at');
  const properties = readNonNullStringColumn(table, 'properties');
  return new Map(
    names.map((name, i) => [
      name,
      {
        name,
        createdVersion: versions[i]!,
        createdAt: createdAt[i]! / 1000,
        properties: JSON.parse(properties[i]!),
      },
    ]),
  );
}

function readPolicies(table: Table): Map<string, PolicyEntry> {
  const ids = readNonNullStringColumn(table, 'id');
  const kinds = readNonNullStringColumn(table, 'kind');
  const databases = readNonNullStringColumn(table, 'database');
  const tables = readStringColumn(table, 'table');
  const definitions = readNonNullStringColumn(table, 'definition');
  const versions = readNonNullBigintColumn(table, 'version');
  return new Map(
    ids.map((id, i) => {
      const policy: PolicyEntry = {
        id,
        kind: kinds[i] as PolicySpec['kind'],
        database: databases[i]!,
        definition: JSON.parse(definitions[i]!),
        version: versions[i]!,
      };
      const tableName = tables[i];
      return [id, tableName ? { ...policy, table: tableName } : policy];
    }),
  );
}

function readColumns(table: Table): Map<string, ColumnDef[]> {
  const databases = readNonNullStringColumn(table, 'database');
  const tables = readNonNullStringColumn(table, 'table');
  const names = readNonNullStringColumn(table, 'name');
  const types = readNonNullStringColumn(table, 'type');
  const roles = readNonNullStringColumn(table, 'role');
  const ordinals = readInt32Column(table, 'ordinal');
  const byTable = new Map<string, { ordinal: number; column: ColumnDef }[]>();
  names.forEach((name, i) => {
    const key = tableKey(databases[i]!, tables[i]!);
    const list = byTable.get(key) ?? [];
    list.push({
      ordinal: ordinals[i]!,
      column: { name, type: types[i] as ColumnDef['type'], role: roles[i] as ColumnDef['role'] },
    });
    byTable.set(key, list);
  });
  return new Map(
    [...byTable].map(([key, list]) => [key, list.sort((a, b) => a.ordinal - b.ordinal).map((c) => c.column)]),
  );
}

function readFiles(table: Table): { live: Map<string, FileEntry[]>; tombstones: Tombstone[] } {
  const paths = readNonNullStringColumn(table, 'path');
  const databases = readNonNullStringColumn(table, 'database');
  const tables = readNonNullStringColumn(table, 'table');
  const partitions = readNonNullStringColumn(table, 'partition');
  const rows = readBigintColumn(table, 'rows');
  const bytes = readNonNullBigintColumn(table, 'bytes');
  const minTimes = readBigintColumn(table, 'min_time');
  const maxTimes = readBigintColumn(table, 'max_time');
  const sha256 = readStringColumn(table, 'sha256');
  const stats = readStringColumn(table, 'column_stats');
  const added = readNonNullBigintColumn(table, 'added_version');
  // Checkpoints written before files carried a source version have no such column.
  const sources = table.getChild('source_version') ? readBigintColumn(table, 'source_version') : [];
  const removed = readBigintColumn(table, 'removed_version');
  const removedAt = readBigintColumn(table, 'removed_at');
  const live = new Map<string, FileEntry[]>();
  const tombstones: Tombstone[] = [];
  for (let i = 0; i < paths.length; i++) {
    const removedVersion = removed[i];
    if (removedVersion !== null && removedVersion !== undefined) {
      tombstones.push({
        path: paths[i]!,
        database: databases[i]!,
        table: tables[i]!,
        partition: partitions[i]!,
        bytes: bytes[i]!,
        addedVersion: added[i]!,
        removedVersion,
        removedAt: (removedAt[i] ?? 0) / 1000,
      });
      continue;
    }
    const statsJson = stats[i];
    const sourceVersion = sources[i];
    const file: FileEntry = {
      path: paths[i]!,
      database: databases[i]!,
      table: tables[i]!,
      partition: partitions[i]!,
      rows: rows[i]!,
      bytes: bytes[i]!,
      minTime: minTimes[i]!,
      maxTime: maxTimes[i]!,
      sha256: sha256[i]!,
      addedVersion: added[i]!,
      ...(statsJson ? { columnStatsJson: statsJson } : {}),
      ...(typeof sourceVersion === 'number' ? { sourceVersion } : {}),
    };
    const key = tableKey(file.database, file.table);
    const list = live.get(key);
    if (list) list.push(file);
    else live.set(key, [file]);
  }
  return { live, tombstones };
}

function readTables(
  table: Table,
  columns: Map<string, ColumnDef[]>,
  files: Map<string, FileEntry[]>,
): Map<string, TableEntry> {
  const databases = readNonNullStringColumn(table, 'database');
  const names = readNonNullStringColumn(table, 'name');
  const partitioning = readNonNullStringColumn(table, 'partitioning');
  const sortKeys = readStringListColumn(table, 'sort_key');
  const created = readNonNullBigintColumn(table, 'created_version');
  const schema = readNonNullBigintColumn(table, 'schema_version');
  return new Map(
    names.map((name, i) => {
      const key = tableKey(databases[i]!, name);
      const partitions = new Map<string, Map<string, FileEntry>>();
      let rowCount = 0;
      let byteCount = 0;
      const tableFiles = files.get(key) ?? [];
      for (const file of tableFiles) {
        let partition = partitions.get(file.partition);
        if (!partition) {
          partition = new Map();
          partitions.set(file.partition, partition);
        }
        partition.set(file.path, file);
        rowCount += file.rows;
        byteCount += file.bytes;
      }
      const entry: TableEntry = {
        database: databases[i]!,
        name,
        columns: columns.get(key) ?? [],
        partitioning: partitioning[i] as TableEntry['partitioning'],
        sortKey: sortKeys[i]!,
        createdVersion: created[i]!,
        schemaVersion: schema[i]!,
        partitions,
        fileCount: tableFiles.length,
        rowCount,
        byteCount,
      };
      return [key, entry];
    }),
  );
}
