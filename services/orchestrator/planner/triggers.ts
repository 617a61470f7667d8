/**
 * Triggers: what asks for a run. Each carries its tenant and its logical time (a schedule
 * tick's scheduled time), the only notion of "now" the planner has. Parsing normalises a
 * trigger (defaults filled, logical time in `toISOString()` form), so equivalent triggers
 * give the same plan byte for byte.
 */
import { z } from 'zod';
import { paths } from '../../../catalog/index.js';
import { invalidTrigger } from './errors.js';
import { compareText } from './order.js';
import { isoOf, parseInstant } from './time.js';

const DEFAULT_TARGET_ROWS = 1_000_000;
const DEFAULT_SETTLE_MS = 30_000;
/**
 * The shortest settle window allowed (ADR 0005): a batch whose write is still in flight when the
 * watermark passes its time is never folded, and its events (terminal ones too) never read.
 */
const MIN_SETTLE_MS = 10_000;
const DEFAULT_EXPIRE_WINDOW_MS = 7 * 24 * 3_600_000;
/**
 * How old an object the catalog never named must be before an expire run's sweep deletes it. It
 * must outlast any attempt between its upload and its commit (each attempt rewrites its outputs,
 * ADR 0026); Iceberg's orphan removal waits three days too.
 */
const DEFAULT_ORPHAN_GRACE_MS = 3 * 24 * 3_600_000;
/** The shortest grace allowed (the workers keep younger uploads whatever the trigger says). */
export const MIN_ORPHAN_GRACE_MS = 24 * 3_600_000;
export const MAX_NOOP_TASKS = 100_000;
/** Longest delete predicate (DuckDB's rendering of the WHERE, which can be longer than the WHERE). */
export const MAX_DELETE_PREDICATE_CHARS = 100_000;

const tenant = z.string().regex(paths.NAME_RULES.tenant, 'invalid tenant name');
const database = z.string().regex(paths.NAME_RULES.database, 'invalid database name');
const table = z.string().regex(paths.NAME_RULES.table, 'invalid table name');

