/**
 * Continuous query definitions (ARC-COMPAT.md "Continuous queries", ADR 0019): validated by running
 * the query over an empty window on the query engine, stored as `cq` policies, with the destination
 * table created (or extended) from the query's answer columns in the same commit. Runs — ticks,
 * manual executes, backfills — are `cq` runs of the orchestrator.
 */
import type { DuckDBResult } from '@duckdb/node-api';
import {
  CatalogNotFoundError,
  type ColumnDef,
  type ColumnType,
  type PolicyEntry,
  paths,
  sha256Hex,
  type TenantActionInput,
  type TenantCatalogs,
  type TenantState,
  tableKey,
  WeirError,
} from '../../catalog/index.js';
import {
  type CqDefinition,
  cqDefinitionOf,
  cqDefinitionSchema,
  cqProgressAt,
  cqProgressId,
  cqRangeWindows,
  type Orchestrator,
  parseInstant,
  type RunView,
} from '../orchestrator/index.js';
import { CQ_PLACEHOLDERS, cqSql, type QueryRequest, type QueryService } from '../query/index.js';
import { assertBucketsFitWindows, assertReadsOwnTables, durationText } from './query-rules.js';

/** Throws ForbiddenError for a database the request may not read. */
type Authorize = NonNullable<QueryRequest['authorize']>;
export interface CqInput {
  name: string;
  database: string;
  source_measurement: string;
  destination_measurement: string;
  query: string;
  /** `30s`, `5m`, `1h`, `1d` (or seconds as a number). */
  interval: string | number;
  /** How long after a window ends its first run waits for late rows (`30s` by default). */
  delay?: string | number;
  /** The first window; by default the current one. Earlier windows are filled by execute or backfill. */
  start_time?: string;
  is_active?: boolean;
  description?: string;
}

export interface CqView {
  id: string;
  name: string;
  database: string;
  source_measurement: string;
  destination_measurement: string;
  query: string;
  interval: string;
  interval_ms: number;
  delay_ms: number;
  is_active: boolean;
  description: string | null;
  start_time: string;
  /** Windows ending at or before this were materialized. */
  watermark: string;
  checked_version: number;
  version: number;
}

export interface ExecuteInput {
  start_time?: string;
  end_time?: string;
  dry_run?: boolean;
}

export interface ExecuteOutcome {
  cq: CqView;
  startTime: string;
  endTime: string;
  windows: number;
  dryRun: boolean;
  /** Rows the query answers over the range (dry run: counted, nothing written). */
  recordsWritten: number;
  runId: string | null;
  status: string;
}

const DEFAULT_DELAY_MS = 30_000;
/**
 * Task failures an execute answers as the caller's to fix — its query's own errors among them, with
 * the status the query path (and so a dry run) gives them — or as a conflict (the CQ was deleted
 * meanwhile); others are 500.
 */
const RUN_FAILURE_STATUS = new Map([
  ['CQ_OUTPUT_OUTSIDE_WINDOW', 400],
  ['CQ_SCHEMA_MISMATCH', 400],
  ['CQ_READS_OTHER_DATABASE', 400],
  ['CQ_SOURCE_NOT_READ', 400],
  ['CQ_READS_DESTINATION', 400],
  ['QUERY_FAILED', 400],
  ['QUERY_REFUSED', 400],
  ['INVALID_SQL', 400],
  ['TABLE_NOT_FOUND', 404],
  ['DATABASE_NOT_FOUND', 404],
  ['QUERY_TIMEOUT', 408],
  ['CQ_DELETED', 409],
]);
const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const INTEGER_TYPES = new Set([
  'BIGINT',
  'INTEGER',
  'SMALLINT',
  'TINYINT',
  'UBIGINT',
  'UINTEGER',
  'USMALLINT',
  'UTINYINT',
  'HUGEINT',
]);

function invalid(message: string, field?: string): WeirError {
  return new WeirError('CQ_INVALID', message, 400, field ? { field } : undefined);
}

