/**
 * The in-memory newest state of one catalog in this process. Calls that move it run one at a
 * time, so the states this process builds form a single line and share their ledgers.
 */
import type { CommitLog, CommitOutcome } from './commit-log.js';
import type { CommitConditions, CommitMeta, LogState } from './types.js';

export class CatalogHead<S extends LogState, A, P> {
  private head: S | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly log: CommitLog<S, A, P>) {}

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The in-memory head, loading it on first use; does not look for newer commits. */
  async current(): Promise<S> {
    return this.head ?? this.refresh();
  }

  /** Reads commits newer than the in-memory head (one probe when there are none). */
  refresh(): Promise<S> {
    return this.exclusive(async () => {
      this.head = this.head ? await this.log.catchUp(this.head) : await this.log.loadLatest();
      return this.head;
    });
  }

  commit(
    actions: readonly unknown[],
    meta: CommitMeta = {},
    conditions: CommitConditions<S> = {},
  ): Promise<CommitOutcome<S>> {
    return this.exclusive(async () => {
      const base = this.head ?? (await this.log.loadLatest());
      try {
        const outcome = await this.log.commit(base, actions, meta, conditions);
        this.head = outcome.state;
        return outcome;
      } catch (error) {
        // A conflict still taught us newer commits; keep them so the next call starts there.
        this.head = await this.log.catchUp(base);
        throw error;
      }
    });
  }
}