const logicalTime = z.string().transform((text, ctx) => {
  const parsed = parseInstant(text);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text.slice(0, 64))} ${parsed.error}` });
    return z.NEVER;
  }
  return isoOf(parsed.ms);
});

/** Partition text in the catalog's canonical form (the rules of `paths.parsePartitionPath`). */
const partition = z.string().refine(
  (text) => {
    try {
      return paths.partitionPath(paths.parsePartitionPath(text)) === text;
    } catch {
      return false;
    }
  },
  { message: 'must be a partition such as date=2026-03-01/hour=05 or date=2026-03-01' },
);

const durationMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const base = { tenant, logicalTime };

export const compactionTriggerSchema = z
  .object({
    kind: z.literal('compaction'),
    ...base,
    tier: z.enum(['hourly', 'daily']),
    database,
    table,
    partition,
    /** Keep one row per (tag set, time): the row of the newest commit (ADR 0011). */
    dedup: z.boolean().default(false),
    targetRows: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_TARGET_ROWS),
  })
  .strict();

export const retentionTriggerSchema = z
  .object({
    kind: z.literal('retention'),
    ...base,
    policyId: z.string().regex(paths.NAME_RULES.objectId, 'invalid policy id'),
    /** Plan what would be dropped; the orchestrator does not dispatch a dry run. */
    dryRun: z.boolean().default(false),
  })
  .strict();

export const checkpointTriggerSchema = z.object({ kind: z.literal('checkpoint'), ...base }).strict();

export const eventsCompactionTriggerSchema = z
  .object({
    kind: z.literal('events-compaction'),
    ...base,
    settleMs: durationMs
      .min(
        MIN_SETTLE_MS,
        `must be at least ${MIN_SETTLE_MS} ms: a shorter window can pass batches still being written`,
      )
      .default(DEFAULT_SETTLE_MS),
  })
  .strict();

export const expireTriggerSchema = z
  .object({
    kind: z.literal('expire'),
    ...base,
    /** The time-travel window: removed files' objects stay this long after their removal. */
    windowMs: durationMs.default(DEFAULT_EXPIRE_WINDOW_MS),
    /** Objects the catalog never named (outputs of attempts that never committed) are swept this long after they were written. */
    orphanGraceMs: durationMs
      .min(MIN_ORPHAN_GRACE_MS, `must be at least ${MIN_ORPHAN_GRACE_MS} ms (one day)`)
      .default(DEFAULT_ORPHAN_GRACE_MS),
  })
  .strict();

/** A staged ingest batch to turn into data files (the ingest path asks for it, DESIGN.md §5). */
export const flushTriggerSchema = z
  .object({
    kind: z.literal('flush'),
    ...base,
    database,
    table,
    batchId: z.string().regex(paths.NAME_RULES.objectId, 'invalid batch id'),
    rows: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** The version that created the table the rows were written to (absent: any table of that name). */
    tableVersion: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

/**
 * Rewrite the named files of a table without the rows `predicate` matches. The files and the
 * predicate come from the delete service, which guarded the WHERE and counted its matches per file
 * (that needs DuckDB, which the planner may not touch); the planner checks they are still live.
 */
export const deleteTriggerSchema = z
  .object({
    kind: z.literal('delete'),
    ...base,
    database,
    table,
    predicate: z.string().min(1).max(MAX_DELETE_PREDICATE_CHARS),
    /**
     * The files with matches and how many each holds. Normalised to path order (so the run key does
     * not depend on the order given); the task checks each file's count, not only the total.
     */
    files: z
      .array(
        z
          .object({
            path: z.string().min(1).max(1024),
            matchedRows: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
          })
          .strict(),
      )
      .min(1)
      .max(100_000)
      .transform((files) => [...files].sort((a, b) => compareText(a.path, b.path)))
      .refine((files) => files.every((file, i) => i === 0 || file.path !== files[i - 1]!.path), {
        message: 'a file is named twice',
      }),
    /** The sum of the files' counts: what the user was shown. */
    matchedRows: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  })
  .strict()
  .refine(
    (trigger) => trigger.files.reduce((sum, file) => sum + file.matchedRows, 0) === trigger.matchedRows,
    {
      message: "matchedRows is not the sum of the files' counts",
      path: ['matchedRows'],
    },
  );

/**
 * Run a continuous query: at a tick, over the windows that closed or went stale; with `range`,
 * over every window of that range (manual execute, backfill).
 */
export const cqTriggerSchema = z
  .object({
    kind: z.literal('cq'),
    ...base,
    cqId: z.string().regex(paths.NAME_RULES.objectId, 'invalid continuous query id'),
    range: z
      .object({ start: logicalTime, end: logicalTime })
      .strict()
      .refine((r) => r.start < r.end, { message: 'start must be before end' })
      .optional(),
  })
  .strict();

export const noopTriggerSchema = z
  .object({
    kind: z.literal('noop'),
    ...base,
    tasks: z.number().int().min(1).max(MAX_NOOP_TASKS),
    sleepMs: z.number().int().min(0).max(600_000).default(0),
  })
  .strict();

export const triggerSchema = z.discriminatedUnion('kind', [
  compactionTriggerSchema,
  retentionTriggerSchema,
  checkpointTriggerSchema,
  eventsCompactionTriggerSchema,
  expireTriggerSchema,
  flushTriggerSchema,
  deleteTriggerSchema,
  cqTriggerSchema,
  noopTriggerSchema,
]);

/** A normalised trigger (what plans record). */
export type Trigger = z.output<typeof triggerSchema>;
/** A trigger as callers write it (defaults optional, any ISO-8601 instant with a zone). */
export type TriggerInput = z.input<typeof triggerSchema>;
export type RunKind = Trigger['kind'];
export type TriggerOf<K extends RunKind> = Extract<Trigger, { kind: K }>;
export type CompactionTrigger = TriggerOf<'compaction'>;
export type RetentionTrigger = TriggerOf<'retention'>;
export type CheckpointTrigger = TriggerOf<'checkpoint'>;
export type EventsCompactionTrigger = TriggerOf<'events-compaction'>;
export type ExpireTrigger = TriggerOf<'expire'>;
export type FlushTrigger = TriggerOf<'flush'>;
export type DeleteTrigger = TriggerOf<'delete'>;
export type CqTrigger = TriggerOf<'cq'>;
export type NoopTrigger = TriggerOf<'noop'>;

export const RUN_KINDS: readonly RunKind[] = [
  'compaction',
  'retention',
  'checkpoint',
  'events-compaction',
  'expire',
  'flush',
  'delete',
  'cq',
  'noop',
];

/**
 * Triggers already in normal form, frozen so they stay so: parsing one again gives it back
 * as it is (planning thousands of candidates need not validate each twice).
 */
const validated = new WeakSet<object>();

/** Freezes and marks a trigger as normal. Only for values that are (parsed, or built from parsed parts). */
export function sealTrigger<T extends Trigger>(trigger: T): T {
  validated.add(Object.freeze(trigger));
  return trigger;
}

/**
 * Validates and normalises a trigger. Throws PLAN_INVALID_TRIGGER (400) naming the field,
 * e.g. `invalid compaction trigger: partition: must be a partition such as …`.
 */
export function parseTrigger(raw: unknown): Trigger {
  if (typeof raw === 'object' && raw !== null && validated.has(raw)) return raw as Trigger;
  const parsed = triggerSchema.safeParse(raw);
  if (parsed.success) return sealTrigger(parsed.data);
  const issue = parsed.error.issues[0]!;
  const kind =
    typeof raw === 'object' && raw !== null && typeof (raw as { kind?: unknown }).kind === 'string'
      ? (raw as { kind: string }).kind
      : undefined;
  const label =
    kind !== undefined && (RUN_KINDS as readonly string[]).includes(kind) ? `${kind} trigger` : 'trigger';
  let field = issue.path.map(String).join('.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    field = issue.keys.join(', ');
    message = `unknown field${issue.keys.length > 1 ? 's' : ''}`;
  } else if (issue.code === 'invalid_union' && field === 'kind') {
    message = `must be one of ${RUN_KINDS.join(', ')}`;
  }
  throw invalidTrigger(`invalid ${label}: ${field || '(root)'}: ${message}`, 400, { field: field || null });
}

/** A tick's logical time in canonical form; throws PLAN_INVALID_TRIGGER naming `logicalTime`. */
export function normaliseLogicalTime(text: unknown): string {
  const parsed = logicalTime.safeParse(text);
  if (parsed.success) return parsed.data;
  throw invalidTrigger(`invalid logicalTime: ${parsed.error.issues[0]!.message}`, 400, {
    field: 'logicalTime',
  });
}
