/**
 * Conflict and validity rules of tenant commits (ADR 0002). Actions apply in order against
 * a draft that copies a map the first time it changes. A rule that fails throws a WeirError:
 * 409 for a conflict with what others committed, 404 for a missing object, 400 for a request
 * that could never apply.
 */
import { CatalogConflictError, CatalogNotFoundError, CatalogRequestError } from '../errors.js';
import type { CommitPoint } from '../log/types.js';
import { dataKeys, isSafeKey, isValidName, parsePartitionPath, partitionPath } from '../paths.js';
import type { ColumnDef, FileSpec, PolicySpec, TenantAction } from './actions.js';
import {
  type DatabaseEntry,
  type FileEntry,
  liveFiles,
  type PartitionFiles,
  type PolicyEntry,
  type PreparedTenantCommit,
  type TableEntry,
  type TenantState,
  type Tombstone,
  tableKey,
} from './state.js';

const HOUR_US = 3_600_000_000;
const DAY_US = 24 * HOUR_US;

class Draft {
  private databasesCopy?: Map<string, DatabaseEntry>;
  private tablesCopy?: Map<string, TableEntry>;
  private policiesCopy?: Map<string, PolicyEntry>;
  /** Tables whose partitions map was already copied in this commit. */
  private readonly ownPartitions = new Map<string, Map<string, PartitionFiles>>();
  /** Partition file maps already copied in this commit, by `table/partition`. */
  private readonly ownFiles = new Map<string, Map<string, FileEntry>>();
  readonly removed: Tombstone[] = [];
  private readonly removedPaths = new Set<string>();
  /** Paths added in this commit: immutable paths may not come back after removal either. */
  private readonly addedPaths = new Set<string>();

  constructor(
    readonly base: TenantState,
    readonly at: CommitPoint,
  ) {}

  get databases(): ReadonlyMap<string, DatabaseEntry> {
    return this.databasesCopy ?? this.base.databases;
  }
  get tables(): ReadonlyMap<string, TableEntry> {
    return this.tablesCopy ?? this.base.tables;
  }
  get policies(): ReadonlyMap<string, PolicyEntry> {
    return this.policiesCopy ?? this.base.policies;
  }
  writableDatabases(): Map<string, DatabaseEntry> {
    this.databasesCopy ??= new Map(this.base.databases);
    return this.databasesCopy;
  }
  writableTables(): Map<string, TableEntry> {
    this.tablesCopy ??= new Map(this.base.tables);
    return this.tablesCopy;
  }
  writablePolicies(): Map<string, PolicyEntry> {
    this.policiesCopy ??= new Map(this.base.policies);
    return this.policiesCopy;
  }

  table(database: string, table: string): TableEntry {
    const entry = this.tables.get(tableKey(database, table));
    if (!entry)
      throw new CatalogNotFoundError('TABLE_NOT_FOUND', `table ${database}.${table} does not exist`, {
        database,
        table,
      });
    return entry;
  }

  /** Replaces a partition's files, copying the table's partitions map once per commit. */
  setPartition(
    entry: TableEntry,
    partition: string,
    files: Map<string, FileEntry>,
    delta: { files: number; rows: number; bytes: number },
  ) {
    const key = tableKey(entry.database, entry.name);
    let partitions = this.ownPartitions.get(key);
    if (!partitions) {
      partitions = new Map(entry.partitions);
      this.ownPartitions.set(key, partitions);
    }
    if (files.size === 0) partitions.delete(partition);
    else partitions.set(partition, files);
    this.writableTables().set(key, {
      ...entry,
      partitions,
      fileCount: entry.fileCount + delta.files,
      rowCount: entry.rowCount + delta.rows,
      byteCount: entry.byteCount + delta.bytes,
    });
  }

  /** Drops this commit's private copies of a table's maps (the table was dropped). */
  forgetTable(key: string) {
    this.ownPartitions.delete(key);
    for (const ownKey of [...this.ownFiles.keys()])
      if (ownKey.startsWith(`${key}/`)) this.ownFiles.delete(ownKey);
  }

