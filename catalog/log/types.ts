import type { Table } from 'apache-arrow';
import type { LedgerView } from './ledger.js';

/** Who and what made a commit; recorded in the log and in the `commits` checkpoint table. */
export interface CommitMeta {
  /** Token id (or system component) that made the commit. */
  author?: string;
  runId?: string;
  taskId?: string;
  /** A key already present in the log makes the commit a no-op returning the earlier version. */
  idempotencyKey?: string;
  /** Logical time of the trigger (a schedule tick, a CQ window), never the wall clock. */
  logicalTime?: string;
  /** Short label of what the commit does: `flush`, `compaction`, `ddl`… */
  operation?: string;
}

/** Conditions of one commit; never written to the log. */
export interface CommitConditions<S> {
  /**
   * A rule over the whole state, checked against the exact state the commit lands on (again after
   * every lost race), so a commit that lands between a caller's own check and its write cannot
   * slip past it: a tenant's last admin token, a policy that must still exist. Throws a WeirError
   * to refuse the commit.
   */
  require?(head: S): void;
}

/** One object of the commit log: `log/{version:020}.json`. */
export interface CommitRecord<A> {
  version: number;
  /** Milliseconds since the epoch; strictly increasing along the log (AS OF TIMESTAMP uses it). */
  timestamp: number;
  meta: CommitMeta;
  actions: A[];
}

export interface CommitSummary extends CommitMeta {
  version: number;
  timestamp: number;
  actionCount: number;
}

/** Where a commit lands: its version and timestamp are known before the writer races. */
export interface CommitPoint {
  version: number;
  timestamp: number;
}

/** What every catalog state carries for the log layer. */
export interface LogState {
  readonly version: number;
  /** Timestamp of the commit at `version` (0 for the empty state). */
  readonly timestamp: number;
  readonly history: LedgerView<CommitSummary>;
}

/**
 * The rules of one kind of catalog (a tenant's, or the `_system` one). `prepare` checks a
 * commit's actions against a state and computes its effect without touching shared data,
 * so the writer can validate before it races; `finalize` turns that effect into the next state.
 */
export interface StateMachine<S extends LogState, A, P> {
  empty(history: LedgerView<CommitSummary>): S;
  /** Validates the raw actions of a commit (when writing and when reading the log back). */
  parseActions(raw: unknown): A[];
  /**
   * The effect of `actions` committed as `at.version` on top of `state`; throws a WeirError
   * (conflict, not found, bad request) when they cannot apply. Pure: shares, never mutates.
   */
  prepare(state: S, actions: readonly A[], at: CommitPoint): P;
  /**
   * Rules for new commits only, never applied when the log is read back: a log written before a
   * rule existed must still load. Throws like `prepare`.
   */
  checkNew?(state: S, actions: readonly A[]): void;
  finalize(state: S, prepared: P, history: LedgerView<CommitSummary>): S;
  /** State → named Arrow tables for a checkpoint (the log layer adds `commits`). */
  toCheckpoint(state: S): Record<string, Table>;
  /** Named Arrow tables of a checkpoint → state. */
  fromCheckpoint(
    tables: Record<string, Table>,
    at: { version: number; timestamp: number; history: LedgerView<CommitSummary> },
  ): S;
  /** Names of the tables `toCheckpoint` writes (all must be present in a checkpoint). */
  readonly checkpointTables: readonly string[];
}

export interface CheckpointFileEntry {
  table: string;
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
}

/** `_manifest.json`: written last; a checkpoint without it does not exist. */
export interface CheckpointManifest {
  format: 1;
  version: number;
  timestamp: number;
  files: CheckpointFileEntry[];
}
