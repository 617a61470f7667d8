/**
 * The Tier 1 commit protocol (DESIGN.md §4, ADR 0002). Commit V is the object `log/{V}.json`
 * written with put-if-absent: winning that write is the commit. A writer that loses reads the
 * commits it missed, answers an earlier version if one carries its idempotency key, checks its
 * actions against the new state (a real conflict is an error; anything else is rebased) and
 * tries again after a jittered backoff.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimit } from '../concurrency.js';
import { WeirError } from '../errors.js';
import { type CatalogScope, catalogKeys, scopeLabel } from '../paths.js';
import type { ObjectStore } from '../store/index.js';
import { CatalogCorruptError, CheckpointStore } from './checkpoint.js';
import { historyFromCheckpoint, historyToCheckpoint } from './history-table.js';
import { LedgerView } from './ledger.js';
import type {
  CheckpointManifest,
  CommitConditions,
  CommitMeta,
  CommitRecord,
  CommitSummary,
  LogState,
  StateMachine,
} from './types.js';

export interface CommitLogOptions {
  /** Wall clock for commit timestamps (tests pass a fake one). */
  now?: () => number;
  /** A writer that keeps losing races gives up after this long. */
  commitTimeoutMs?: number;
  random?: () => number;
}

export interface CommitOutcome<S> {
  state: S;
  version: number;
  /** False when the idempotency key was already in the log and nothing was written. */
  committed: boolean;
}

export class CommitTimeoutError extends WeirError {
  constructor(scope: string, ms: number) {
    super('COMMIT_TIMEOUT', `commit to catalog ${scope} kept losing races for ${ms} ms`, 503);
  }
}

/** How many versions a catch-up probes one by one before it lists the log instead. */
const PROBE_LIMIT = 4;
const FETCH_CONCURRENCY = 16;

export class CommitLog<S extends LogState, A, P> {
  readonly checkpoints: CheckpointStore;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly commitTimeoutMs: number;

  constructor(
    readonly store: ObjectStore,
    readonly scope: CatalogScope,
    private readonly machine: StateMachine<S, A, P>,
    options: CommitLogOptions = {},
  ) {
    this.checkpoints = new CheckpointStore(store, scope);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.commitTimeoutMs = options.commitTimeoutMs ?? 120_000;
  }

  emptyState(): S {
    return this.machine.empty(LedgerView.empty<CommitSummary>((c) => c.idempotencyKey));
  }

  applyCommit(state: S, commit: CommitRecord<A>): S {
    if (commit.version !== state.version + 1) {
      throw new CatalogCorruptError(`commit ${commit.version} cannot follow version ${state.version}`);
    }
    return this.finalize(state, this.machine.prepare(state, commit.actions, commit), commit);
  }

  private finalize(state: S, prepared: P, commit: CommitRecord<A>): S {
    const summary: CommitSummary = {
      ...commit.meta,
      version: commit.version,
      timestamp: commit.timestamp,
      actionCount: commit.actions.length,
    };
    return this.machine.finalize(state, prepared, state.history.advance(commit.version, [summary]));
  }

  async readCommit(version: number): Promise<CommitRecord<A> | undefined> {
    const key = catalogKeys.log(this.scope, version);
    const bytes = await this.store.getIfExists(key);
    return bytes ? this.decode(key, version, bytes) : undefined;
  }

  private decode(key: string, version: number, bytes: Uint8Array): CommitRecord<A> {
    let raw: Partial<CommitRecord<unknown>>;
    try {
      raw = JSON.parse(new TextDecoder().decode(bytes)) as Partial<CommitRecord<unknown>>;
    } catch (error) {
      throw new CatalogCorruptError(`commit ${key} is not JSON`, { cause: String(error) });
    }
    if (raw.version !== version || !Number.isSafeInteger(raw.timestamp) || typeof raw.meta !== 'object') {
      throw new CatalogCorruptError(`commit ${key} is malformed`);
    }
    try {
      return {
        version,
        timestamp: raw.timestamp!,
        meta: raw.meta ?? {},
        actions: this.machine.parseActions(raw.actions),
      };
    } catch (error) {
      throw new CatalogCorruptError(`commit ${key} holds invalid actions: ${(error as Error).message}`);
    }
  }