  /** The partition's files as a map this commit may change. */
  partitionFiles(entry: TableEntry, partition: string): Map<string, FileEntry> {
    const ownKey = `${tableKey(entry.database, entry.name)}/${partition}`;
    let files = this.ownFiles.get(ownKey);
    if (!files) {
      files = new Map(entry.partitions.get(partition) ?? []);
      this.ownFiles.set(ownKey, files);
    }
    return files;
  }

  isPathTaken(path: string): boolean {
    return this.addedPaths.has(path) || this.wasRemoved(path);
  }

  wasRemoved(path: string): boolean {
    return this.removedPaths.has(path) || this.base.tombstones.get(path) !== undefined;
  }

  noteAdded(path: string) {
    this.addedPaths.add(path);
  }

  entomb(file: FileEntry) {
    this.removedPaths.add(file.path);
    this.removed.push({
      path: file.path,
      database: file.database,
      table: file.table,
      partition: file.partition,
      bytes: file.bytes,
      addedVersion: file.addedVersion,
      removedVersion: this.at.version,
      removedAt: this.at.timestamp,
    });
  }
}

export function prepareTenantCommit(
  state: TenantState,
  actions: readonly TenantAction[],
  at: CommitPoint,
): PreparedTenantCommit {
  const draft = new Draft(state, at);
  for (const action of actions) applyAction(draft, action);
  return {
    version: at.version,
    timestamp: at.timestamp,
    databases: draft.databases,
    tables: draft.tables,
    policies: draft.policies,
    removed: draft.removed,
  };
}

type Handlers = {
  [Op in TenantAction['op']]: (draft: Draft, action: Extract<TenantAction, { op: Op }>) => void;
};

const HANDLERS: Handlers = {
  createDatabase: (draft, a) => createDatabase(draft, a.database, a.properties ?? {}),
  dropDatabase: (draft, a) => dropDatabase(draft, a.database),
  createTable: (draft, a) => createTable(draft, a),
  addColumns: (draft, a) => addColumns(draft, a.database, a.table, a.columns),
  dropTable: (draft, a) => dropTable(draft, a.database, a.table),
  addFile: (draft, a) => addFile(draft, a.file),
  removeFile: (draft, a) => removeFile(draft, a),
  setPolicy: (draft, a) => setPolicy(draft, a.policy),
  dropPolicy: (draft, a) => dropPolicy(draft, a.id),
};

/**
 * Rules added after logs were written (new commits only, `StateMachine.checkNew`):
 * - a database or table name may not differ from an existing one only in case: DuckDB resolves
 *   names without regard to case, so one of the two could never be queried, and on a
 *   case-insensitive filesystem their files would share a directory;
 * - a file's name is an object id (`NAME_RULES.objectId`) and its key a safe key, as every writer
 *   makes them: a key the store or the query wall refuses would break every read of the table.
 */
export function checkNewTenantCommit(state: TenantState, actions: readonly TenantAction[]): void {
  const databases = new CaseFolded([...state.databases.keys()]);
  const tables = new CaseFolded([...state.tables.values()].map((t) => tableKey(t.database, t.name)));
  for (const action of actions) {
    switch (action.op) {
      case 'createDatabase':
        databases.add(action.database, (other) =>
          caseConflict(`database ${action.database}`, `database ${other}`),
        );
        break;
      case 'dropDatabase':
        databases.delete(action.database);
        break;
      case 'createTable':
        tables.add(tableKey(action.database, action.table), (other) =>
          caseConflict(`table ${action.database}.${action.table}`, `table ${other}`),
        );
        refuseReservedColumns(action);
        break;
      case 'addColumns':
        refuseReservedColumns(action);
        break;
      case 'dropTable':
        tables.delete(tableKey(action.database, action.table));
        break;
      case 'addFile': {
        const name = action.file.path.slice(action.file.path.lastIndexOf('/') + 1).replace(/\.parquet$/, '');
        if (!isValidName('objectId', name) || !isSafeKey(action.file.path)) {
          throw new CatalogRequestError(
            'INVALID_FILE_PATH',
            `file ${action.file.path.slice(0, 300)} is not a data file key: its name must be an object id and its key safe`,
          );
        }
        break;
      }
    }
  }
}

