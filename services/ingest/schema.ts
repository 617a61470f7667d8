/**
 * Schema reconciliation (DESIGN.md §3, §5; ADR 0015): the columns a request writes are matched
 * to the catalog before anything is buffered. Unknown databases, tables and columns are created
 * by one commit; an existing column keeps its type and role. The one silent conversion is int64
 * values into a float64 column (whole numbers lose their float-ness in MessagePack and JSON),
 * and only when exact; every other mismatch is a 400 naming the column.
 */
import {
  CatalogConflictError,
  type ColumnDef,
  type TableEntry,
  type TenantCatalog,
  type TenantState,
  tableKey,
} from '../../catalog/index.js';
import type { BatchColumn, TableBatch } from './batch.js';
import { IngestError } from './errors.js';

/** float64 holds every integer up to 2^53 exactly. */
const MAX_EXACT_FLOAT_INT = 2n ** 53n;

/** A batch whose columns now have exactly the catalog's names, types and roles. */
export interface ReconciledBatch extends TableBatch {
  /** The table's columns at the catalog version the batch was reconciled against. */
  readonly tableColumns: readonly ColumnDef[];
  /**
   * The version that created the table the rows were matched to: which table they belong to, so
   * rows written before a drop never flush into a table re-created under the same name.
   */
  readonly tableVersion: number;
}

interface Plan {
  actions: unknown[];
  batches: Omit<ReconciledBatch, 'tableVersion'>[];
}

function columnDefOf(column: BatchColumn): ColumnDef {
  return { name: column.name, type: column.type, role: column.role };
}

function conflict(batch: TableBatch, column: BatchColumn, current: ColumnDef, why: string): IngestError {
  return new IngestError(
    'TYPE_CONFLICT',
    `column ${column.name} of ${batch.database}.${batch.table} is a ${current.type} ${current.role} in the catalog; this request writes it as a ${column.type} ${column.role}${why}`,
    400,
    { database: batch.database, table: batch.table, column: column.name },
  );
}

/** int64 values into a float64 column, refusing any that float64 cannot hold exactly. */
function widenToFloat(batch: TableBatch, column: Extract<BatchColumn, { type: 'int64' }>): BatchColumn {
  const values = new Float64Array(column.values.length);
  for (let i = 0; i < values.length; i++) {
    const v = column.values[i]!;
    if ((v > MAX_EXACT_FLOAT_INT || v < -MAX_EXACT_FLOAT_INT) && (column.valid?.[i] ?? 1) === 1) {
      throw new IngestError(
        'TYPE_CONFLICT',
        `column ${column.name} of ${batch.database}.${batch.table} is float64; row ${i + 1} holds the integer ${v}, which float64 cannot hold exactly`,
        400,
        { column: column.name, row: i + 1 },
      );
    }
    values[i] = Number(v);
  }
  return {
    name: column.name,
    role: column.role,
    roleDeclared: column.roleDeclared,
    type: 'float64',
    values,
    ...(column.valid ? { valid: column.valid } : {}),
  };
}

/** The column as the catalog types it, or a 400 when it cannot be. */
function matchColumn(batch: TableBatch, column: BatchColumn, current: ColumnDef): BatchColumn {
  if (current.name !== column.name) {
    throw new IngestError(
      'COLUMN_NAME_CASE',
      `column ${column.name} of ${batch.database}.${batch.table} differs only in case from the existing column ${current.name} (column names ignore case)`,
      400,
      { column: column.name, existing: current.name },
    );
  }
  if (current.role === 'time') throw conflict(batch, column, current, '');
  if (current.role !== column.role) {
    // An inferred role yields to the catalog's; a declared one that differs is a conflict.
    if (column.roleDeclared) throw conflict(batch, column, current, '');
    column = { ...column, role: current.role } as BatchColumn;
  }
  if (current.type === column.type) return column;
  if (current.type === 'float64' && column.type === 'int64') return widenToFloat(batch, column);
  throw conflict(batch, column, current, '');
}

/** What the batch needs from the catalog, against one state. */
function planBatch(state: TenantState, batch: TableBatch, actions: unknown[], created: Set<string>) {
  const { database, table } = batch;
  if (!state.databases.has(database) && !created.has(database)) {
    actions.push({ op: 'createDatabase', database });
    created.add(database);
  }
  const entry: TableEntry | undefined = state.tables.get(tableKey(database, table));
  if (!entry) {
    const columns: ColumnDef[] = [
      { name: 'time', type: 'timestamp', role: 'time' },
      ...batch.columns.map(columnDefOf),
    ];
    actions.push({ op: 'createTable', database, table, columns });
    return { ...batch, tableColumns: columns };
  }
  const existing = new Map(entry.columns.map((c) => [c.name.toLowerCase(), c]));
  const added: ColumnDef[] = [];
  const columns = batch.columns.map((column) => {
    const current = existing.get(column.name.toLowerCase());
    if (current) return matchColumn(batch, column, current);
    added.push(columnDefOf(column));
    return column;
  });
  if (added.length > 0) actions.push({ op: 'addColumns', database, table, columns: added });
  return { ...batch, columns, tableColumns: [...entry.columns, ...added] };
}

function planAll(state: TenantState, batches: readonly TableBatch[]): Plan {
  const actions: unknown[] = [];
  const created = new Set<string>();
  return { actions, batches: batches.map((batch) => planBatch(state, batch, actions, created)) };
}

const RETRIES = 5;

/**
 * Matches the batches to the tenant's catalog, committing new databases, tables and columns in
 * one commit. A concurrent writer that created the same things first is not an error: the
 * batches are matched again against what it committed. `beforeCommit` runs right before each
 * commit and may refuse the request (it throws), so a refused request changes no schema;
 * `committed` says whether this call committed, after which the request must not be refused.
 */
export async function reconcileSchema(
  catalog: TenantCatalog,
  batches: readonly TableBatch[],
  beforeCommit: () => void = () => {},
): Promise<{ batches: ReconciledBatch[]; committed: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const state = await catalog.current();
    const plan = planAll(state, batches);
    if (plan.actions.length === 0) return { batches: withTableVersions(state, plan), committed: false };
    beforeCommit();
    try {
      const { state: next } = await catalog.commit(plan.actions, { operation: 'schema' });
      return { batches: withTableVersions(next, plan), committed: true };
    } catch (error) {
      const raced =
        error instanceof CatalogConflictError &&
        (error.code === 'DATABASE_EXISTS' || error.code === 'TABLE_EXISTS');
      if (!raced || attempt >= RETRIES) throw error;
      await catalog.refresh();
    }
  }
}

function withTableVersions(state: TenantState, plan: Plan): ReconciledBatch[] {
  return plan.batches.map((batch) => ({
    ...batch,
    tableVersion: state.tables.get(tableKey(batch.database, batch.table))!.createdVersion,
  }));
}