/** `5m` → 300000; numbers are seconds. */
export function durationMs(value: string | number, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw invalid(`${field} must be whole seconds`, field);
    return value * 1000;
  }
  const match = /^\s*(\d+)\s*(s|m|h|d)\s*$/.exec(value);
  if (!match)
    throw invalid(`${field} ${JSON.stringify(value)} is not a duration such as 30s, 5m, 1h or 1d`, field);
  return Number(match[1]) * UNITS[match[2]!]!;
}

/** Ids derive from the name: creating the same CQ twice is a conflict. */
export const cqIdOf = (name: string) => `cq_${sha256Hex(name).slice(0, 16)}`;

const iso = (micros: number) => new Date(micros / 1000).toISOString();

export class ContinuousQueries {
  constructor(
    private readonly deps: {
      catalogs: TenantCatalogs;
      query: QueryService;
      orchestrator: Orchestrator;
      now?: () => number;
      runTimeoutMs?: number;
    },
  ) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  async list(tenant: string): Promise<CqView[]> {
    const state = await this.deps.catalogs.forTenant(tenant).refresh();
    return cqPolicies(state).map((policy) => viewOf(state, policy));
  }

  async get(tenant: string, id: string): Promise<CqView> {
    const state = await this.deps.catalogs.forTenant(tenant).refresh();
    return viewOf(state, findCq(state, id));
  }

  /**
   * Creates a CQ and its destination table. Throws CQ_INVALID (400) naming the field, the query rules'
   * refusals (query-rules.ts: CQ_READS_OTHER_DATABASE, CQ_SOURCE_NOT_READ, CQ_BUCKET_*, 400),
   * CQ_EXISTS, CQ_DESTINATION_EXISTS and CQ_DESTINATION_SHARED (409), TABLE_NOT_FOUND (404), and
   * the query engine's refusals of the query (400).
   */
  async create(tenant: string, input: CqInput, authorize?: Authorize): Promise<CqView> {
    const catalog = this.deps.catalogs.forTenant(tenant);
    const state = await catalog.refresh();
    const id = cqIdOf(input.name);
    const exists = () =>
      new WeirError('CQ_EXISTS', `a continuous query named ${input.name} already exists`, 409, { id });
    if (state.policies.has(id)) throw exists();
    const definition = this.definitionOf(input, undefined);
    const actions = await this.checkedActions(tenant, state, id, input, definition, authorize);
    // Progress left by an earlier CQ of this name (a window that committed as it was deleted) would
    // make this one skip the windows below that watermark.
    const progress = cqProgressId(id);
    if (state.policies.has(progress)) actions.push({ op: 'dropPolicy', id: progress });
    // Checked again on the state the commit lands on: of two creates of one name, the second is refused.
    const { state: next } = await catalog.commit(
      actions,
      { operation: 'cq-definition' },
      {
        require: (head) => {
          if (head.policies.has(id)) throw exists();
          assertOwnDestination(head, id, input.database, definition.destination_measurement);
        },
      },
    );
    return viewOf(next, findCq(next, id));
  }

  /**
   * Replaces a CQ's definition; its name, start and progress stay. Throws CQ_DELETED or CQ_MODIFIED
   * (409) when the CQ was deleted or replaced between this read and the commit.
   */
  async update(tenant: string, id: string, input: CqInput, authorize?: Authorize): Promise<CqView> {
    const catalog = this.deps.catalogs.forTenant(tenant);
    const state = await catalog.refresh();
    const current = findCq(state, id);
    const old = cqDefinitionOf(current);
    if (input.name !== old.name)
      throw invalid('a continuous query cannot be renamed: create a new one and delete this one', 'name');
    if (input.database !== current.database)
      throw invalid('a continuous query cannot move to another database', 'database');
    const definition = this.definitionOf(input, old.start_us);
    // Windows are multiples of the interval since the epoch, and the first starts at the CQ's start.
    if (definition.start_us % (definition.interval_ms * 1000) !== 0)
      throw invalid(
        `interval ${durationText(definition.interval_ms)} does not divide the continuous query's start ${iso(definition.start_us)}, where its first window begins: keep an interval that does, or create a new continuous query`,
        'interval',
      );
    const actions = await this.checkedActions(tenant, state, id, input, definition, authorize);
    const { state: next } = await catalog.commit(
      actions,
      { operation: 'cq-definition' },
      {
        require: (head) => {
          assertUnchanged(head, current);
          assertOwnDestination(head, id, input.database, definition.destination_measurement);
        },
      },
    );
    return viewOf(next, findCq(next, id));
  }

