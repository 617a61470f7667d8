/**
 * Data files already loaded into the page's DuckDB, one table per file part (its row groups and
 * columns read), kept for later queries. Data files are immutable, so a part stays valid whatever
 * session signed its URL: it is found by the object's path. Bounded by the bytes loaded; the least
 * recently used parts no running query holds are dropped first.
 */
import type { AsyncDuckDBConnection } from '@duckdb/duckdb-wasm';

/** A file's part as loaded: the table holding it and which columns it answers for. */
export interface LoadedPart {
  readonly table: string;
  /** Columns asked for when it was read (present in the file or not: absent ones read as NULL). */
  readonly covers: ReadonlySet<string>;
  /** The columns its table has. */
  readonly present: readonly string[];
}

interface Entry extends LoadedPart {
  readonly path: string;
  readonly rowGroups: string;
  readonly bytes: number;
  holders: number;
}

/** What reading a part produced: Arrow IPC and the columns it holds, or nothing (no row group needed). */
export type PartData = { readonly ipc: Uint8Array; readonly present: readonly string[] } | undefined;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

export class LoadedFiles {
  /** In least-recently-used order (a Map keeps insertion order; a use re-inserts). */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private next = 0;

  constructor(private readonly maxBytes: number) {}

  /**
   * The part of `path` with these row groups covering `columns`: a loaded one, else `read` and
   * loaded now. Held until `release`. Undefined when the part holds no rows.
   */
  async acquire(
    connection: AsyncDuckDBConnection,
    path: string,
    rowGroups: readonly number[] | undefined,
    columns: readonly string[],
    read: () => Promise<PartData>,
  ): Promise<{ part: LoadedPart | undefined; cached: boolean }> {
    const groups = rowGroups?.join(',') ?? '*';
    const found = [...this.entries.values()].find(
      (e) => e.path === path && e.rowGroups === groups && columns.every((c) => e.covers.has(c)),
    );
    if (found) {
      this.entries.delete(found.table);
      this.entries.set(found.table, found);
      found.holders++;
      return { part: found, cached: true };
    }
    const data = await read();
    if (!data) return { part: undefined, cached: false };
    const table = `__weir_file_${this.next++}`;
    // Read before inserting: DuckDB-WASM transfers the buffer to its worker, which detaches it.
    const bytes = data.ipc.byteLength;
    await connection.insertArrowFromIPCStream(data.ipc, { name: table, create: true });
    const entry: Entry = {
      table,
      path,
      rowGroups: groups,
      covers: new Set(columns),
      present: data.present,
      bytes,
      holders: 1,
    };
    this.entries.set(table, entry);
    this.bytes += entry.bytes;
    return { part: entry, cached: false };
  }

  /** Whether some part of `path` covering `columns` is loaded (for any row groups). */
  holds(path: string, columns: readonly string[]): boolean {
    for (const e of this.entries.values())
      if (e.path === path && columns.every((c) => e.covers.has(c))) return true;
    return false;
  }

  /** Lets go of parts a query held, then drops what is over the budget. */
  async release(connection: AsyncDuckDBConnection, parts: readonly LoadedPart[]): Promise<void> {
    for (const part of parts) {
      const entry = this.entries.get(part.table);
      if (entry) entry.holders--;
    }
    for (const [table, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) return;
      if (entry.holders > 0) continue;
      this.entries.delete(table);
      this.bytes -= entry.bytes;
      await connection.query(`DROP TABLE IF EXISTS ${quote(table)}`);
    }
  }
}