/**
 * Column names the workers' SQL gives a meaning of its own: DuckDB's `file_row_number` and
 * `file_index` of read_parquet (a real column of that name hides them, and compaction and deletes
 * order rows by them), and the `__weir` prefix of helper columns. A rule for new commits only:
 * DuckDB compares names without case, so neither does this.
 */
function refuseReservedColumns(action: { database: string; table: string; columns: readonly ColumnDef[] }) {
  for (const { name } of action.columns) {
    const folded = name.toLowerCase();
    if (folded === 'file_row_number' || folded === 'file_index' || folded.startsWith('__weir')) {
      throw new CatalogRequestError(
        'RESERVED_COLUMN',
        `column name ${name} of ${action.database}.${action.table} is reserved (file_row_number, file_index and names starting with __weir are); rename it`,
        { column: name },
      );
    }
  }
}

/** Names compared the way DuckDB and case-insensitive filesystems compare them (ASCII case). */
class CaseFolded {
  private readonly byFolded = new Map<string, string>();
  constructor(names: readonly string[]) {
    for (const name of names) this.byFolded.set(name.toLowerCase(), name);
  }
  /** Adds `name`; `conflict(other)` throws when another name differs from it only in case. */
  add(name: string, conflict: (other: string) => never): void {
    const other = this.byFolded.get(name.toLowerCase());
    if (other !== undefined && other !== name) conflict(other);
    this.byFolded.set(name.toLowerCase(), name);
  }
  delete(name: string): void {
    if (this.byFolded.get(name.toLowerCase()) === name) this.byFolded.delete(name.toLowerCase());
  }
}

/** A distinct code: writers that retry after a race (`TABLE_EXISTS`) must not retry this. */
function caseConflict(wanted: string, existing: string): never {
  throw new CatalogConflictError(
    'NAME_CASE_CONFLICT',
    `${wanted} differs from ${existing} only in case; names are compared without regard to case`,
    { existing },
  );
}

function applyAction(draft: Draft, action: TenantAction): void {
  (HANDLERS[action.op] as (draft: Draft, action: TenantAction) => void)(draft, action);
}

function createDatabase(draft: Draft, name: string, properties: Record<string, string>) {
  if (draft.databases.has(name)) {
    throw new CatalogConflictError('DATABASE_EXISTS', `database ${name} already exists`, { database: name });
  }
  draft
    .writableDatabases()
    .set(name, { name, properties, createdVersion: draft.at.version, createdAt: draft.at.timestamp });
}

function requireDatabase(draft: Draft, name: string) {
  if (!draft.databases.has(name)) {
    throw new CatalogNotFoundError('DATABASE_NOT_FOUND', `database ${name} does not exist`, {
      database: name,
    });
  }
}

function dropDatabase(draft: Draft, name: string) {
  requireDatabase(draft, name);
  for (const table of [...draft.tables.values()]) {
    if (table.database === name) dropTable(draft, name, table.name);
  }
  for (const policy of [...draft.policies.values()]) {
    if (policy.database === name) draft.writablePolicies().delete(policy.id);
  }
  draft.writableDatabases().delete(name);
}

function validateColumns(columns: readonly ColumnDef[], context: string): void {
  const seen = new Set<string>();
  for (const column of columns) {
    // DuckDB identifiers ignore case, so `Host` and `host` would be one column there.
    const folded = column.name.toLowerCase();
    if (seen.has(folded)) {
      throw new CatalogRequestError('DUPLICATE_COLUMN', `${context}: column ${column.name} appears twice`, {
        column: column.name,
      });
    }
    seen.add(folded);
  }
}