  /**
   * Deletes the definition and its progress; the destination table and its rows stay. Throws
   * CQ_DELETED or CQ_MODIFIED (409) when the CQ was deleted or replaced meanwhile.
   */
  async remove(tenant: string, id: string): Promise<void> {
    const catalog = this.deps.catalogs.forTenant(tenant);
    const state = await catalog.refresh();
    const current = findCq(state, id);
    const progress = cqProgressId(id);
    // A progress entry a window commits meanwhile stays behind; creating a CQ of this name drops it.
    await catalog.commit(
      [
        { op: 'dropPolicy', id },
        ...(state.policies.has(progress) ? [{ op: 'dropPolicy' as const, id: progress }] : []),
      ],
      { operation: 'cq-definition' },
      { require: (head) => assertUnchanged(head, current) },
    );
  }

  /**
   * Runs the CQ over `[start_time, end_time)` (widened to whole windows; default: the last closed
   * window), one window per task, each replacing that window's earlier output. A dry run runs the
   * query over the range and counts its rows, writing nothing.
   */
  async execute(
    tenant: string,
    id: string,
    input: ExecuteInput,
    authorize?: Authorize,
  ): Promise<ExecuteOutcome> {
    const state = await this.deps.catalogs.forTenant(tenant).refresh();
    const policy = findCq(state, id);
    const definition = cqDefinitionOf(policy);
    const width = definition.interval_ms;
    const nowMs = this.now();
    const requestedStartMs = input.start_time ? instantMs(input.start_time, 'start_time') : undefined;
    const endMs = input.end_time ? instantMs(input.end_time, 'end_time') : Math.floor(nowMs / width) * width;
    const startMs = requestedStartMs ?? endMs - width;
    if (startMs >= endMs) throw invalid('start_time must be before end_time', 'start_time');
    // The run's logical time is now: a dry run is refused whatever the real run would refuse.
    const windows = cqRangeWindows(definition, startMs, endMs, nowMs);
    const from = windows[0]!.startUs;
    const to = windows[windows.length - 1]!.endUs;
    const base = {
      cq: viewOf(state, policy),
      startTime: iso(from),
      endTime: iso(to),
      windows: windows.length,
      dryRun: input.dry_run ?? false,
    };
    // Whoever runs it now must reach every database its query reads, as whoever defined it had to;
    // a definition stored before the table rule is refused here rather than by its tasks.
    const plan = await this.deps.query.plan({
      tenant,
      database: policy.database,
      sql: cqSql(definition.query, from, to),
      ...(authorize ? { authorize } : {}),
    });
    assertReadsOwnTables(
      plan,
      policy.database,
      definition.source_measurement,
      definition.destination_measurement,
    );
    if (input.dry_run) {
      // Window by window, as the runs would: each window's answer counts once.
      let records = 0;
      for (const window of windows) {
        records += await this.deps.query
          .run(
            { tenant, database: policy.database, sql: cqSql(definition.query, window.startUs, window.endUs) },
            async (result) => countRows(result),
          )
          .then((r) => r.value);
      }
      return { ...base, recordsWritten: records, runId: null, status: 'dry_run' };
    }
    const submitted = await this.deps.orchestrator.submit({
      kind: 'cq',
      tenant,
      logicalTime: new Date(nowMs).toISOString(),
      cqId: id,
      range: { start: iso(from), end: iso(to) },
    });
    const run = await this.deps.orchestrator.waitForRun(tenant, submitted.runId, this.deps.runTimeoutMs);
    if (run.status !== 'succeeded') {
      const cause = run.tasks.find((t) => t.error)?.error ?? run.error;
      throw new WeirError(
        'CQ_RUN_FAILED',
        `continuous query run ${run.runId} ${run.status}: ${cause?.message ?? 'no task error recorded'}`,
        RUN_FAILURE_STATUS.get(cause?.code ?? '') ?? 500,
        { runId: run.runId, cause: cause?.code },
      );
    }
    return { ...base, recordsWritten: rowsWritten(run), runId: run.runId, status: run.status };
  }