  /** Applies every commit after `state.version` (up to `target` when given). */
  async catchUp(state: S, target?: number): Promise<S> {
    let current = state;
    for (;;) {
      const probed = await this.probe(current, target);
      current = probed.state;
      if (probed.done) return current;
      const listed = await this.listAfter(current.version, target);
      if (listed.length === 0) continue;
      for (const commit of await this.fetchAll(listed)) current = this.applyCommit(current, commit);
    }
  }

  /**
   * Reads the next few versions one by one: the common case is zero or one new commit. Where a
   * version is missing it asks whether the one after exists: a missing commit followed by a
   * present one is a lost log object, and taking the version before it as the head would let the
   * next commit fork the history.
   */
  private async probe(state: S, target?: number): Promise<{ state: S; done: boolean }> {
    let current = state;
    for (let i = 0; i < PROBE_LIMIT; i++) {
      if (target !== undefined && current.version >= target) return { state: current, done: true };
      const version = current.version + 1;
      let commit = await this.readCommit(version);
      if (!commit) {
        if (!(await this.exists(version + 1))) return { state: current, done: true };
        // Both present when a writer committed both meanwhile: read it again.
        commit = await this.readCommit(version);
        if (!commit) throw this.gapBefore(version + 1);
      }
      current = this.applyCommit(current, commit);
    }
    return { state: current, done: false };
  }

  private async exists(version: number): Promise<boolean> {
    return (await this.store.head(catalogKeys.log(this.scope, version))) !== undefined;
  }

  private gapBefore(version: number): CatalogCorruptError {
    return new CatalogCorruptError(
      `commit log of ${scopeLabel(this.scope)} has a gap before version ${version}`,
    );
  }

  /**
   * Throws when a commit after `state` (which catchUp found to be the head) exists: a log that
   * lost more than one object in a row, which a probe cannot see. Answers false when a writer
   * committed the next version meanwhile (catch up again), true when `state` is the head.
   */
  private async isHead(state: S): Promise<boolean> {
    const startAfter = catalogKeys.log(this.scope, state.version);
    const page = await this.store.list(catalogKeys.logPrefix(this.scope), { startAfter, maxKeys: 1 });
    const next = page.objects[0] && catalogKeys.parseLogVersion(this.scope, page.objects[0].key);
    if (next === undefined) return true;
    if (next === state.version + 1) return false;
    throw this.gapBefore(next);
  }

  private async listAfter(version: number, target?: number): Promise<number[]> {
    const versions: number[] = [];
    const startAfter = catalogKeys.log(this.scope, version);
    for await (const object of this.store.listAll(catalogKeys.logPrefix(this.scope), { startAfter })) {
      const v = catalogKeys.parseLogVersion(this.scope, object.key);
      if (v === undefined) continue;
      if (target !== undefined && v > target) break;
      versions.push(v);
    }
    versions.forEach((v, i) => {
      if (v !== version + 1 + i) throw this.gapBefore(v);
    });
    return versions;
  }

  private fetchAll(versions: number[]): Promise<CommitRecord<A>[]> {
    return mapLimit(versions, FETCH_CONCURRENCY, async (version) => {
      const commit = await this.readCommit(version);
      if (!commit) throw new CatalogCorruptError(`commit ${version} was listed but cannot be read`);
      return commit;
    });
  }

  /**
   * Commits `actions` on top of `state` (which may be stale) and answers the new head.
   * Throws the machine's WeirError (or `conditions.require`'s) when the actions conflict with the
   * newest state.
   */
  async commit(
    state: S,
    rawActions: unknown,
    meta: CommitMeta = {},
    conditions: CommitConditions<S> = {},
  ): Promise<CommitOutcome<S>> {
    const actions = this.machine.parseActions(rawActions);
    const started = this.now();
    let head = state;
    // Whether `head` came from a catch-up in this call, whose probe already saw the version after
    // the next one missing; the caller's state may be old, so it is checked before writing.
    let probed = false;
    for (let losses = 0; ; losses++) {
      const earlier = meta.idempotencyKey === undefined ? undefined : head.history.get(meta.idempotencyKey);
      if (earlier) return { state: head, version: earlier.version, committed: false };
      const commit: CommitRecord<A> = {
        version: head.version + 1,
        timestamp: Math.max(this.now(), head.timestamp + 1),
        meta: withoutUndefined(meta),
        actions,
      };
      let prepared: P;
      try {
        this.machine.checkNew?.(head, actions);
        conditions.require?.(head);
        prepared = this.machine.prepare(head, actions, commit);
      } catch (error) {
        // A refusal against a stale head (a table another process created) is not final:
        // only one against the newest state is.
        const newest = await this.catchUp(head);
        if (newest.version === head.version) throw error;
        head = newest;
        probed = true;
        continue;
      }
      // A later commit present while this version is free is a lost log object (or a stale
      // head): writing here would fork the history, so catch up, which tells the two apart.
      if (!probed && (await this.exists(commit.version + 1))) {
        head = await this.catchUp(head);
        probed = true;
        continue;
      }
      const body = new TextEncoder().encode(JSON.stringify(commit));
      if (await this.store.putIfAbsent(catalogKeys.log(this.scope, commit.version), body)) {
        return { state: this.finalize(head, prepared, commit), version: commit.version, committed: true };
      }
      if (this.now() - started > this.commitTimeoutMs)
        throw new CommitTimeoutError(scopeLabel(this.scope), this.commitTimeoutMs);
      await sleep(this.random() * Math.min(64, 2 ** losses));
      head = await this.catchUp(head);
      probed = true;
    }
  }

