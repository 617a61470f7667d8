/**
 * The result cache (DESIGN.md §7): encoded answers kept in memory, keyed by what determines them —
 * the tenant, the answer format, the pinned catalog version and the planned statement (the text
 * with its table references replaced, and the table each reads). Data files never change and
 * a new commit moves the head to a new version, so an entry is never stale: the next query at the
 * head has another key. Statements whose answer depends on more than the data (`now()`,
 * `random()`, `current_date`…) are not cached. Bounded by bytes, least recently used first out;
 * an answer above the per-entry cap is not kept. The caller still checks the token against the
 * databases an entry read before answering from it.
 */
import { createHash } from 'node:crypto';
import { nodesOf, type SqlNode } from './parser.js';

/** Default of `query.resultCacheBytes`. */
export const DEFAULT_RESULT_CACHE_BYTES = 64 * 1024 * 1024;

/** Bookkeeping charged to every entry besides its answer bytes (key, map slot, metadata). */
const ENTRY_OVERHEAD_BYTES = 256;

export type CachedFormat = 'json' | 'arrow' | 'csv';

export interface CachedAnswer {
  /** The encoded answer (for JSON: its columns, data and row count, without timings). */
  readonly body: Buffer;
  /** Databases the statement read: the token must still be allowed each of them. */
  readonly databases: readonly string[];
}

/** What the key needs of a plan (services/query QueryPlan). */
export interface CacheablePlan {
  readonly version: number;
  readonly sql: string;
  readonly tables: readonly { readonly database: string; readonly table: string; readonly view: string }[];
}

export interface ResultCacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  readonly hits: number;
  readonly misses: number;
}

interface Entry extends CachedAnswer {
  readonly charged: number;
}

export class ResultCache {
  /** In least-recently-used order (a Map keeps insertion order; a hit re-inserts). */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  /** Largest answer kept; larger ones would push out many smaller ones. */
  readonly maxEntryBytes: number;

  /** `maxBytes` 0 turns the cache off; the per-entry cap defaults to an eighth of the budget. */
  constructor(
    readonly maxBytes: number,
    maxEntryBytes?: number,
  ) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
      throw new RangeError(`result cache size must be a whole number of bytes ≥ 0, got ${maxBytes}`);
    this.maxEntryBytes = Math.min(maxEntryBytes ?? Math.floor(maxBytes / 8), maxBytes);
  }

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** The key of a planned statement's answer in a format; undefined when it must not be cached. */
  keyOf(tenant: string, format: CachedFormat, plan: CacheablePlan & { readonly deterministic: boolean }) {
    if (!this.enabled || !plan.deterministic) return undefined;
    const tables = plan.tables.map((t) => [t.view, t.database, t.table]);
    return createHash('sha256')
      .update(JSON.stringify([tenant, format, plan.version, tables, plan.sql]))
      .digest('base64url');
  }

  /** Whether an answer of this many bytes would be kept (so a stream can stop collecting early). */
  admits(bytes: number): boolean {
    return this.enabled && bytes + ENTRY_OVERHEAD_BYTES <= this.maxEntryBytes;
  }

  get(key: string): CachedAnswer | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Keeps the answer unless it is too large; answers whether it was kept. */
  set(key: string, answer: CachedAnswer): boolean {
    const charged = answer.body.byteLength + ENTRY_OVERHEAD_BYTES;
    if (!this.admits(answer.body.byteLength)) return false;
    this.delete(key);
    this.entries.set(key, { body: answer.body, databases: [...answer.databases], charged });
    this.bytes += charged;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.charged;
    }
    return true;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.charged;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  stats(): ResultCacheStats {
    return {
      entries: this.entries.size,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      maxEntryBytes: this.maxEntryBytes,
      hits: this.hits,
      misses: this.misses,
    };
  }
}

/**
 * Functions whose value is not fixed by their arguments: the clock (DuckDB marks these
 * CONSISTENT_WITHIN_QUERY), randomness, sequences and session state (VOLATILE), and macros and
 * keywords built on them. `test/query/cache.test.ts` checks this covers every function DuckDB marks
 * so, so an upgrade that adds one fails there instead of serving a stale clock.
 */
const VOLATILE_NAMES = new Set([
  // DuckDB's CONSISTENT_WITHIN_QUERY functions
  'current_database',
  'current_date',
  'current_schema',
  'current_schemas',
  'get_current_time',
  'get_current_timestamp',
  'in_search_path',
  'now',
  'today',
  'transaction_timestamp',
  'txid_current',
  // DuckDB's VOLATILE functions
  'current_connection_id',
  'current_query',
  'current_query_id',
  'current_transaction_id',
  'currval',
  'error',
  'gen_random_uuid',
  'nextval',
  'random',
  'setseed',
  'sleep_ms',
  'stats',
  'uuid',
  'uuidv4',
  'uuidv7',
  'write_log',
  // ICU's clock functions, macros over the clock, and the keywords the parser leaves as names
  'current_localtime',
  'current_localtimestamp',
  'current_time',
  'current_timestamp',
  'localtime',
  'localtimestamp',
  'ago',
  'pg_sleep',
  'pg_conf_load_time',
  'pg_postmaster_start_time',
  'current_catalog',
  'current_user',
  'current_role',
  'session_user',
  'user',
]);

/** Whether a name (function or bare keyword) is one whose value can change between runs. */
export function isVolatileName(name: string): boolean {
  const folded = name.toLowerCase();
  return VOLATILE_NAMES.has(folded) || folded.includes('random') || folded.startsWith('uuid');
}

/**
 * Whether the parsed statement's answer depends on the data alone: no call of a volatile function
 * anywhere (select list, predicates, table function arguments, subqueries), no bare name that is
 * one (`current_timestamp` parses as a column reference), and no `USING SAMPLE` / `TABLESAMPLE`
 * (random rows). A column really named like one only costs a cache miss.
 */
export function isDeterministic(root: SqlNode): boolean {
  for (const node of nodesOf(root)) {
    if (node.sample !== undefined && node.sample !== null) return false;
    if (
      node.class === 'FUNCTION' &&
      typeof node.function_name === 'string' &&
      isVolatileName(node.function_name)
    )
      return false;
    if (node.class === 'COLUMN_REF' && Array.isArray(node.column_names) && node.column_names.length === 1) {
      const [name] = node.column_names as unknown[];
      if (typeof name === 'string' && isVolatileName(name)) return false;
    }
  }
  return true;
}