  /**
   * The CQ's runs (ticks, executes, backfills), newest first: `limit` of them (100 by default),
   * after the run `before` (the last of the previous page). Throws CQ_INVALID (400) for a `before`
   * that is not a run of this CQ.
   */
  async executions(
    tenant: string,
    id: string,
    page: { limit?: number; before?: string } = {},
  ): Promise<RunView[]> {
    await this.get(tenant, id);
    const history = this.deps.orchestrator.history;
    let before: RunView | undefined;
    if (page.before !== undefined) {
      before = await history.get(tenant, page.before);
      if (before?.trigger.cqId !== id)
        throw invalid(
          `before ${JSON.stringify(page.before)} is not a run of continuous query ${id}`,
          'before',
        );
    }
    const { runs } = await history.list(tenant, {
      kind: 'cq',
      cqId: id,
      ...(before ? { before } : {}),
      limit: page.limit ?? 100,
    });
    return runs;
  }

  private definitionOf(input: CqInput, startUs: number | undefined): CqDefinition {
    paths.assertName('database', input.database);
    paths.assertName('table', input.source_measurement);
    paths.assertName('table', input.destination_measurement);
    if (input.source_measurement === input.destination_measurement)
      throw invalid('destination_measurement must differ from source_measurement', 'destination_measurement');
    for (const placeholder of CQ_PLACEHOLDERS) {
      if (!input.query.includes(placeholder))
        throw invalid(
          `query must use ${placeholder}, e.g. WHERE time >= '{start_time}' AND time < '{end_time}'`,
          'query',
        );
    }
    const intervalMs = durationMs(input.interval, 'interval');
    if (intervalMs < 1_000 || intervalMs > 31 * 86_400_000)
      throw invalid('interval must be between 1s and 31d', 'interval');
    const delayMs = input.delay === undefined ? DEFAULT_DELAY_MS : durationMs(input.delay, 'delay');
    if (delayMs > 86_400_000) throw invalid('delay must be at most 1d', 'delay');
    const width = intervalMs * 1000;
    const start =
      startUs ??
      Math.floor(
        ((input.start_time ? instantMs(input.start_time, 'start_time') : this.now()) * 1000) / width,
      ) * width;
    return cqDefinitionSchema.parse({
      name: input.name,
      source_measurement: input.source_measurement,
      destination_measurement: input.destination_measurement,
      query: input.query,
      interval_ms: intervalMs,
      delay_ms: delayMs,
      start_us: start,
      is_active: input.is_active ?? true,
      ...(input.description ? { description: input.description } : {}),
    });
  }

