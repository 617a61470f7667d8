/**
 * This node's copy of the `_system` state. Requests read a copy at most `ttlMs` old, so a busy
 * node reads the catalog (a network round trip on S3) at most once per TTL; management calls
 * read the newest state; commits made here replace the copy at once.
 */
import type { CommitConditions, CommitMeta, SystemCatalog, SystemState } from '../../catalog/index.js';

export class SystemView {
  private state: SystemState | undefined;
  private loadedAt = 0;
  private loading: Promise<SystemState> | undefined;

  constructor(
    readonly system: SystemCatalog,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** A state no older than the TTL; concurrent callers share one refresh. */
  cached(): Promise<SystemState> {
    if (this.state && this.now() - this.loadedAt < this.ttlMs) return Promise.resolve(this.state);
    this.loading ??= this.fresh().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** The newest state in the catalog. */
  async fresh(): Promise<SystemState> {
    // Stamped before the read: whatever the read misses is at most one TTL old.
    const started = this.now();
    return this.adopt(await this.system.refresh(), started);
  }

  /**
   * Commits on top of the newest state (a stale head would reject actions on tokens or tenants
   * created by another node) and keeps the result.
   */
  async commit(
    actions: readonly unknown[],
    meta: CommitMeta,
    conditions: CommitConditions<SystemState> = {},
  ): Promise<SystemState> {
    await this.system.refresh();
    const started = this.now();
    const { state } = await this.system.commit(actions, meta, conditions);
    return this.adopt(state, started);
  }

  private adopt(state: SystemState, at: number): SystemState {
    if (!this.state || state.version >= this.state.version) {
      this.state = state;
      this.loadedAt = at;
    }
    return this.state;
  }
}
