/**
 * The actions a tenant commit may carry (DESIGN.md §4). Each commit is validated against
 * this schema when written and when read back, so a malformed log entry is caught at once.
 */
import { z } from 'zod';
import { NAME_RULES } from '../paths.js';

const databaseName = z.string().regex(NAME_RULES.database, 'invalid database name');
const tableName = z.string().regex(NAME_RULES.table, 'invalid table name');
const columnName = z.string().regex(NAME_RULES.column, 'invalid column name');

export const COLUMN_TYPES = ['timestamp', 'string', 'float64', 'int64', 'bool'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export const columnDefSchema = z
  .object({
    name: columnName,
    type: z.enum(COLUMN_TYPES),
    role: z.enum(['time', 'tag', 'field']),
  })
  .strict()
  .refine((c) => (c.role === 'time') === (c.name === 'time' && c.type === 'timestamp'), {
    message: "the time column is named 'time', has type timestamp and role time; no other column may",
  })
  .refine((c) => c.role !== 'tag' || c.type === 'string', { message: 'tag columns are strings' });
export type ColumnDef = z.infer<typeof columnDefSchema>;

/** Microseconds since the Unix epoch, UTC (DESIGN.md §3). */
const micros = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const columnStatsSchema = z.record(
  columnName,
  z
    .object({
      min: z.union([z.number(), z.string(), z.boolean()]).optional(),
      max: z.union([z.number(), z.string(), z.boolean()]).optional(),
      nullCount: z.number().int().min(0).optional(),
    })
    .strict(),
);
export type ColumnStats = z.infer<typeof columnStatsSchema>;

export const fileSchema = z
  .object({
    path: z.string().min(1).max(1024),
    database: databaseName,
    table: tableName,
    partition: z.string().min(1).max(64),
    rows: z.number().int().min(0),
    bytes: z.number().int().min(0),
    minTime: micros,
    maxTime: micros,
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits'),
    columnStats: columnStatsSchema.optional(),
    /**
     * The newest catalog version at which any of the file's rows was first committed, for a file
     * whose rows were committed before it (a compaction's or a rewrite's output); absent means
     * the version that adds the file. See `fileRecency`.
     */
    sourceVersion: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict()
  .refine((f) => f.minTime <= f.maxTime, { message: 'minTime must not exceed maxTime' });
export type FileSpec = z.infer<typeof fileSchema>;

export const policySchema = z
  .object({
    id: z.string().regex(NAME_RULES.objectId, 'invalid policy id'),
    kind: z.enum(['retention', 'cq', 'compaction']),
    database: databaseName,
    table: tableName.optional(),
    definition: z.record(z.string(), z.unknown()),
  })
  .strict();
export type PolicySpec = z.infer<typeof policySchema>;

export const tenantActionSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('createDatabase'),
      database: databaseName,
      properties: z.record(z.string(), z.string()).optional(),
    })
    .strict(),
  z.object({ op: z.literal('dropDatabase'), database: databaseName }).strict(),
  z
    .object({
      op: z.literal('createTable'),
      database: databaseName,
      table: tableName,
      columns: z.array(columnDefSchema).min(1).max(4096),
      partitioning: z.enum(['hour', 'day']).default('hour'),
      /** Sort order of data files; defaults to the tags in column order, then time. */
      sortKey: z.array(columnName).optional(),
    })
    .strict(),
  z
    .object({
      op: z.literal('addColumns'),
      database: databaseName,
      table: tableName,
      columns: z.array(columnDefSchema).min(1).max(4096),
    })
    .strict(),
  z.object({ op: z.literal('dropTable'), database: databaseName, table: tableName }).strict(),
  z.object({ op: z.literal('addFile'), file: fileSchema }).strict(),
  z
    .object({
      op: z.literal('removeFile'),
      database: databaseName,
      table: tableName,
      partition: z.string().min(1).max(64),
      path: z.string().min(1).max(1024),
    })
    .strict(),
  z.object({ op: z.literal('setPolicy'), policy: policySchema }).strict(),
  z
    .object({ op: z.literal('dropPolicy'), id: z.string().regex(NAME_RULES.objectId, 'invalid policy id') })
    .strict(),
]);
export type TenantAction = z.infer<typeof tenantActionSchema>;
export type TenantActionInput = z.input<typeof tenantActionSchema>;