  /** The commit that stores the CQ: its destination created or extended to the query's answer columns. */
  private async checkedActions(
    tenant: string,
    state: TenantState,
    id: string,
    input: CqInput,
    definition: CqDefinition,
    /** Refuses each database the query reads that the request may not (the ticks run as its definer). */
    authorize: Authorize | undefined,
  ): Promise<TenantActionInput[]> {
    const { database } = input;
    if (!state.tables.has(tableKey(database, definition.source_measurement))) {
      throw new CatalogNotFoundError(
        'TABLE_NOT_FOUND',
        `source table ${database}.${definition.source_measurement} does not exist`,
        { database, table: definition.source_measurement },
      );
    }
    assertOwnDestination(state, id, database, definition.destination_measurement);
    const width = definition.interval_ms * 1000;
    const request: QueryRequest = {
      tenant,
      database,
      sql: cqSql(definition.query, definition.start_us - width, definition.start_us),
      ...(authorize ? { authorize } : {}),
    };
    const prepared = await this.deps.query.prepare(request);
    assertReadsOwnTables(
      prepared.plan,
      database,
      definition.source_measurement,
      definition.destination_measurement,
    );
    await assertBucketsFitWindows(prepared.plan.tree, definition.interval_ms, definition.start_us);
    const { value: answer } = await this.deps.query.run(
      request,
      async (result) => answerColumns(result),
      prepared,
    );
    const actions: TenantActionInput[] = [];
    const destination = state.tables.get(tableKey(database, definition.destination_measurement));
    if (!destination) {
      actions.push({
        op: 'createTable',
        database,
        table: definition.destination_measurement,
        columns: [
          { name: 'time', type: 'timestamp', role: 'time' },
          ...answer
            .filter((c) => c.name !== 'time')
            .map((c) => ({ ...c, role: c.type === 'string' ? ('tag' as const) : ('field' as const) })),
        ],
      });
    } else {
      const existing = new Map(destination.columns.map((c) => [c.name, c]));
      const added: ColumnDef[] = [];
      for (const column of answer) {
        const have = existing.get(column.name);
        if (!have) added.push({ ...column, role: 'field' });
        else if (have.type !== column.type)
          throw invalid(
            `the query answers ${column.name} as ${column.type}; ${database}.${destination.name} has it as ${have.type}`,
            'query',
          );
      }
      if (added.length > 0)
        actions.push({ op: 'addColumns', database, table: destination.name, columns: added });
    }
    actions.push({
      op: 'setPolicy',
      policy: { id, kind: 'cq', database, table: definition.source_measurement, definition },
    });
    return actions;
  }
}

/**
 * Epoch ms of a time with an explicit zone on a real calendar date, read by the planner's own
 * rule: a range accepted here is one its `cq` trigger accepts too.
 */
function instantMs(text: string, field: string): number {
  const parsed = parseInstant(text);
  if ('error' in parsed) throw invalid(`${field} ${JSON.stringify(text)} ${parsed.error}`, field);
  return parsed.ms;
}

/**
 * A CQ replaces its destination's rows window by window, so it writes only to a table it owns: one
 * that does not exist yet (created in the commit that stores the definition) or the one its stored
 * definition already names — and no other CQ's (ADR 0019, addendum "a CQ writes only to its own
 * table"). Throws CQ_DESTINATION_SHARED or CQ_DESTINATION_EXISTS (409).
 */
function assertOwnDestination(state: TenantState, id: string, database: string, destination: string): void {
  const table = `${database}.${destination}`;
  const named = (policy: PolicyEntry) =>
    policy.database === database &&
    cqDefinitionSchema.parse(policy.definition).destination_measurement === destination;
  const other = cqPolicies(state).find((policy) => policy.id !== id && named(policy));
  if (other) {
    throw new WeirError(
      'CQ_DESTINATION_SHARED',
      `table ${table} is the destination of continuous query ${cqDefinitionSchema.parse(other.definition).name} (${other.id}); two continuous queries cannot share a destination`,
      409,
      { field: 'destination_measurement', table, cq: other.id },
    );
  }
  const own = state.policies.get(id);
  if (state.tables.has(tableKey(database, destination)) && !(own && named(own))) {
    throw new WeirError(
      'CQ_DESTINATION_EXISTS',
      `table ${table} already exists and is not this continuous query's destination: a continuous query replaces its destination's rows, so it writes only to a table it creates; choose a new destination_measurement`,
      409,
      { field: 'destination_measurement', table },
    );
  }
}

