/**
 * An append-only sequence shared by successive catalog states. The state at version V sees
 * the entries appended up to V, so moving from V to V+1 costs only the new entries instead of
 * copying the whole history. A view that is advanced from an older version than the shared
 * tip (a second branch) first forks a private copy, so no state ever sees another's future.
 */
interface Shared<E> {
  entries: E[];
  index: Map<string, number>;
  /** Version the shared tip has been advanced to (may exceed the last entry's version). */
  version: number;
}

export class LedgerView<E> {
  private constructor(
    private readonly shared: Shared<E>,
    private readonly keyOf: (entry: E) => string | undefined,
    readonly version: number,
    readonly length: number,
  ) {}

  static empty<E>(keyOf: (entry: E) => string | undefined): LedgerView<E> {
    return LedgerView.from([], 0, keyOf);
  }

  /** A view over entries already in version order (as read from a checkpoint). */
  static from<E>(entries: E[], version: number, keyOf: (entry: E) => string | undefined): LedgerView<E> {
    const index = new Map<string, number>();
    entries.forEach((entry, i) => {
      const key = keyOf(entry);
      if (key !== undefined && !index.has(key)) index.set(key, i);
    });
    return new LedgerView({ entries, index, version }, keyOf, version, entries.length);
  }

  advance(version: number, added: readonly E[]): LedgerView<E> {
    if (version <= this.version)
      throw new Error(`ledger cannot move from ${this.version} back to ${version}`);
    let shared = this.shared;
    if (shared.version !== this.version || shared.entries.length !== this.length) {
      shared = LedgerView.from(shared.entries.slice(0, this.length), this.version, this.keyOf).shared;
    }
    for (const entry of added) {
      const key = this.keyOf(entry);
      if (key !== undefined && !shared.index.has(key)) shared.index.set(key, shared.entries.length);
      shared.entries.push(entry);
    }
    shared.version = version;
    return new LedgerView(shared, this.keyOf, version, shared.entries.length);
  }

  /** The first entry with this key visible at this view's version. */
  get(key: string): E | undefined {
    const i = this.shared.index.get(key);
    return i !== undefined && i < this.length ? this.shared.entries[i] : undefined;
  }

  at(i: number): E | undefined {
    return i >= 0 && i < this.length ? this.shared.entries[i] : undefined;
  }

  /** Index of the last entry for which `isAtOrBefore` holds, given it holds for a prefix. */
  lastIndexWhere(isAtOrBefore: (entry: E) => boolean): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (isAtOrBefore(this.shared.entries[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  *[Symbol.iterator](): IterableIterator<E> {
    for (let i = 0; i < this.length; i++) yield this.shared.entries[i]!;
  }
}