function createTable(draft: Draft, action: Extract<TenantAction, { op: 'createTable' }>) {
  const { database, table, columns, partitioning } = action;
  requireDatabase(draft, database);
  const key = tableKey(database, table);
  if (draft.tables.has(key)) {
    throw new CatalogConflictError('TABLE_EXISTS', `table ${database}.${table} already exists`, {
      database,
      table,
    });
  }
  validateColumns(columns, `table ${key}`);
  if (columns.filter((c) => c.role === 'time').length !== 1) {
    throw new CatalogRequestError(
      'TIME_COLUMN_REQUIRED',
      `table ${key} needs exactly one time column named 'time'`,
    );
  }
  const sortKey = action.sortKey ?? [...columns.filter((c) => c.role === 'tag').map((c) => c.name), 'time'];
  const names = new Set(columns.map((c) => c.name));
  const unknown = sortKey.find((name) => !names.has(name));
  if (unknown !== undefined || new Set(sortKey).size !== sortKey.length) {
    throw new CatalogRequestError(
      'INVALID_SORT_KEY',
      `sort key of ${key} must name distinct columns of the table`,
      { column: unknown },
    );
  }
  draft.writableTables().set(key, {
    database,
    name: table,
    columns,
    partitioning,
    sortKey,
    createdVersion: draft.at.version,
    schemaVersion: draft.at.version,
    partitions: new Map(),
    fileCount: 0,
    rowCount: 0,
    byteCount: 0,
  });
}

/** Additive schema evolution: new columns are added, identical ones are no-ops, type clashes are refused. */
function addColumns(draft: Draft, database: string, table: string, columns: readonly ColumnDef[]) {
  const entry = draft.table(database, table);
  validateColumns(columns, `new columns of ${database}.${table}`);
  const existing = new Map(entry.columns.map((c) => [c.name.toLowerCase(), c]));
  const added: ColumnDef[] = [];
  for (const column of columns) {
    const current = existing.get(column.name.toLowerCase());
    if (!current) {
      if (column.role === 'time')
        throw new CatalogRequestError(
          'TIME_COLUMN_EXISTS',
          `table ${database}.${table} already has its time column`,
        );
      added.push(column);
    } else if (current.name !== column.name || current.type !== column.type || current.role !== column.role) {
      throw new CatalogRequestError(
        'TYPE_CONFLICT',
        `column ${column.name} of ${database}.${table} is ${current.role} ${current.type} (as ${current.name}); cannot add it as ${column.role} ${column.type}`,
        { column: column.name, existing: { ...current }, requested: { ...column } },
      );
    }
  }
  if (added.length === 0) return;
  const newTags = added.filter((c) => c.role === 'tag').map((c) => c.name);
  const timeAt = entry.sortKey.lastIndexOf('time');
  const sortKey =
    timeAt === entry.sortKey.length - 1
      ? [...entry.sortKey.slice(0, timeAt), ...newTags, 'time']
      : [...entry.sortKey, ...newTags];
  draft.writableTables().set(tableKey(database, table), {
    ...entry,
    columns: [...entry.columns, ...added],
    sortKey,
    schemaVersion: draft.at.version,
  });
}

function dropTable(draft: Draft, database: string, table: string) {
  const entry = draft.table(database, table);
  for (const file of liveFiles(entry)) draft.entomb(file);
  draft.writableTables().delete(tableKey(database, table));
  draft.forgetTable(tableKey(database, table));
  for (const policy of [...draft.policies.values()]) {
    if (policy.database === database && policy.table === table) draft.writablePolicies().delete(policy.id);
  }
}