/**
 * An update or delete decided on the definition it read: one deleted or replaced before the commit
 * lands is a conflict (409), never brought back or overwritten.
 */
function assertUnchanged(head: TenantState, read: PolicyEntry): void {
  const now = head.policies.get(read.id);
  if (!now)
    throw new WeirError('CQ_DELETED', `continuous query ${read.id} was deleted meanwhile`, 409, {
      id: read.id,
    });
  if (now.version !== read.version)
    throw new WeirError(
      'CQ_MODIFIED',
      `continuous query ${read.id} was changed meanwhile (version ${read.version} → ${now.version}): read it again and retry`,
      409,
      { id: read.id, version: now.version },
    );
}

/** The catalog types of the answer's columns; `time` must be a TIMESTAMP. */
function answerColumns(result: DuckDBResult): { name: string; type: ColumnType }[] {
  const names = result.columnNames();
  const types = result.columnTypes().map((t) => t.toString());
  if (new Set(names).size !== names.length)
    throw invalid(`the query answers a column name twice: ${names.join(', ')}`, 'query');
  if (!names.includes('time'))
    throw invalid(
      'the query must answer a TIMESTAMP column named time (e.g. time_bucket(…) AS time)',
      'query',
    );
  return names.map((name, i) => {
    const type = types[i]!;
    let mapped: ColumnType | undefined;
    if (name === 'time') mapped = type === 'TIMESTAMP' ? 'timestamp' : undefined;
    else if (type === 'VARCHAR') mapped = 'string';
    else if (type === 'DOUBLE' || type === 'FLOAT' || type.startsWith('DECIMAL')) mapped = 'float64';
    else if (INTEGER_TYPES.has(type)) mapped = 'int64';
    else if (type === 'BOOLEAN') mapped = 'bool';
    if (!mapped || !paths.NAME_RULES.column.test(name))
      throw invalid(
        mapped
          ? `the query answers a column named ${JSON.stringify(name)}, which is not a valid column name`
          : `the query answers ${name} as ${type}, which a table cannot hold${name === 'time' ? ' (time must be a TIMESTAMP)' : ''}`,
        'query',
      );
    return { name, type: mapped };
  });
}

async function countRows(result: DuckDBResult): Promise<number> {
  let rows = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) return rows;
    rows += chunk.rowCount;
  }
}

function rowsWritten(run: RunView): number {
  return run.tasks.reduce((sum, task) => {
    const summary = task.result ? (JSON.parse(task.result.summaryJson) as { rowsWritten?: number }) : {};
    return sum + (summary.rowsWritten ?? 0);
  }, 0);
}

function cqPolicies(state: TenantState): PolicyEntry[] {
  return [...state.policies.values()]
    .filter((p) => p.kind === 'cq' && cqDefinitionSchema.safeParse(p.definition).success)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function findCq(state: TenantState, id: string): PolicyEntry {
  const policy = state.policies.get(id);
  if (!policy || !cqPolicies(state).includes(policy))
    throw new CatalogNotFoundError('CQ_NOT_FOUND', `continuous query ${id} does not exist`, { id });
  return policy;
}

function viewOf(state: TenantState, policy: PolicyEntry): CqView {
  const definition = cqDefinitionOf(policy);
  const progress = cqProgressAt(state, policy, definition);
  const description = (policy.definition as { description?: unknown }).description;
  return {
    id: policy.id,
    name: definition.name,
    database: policy.database,
    source_measurement: definition.source_measurement,
    destination_measurement: definition.destination_measurement,
    query: definition.query,
    interval: durationText(definition.interval_ms),
    interval_ms: definition.interval_ms,
    delay_ms: definition.delay_ms,
    is_active: definition.is_active,
    description: typeof description === 'string' ? description : null,
    start_time: iso(definition.start_us),
    watermark: iso(progress.watermark_us),
    checked_version: progress.checked_version,
    version: policy.version,
  };
}