  /** The newest state: newest complete checkpoint plus the log after it. */
  async loadLatest(): Promise<S> {
    let state = await this.catchUp(await this.loadCheckpoint());
    // Once per load, a listing makes sure no run of lost log objects hides later commits.
    while (!(await this.isHead(state))) state = await this.catchUp(state);
    return state;
  }

  /** The state exactly at `version` (time travel). */
  async loadAt(version: number): Promise<S> {
    const state = await this.catchUp(await this.loadCheckpoint(version), version);
    if (state.version !== version) {
      throw new WeirError(
        'VERSION_NOT_FOUND',
        `catalog ${scopeLabel(this.scope)} has no version ${version} (head is ${state.version})`,
        404,
      );
    }
    return state;
  }

  /**
   * The newest checkpoint at or before `atOrBefore` that reads back whole. One that does not
   * (a file missing or not matching its manifest) is passed over for an older one, down to the
   * empty state: the log is complete from version 1, so any checkpoint only saves reading it.
   */
  private async loadCheckpoint(atOrBefore?: number): Promise<S> {
    for (let limit = atOrBefore; ; ) {
      const manifest = await this.checkpoints.newest(limit);
      if (!manifest) return this.emptyState();
      try {
        return await this.stateOfCheckpoint(manifest);
      } catch (error) {
        if (!(error instanceof CatalogCorruptError)) throw error;
        limit = manifest.version - 1;
      }
    }
  }

  private async stateOfCheckpoint(manifest: CheckpointManifest): Promise<S> {
    const tables = await this.checkpoints.readTables(manifest);
    const { commits, ...rest } = tables;
    if (!commits) throw new CatalogCorruptError(`checkpoint ${manifest.version} has no commits table`);
    for (const name of this.machine.checkpointTables) {
      if (!rest[name]) throw new CatalogCorruptError(`checkpoint ${manifest.version} has no ${name} table`);
    }
    try {
      const history = historyFromCheckpoint(commits, manifest.version);
      return this.machine.fromCheckpoint(rest, {
        version: manifest.version,
        timestamp: manifest.timestamp,
        history,
      });
    } catch (error) {
      // Tables that match their digests but do not decode: passed over like a missing file.
      if (error instanceof CatalogCorruptError) throw error;
      throw new CatalogCorruptError(
        `checkpoint ${manifest.version} of ${scopeLabel(this.scope)} does not decode: ${(error as Error).message}`,
      );
    }
  }

  /**
   * Writes a checkpoint of `state` when it is at least `every` commits past the newest one (by the
   * hint, which may lag: then it writes one sooner). Answers the version written, if any.
   */
  async checkpointIfBehind(state: S, every: number): Promise<number | undefined> {
    if (state.version - ((await this.checkpoints.readHint()) ?? 0) < every) return undefined;
    return (await this.writeCheckpoint(state)).version;
  }

  /** Writes a checkpoint of `state`; safe to run concurrently with commits and other checkpoints. */
  async writeCheckpoint(state: S) {
    if (state.version === 0)
      throw new WeirError('NOTHING_TO_CHECKPOINT', 'an empty catalog has no checkpoint', 409);
    const tables = { ...this.machine.toCheckpoint(state), commits: historyToCheckpoint(state.history) };
    return this.checkpoints.write(state.version, state.timestamp, tables);
  }
}

function withoutUndefined(meta: CommitMeta): CommitMeta {
  return Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined)) as CommitMeta;
}