function addFile(draft: Draft, spec: FileSpec) {
  const entry = draft.table(spec.database, spec.table);
  const partition = parsePartitionPath(spec.partition);
  if ((partition.hour === undefined) !== (entry.partitioning === 'day')) {
    throw new CatalogRequestError(
      'PARTITION_MISMATCH',
      `partition ${spec.partition} does not fit ${entry.partitioning} partitioning of ${spec.database}.${spec.table}`,
    );
  }
  // The catalog only references objects of its own tenant, table and partition.
  const prefix = `${dataKeys.tablePrefix(draft.base.tenant, spec.database, spec.table)}${partitionPath(partition)}/`;
  if (
    !spec.path.startsWith(prefix) ||
    spec.path.slice(prefix.length).includes('/') ||
    !spec.path.endsWith('.parquet')
  ) {
    throw new CatalogRequestError(
      'INVALID_FILE_PATH',
      `file ${spec.path} is not a data file key of ${spec.database}.${spec.table} partition ${spec.partition}`,
    );
  }
  const start = Date.parse(`${partition.date}T00:00:00Z`) * 1000 + (partition.hour ?? 0) * HOUR_US;
  const end = start + (partition.hour === undefined ? DAY_US : HOUR_US);
  if (spec.minTime < start || spec.maxTime >= end) {
    throw new CatalogRequestError(
      'FILE_OUTSIDE_PARTITION',
      `file ${spec.path} holds times outside partition ${spec.partition}`,
    );
  }
  const names = new Set(entry.columns.map((c) => c.name));
  const unknown = Object.keys(spec.columnStats ?? {}).find((name) => !names.has(name));
  if (unknown !== undefined) {
    throw new CatalogRequestError(
      'UNKNOWN_COLUMN',
      `file ${spec.path} has statistics for unknown column ${unknown}`,
      { column: unknown },
    );
  }
  if (spec.sourceVersion !== undefined && spec.sourceVersion >= draft.at.version) {
    throw new CatalogRequestError(
      'INVALID_SOURCE_VERSION',
      `file ${spec.path} claims rows first committed at version ${spec.sourceVersion}, not before this commit (${draft.at.version})`,
      { path: spec.path, sourceVersion: spec.sourceVersion },
    );
  }
  const files = draft.partitionFiles(entry, spec.partition);
  if (files.has(spec.path) || draft.isPathTaken(spec.path)) {
    throw new CatalogConflictError(
      'FILE_EXISTS',
      `file ${spec.path} is or was already in the catalog; data keys are never reused`,
      { path: spec.path },
    );
  }
  const { columnStats, ...rest } = spec;
  const file: FileEntry = columnStats
    ? { ...rest, columnStatsJson: JSON.stringify(columnStats), addedVersion: draft.at.version }
    : { ...rest, addedVersion: draft.at.version };
  files.set(spec.path, file);
  draft.noteAdded(spec.path);
  draft.setPartition(entry, spec.partition, files, { files: 1, rows: spec.rows, bytes: spec.bytes });
}

function removeFile(draft: Draft, action: Extract<TenantAction, { op: 'removeFile' }>) {
  const entry = draft.table(action.database, action.table);
  const files = draft.partitionFiles(entry, action.partition);
  const file = files.get(action.path);
  if (!file) {
    const gone = draft.wasRemoved(action.path);
    throw new CatalogConflictError(
      gone ? 'FILE_ALREADY_REMOVED' : 'FILE_NOT_FOUND',
      gone
        ? `file ${action.path} was already removed by another commit`
        : `file ${action.path} is not in ${action.database}.${action.table} partition ${action.partition}`,
      { path: action.path },
    );
  }
  files.delete(action.path);
  draft.entomb(file);
  draft.setPartition(entry, action.partition, files, { files: -1, rows: -file.rows, bytes: -file.bytes });
}

function setPolicy(draft: Draft, policy: PolicySpec) {
  requireDatabase(draft, policy.database);
  if (policy.table !== undefined) draft.table(policy.database, policy.table);
  draft.writablePolicies().set(policy.id, { ...policy, version: draft.at.version });
}

function dropPolicy(draft: Draft, id: string) {
  if (!draft.policies.has(id))
    throw new CatalogNotFoundError('POLICY_NOT_FOUND', `policy ${id} does not exist`, { id });
  draft.writablePolicies().delete(id);
}
