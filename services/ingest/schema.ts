/**
 * Schema reconciliation (DESIGN.md §3, §5; ADR 0015): the columns a request writes are matched
 * to the catalog before anything is buffered. Unknown databases, tables and columns are created
 * by one commit; an existing column keeps its type and role. The one silent conversion is int64
 * values into a float64 column (integers of a request that has no float, or JSON's whole numbers,
 * which JSON cannot mark as floats), and only when exact; every other mismatch is a 400 naming the
 * column.
 */
import {
  CatalogConflictError,
  CatalogNotFoundError,
  CatalogRequestError,
  type ColumnDef,
  type TableEntry,
  type TenantCatalog,
  type TenantState,
  tableKey,
} from '../../catalog/index.js';
import type { BatchColumn, TableBatch } from './batch.js';
import { IngestError, show } from './errors.js';

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

function conflict(batch: TableBatch, column: BatchColumn, current: ColumnDef): IngestError {
  return new IngestError(
    'TYPE_CONFLICT',
    `column ${column.name} of ${batch.database}.${batch.table} is ${article(current.type)} ${current.type} ${current.role} in the catalog; ` +
      `this request writes it as ${article(column.type)} ${column.type} ${column.role} (${firstValue(column)})`,
    400,
    { database: batch.database, table: batch.table, column: column.name },
  );
}

function article(type: string): string {
  return type === 'int64' ? 'an' : 'a';
}

/** Where the request first writes the column and what: "first at line 3: 2.5" (or "row 3" without a decoder origin). */
function firstValue(column: BatchColumn): string {
  const rows = column.type === 'string' ? column.offsets.length - 1 : column.values.length;
  let row = 0;
  while (row < rows && column.valid?.[row] === 0) row++;
  let value: string;
  if (column.type === 'string') {
    const { data, offsets } = column;
    value = show(
      Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString(
        'utf8',
        offsets[row],
        offsets[row + 1],
      ),
    );
  } else if (column.type === 'bool') value = column.values[row] === 1 ? 'true' : 'false';
  else value = String(column.values[row]);
  return `first at ${column.origin ?? `row ${row + 1}`}: ${value}`;
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
  if (current.role === 'time') throw conflict(batch, column, current);
  if (current.role !== column.role) {
    // An inferred role yields to the catalog's; a declared one that differs is a conflict.
    if (column.roleDeclared) throw conflict(batch, column, current);
    column = { ...column, role: current.role } as BatchColumn;
  }
  if (current.type === column.type) return column;
  if (current.type === 'float64' && column.type === 'int64') return widenToFloat(batch, column);
  throw conflict(batch, column, current);
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
 * one commit. A concurrent writer that changed the same tables first is not an error: when the
 * catalog refuses the commit against a newer head than the batches were matched to (a table or
 * column created, a column added with a wider type or another role, a table dropped), they are
 * matched again against that head, so a request is refused only when it conflicts with the newest
 * state. `beforeCommit` runs right before each commit and may refuse the request (it throws), so
 * a refused request changes no schema; `committed` says whether this call committed, after which
 * the request must not be refused.
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
      // The catalog refuses only against its newest state: when that is newer than the plan's,
      // plan again there (ingest's own refusal, if any, then names the column and both types).
      const refused =
        error instanceof CatalogConflictError ||
        error instanceof CatalogRequestError ||
        error instanceof CatalogNotFoundError;
      if (!refused || attempt >= RETRIES) throw error;
      if ((await catalog.refresh()).version === state.version) throw error;
    }
  }
}

function withTableVersions(state: TenantState, plan: Plan): ReconciledBatch[] {
  return plan.batches.map((batch) => ({
    ...batch,
    tableVersion: state.tables.get(tableKey(batch.database, batch.table))!.createdVersion,
  }));
}
