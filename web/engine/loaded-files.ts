/**
 * Data files already loaded into the page's DuckDB, kept for later queries. Data files are
 * immutable, so a file's part (its row groups and columns read) stays valid whatever session
 * signed its URL: it is found by the object's path. The parts a query reads anew go into DuckDB in
 * one insert per Arrow schema (an insert costs ~6 ms however small, so one per file made a
 * 170-file load three times slower); each part is a range of rows of that table. Bounded by the
 * bytes loaded: the least recently used parts that no running query holds are dropped first, and
 * a table goes when none of its parts is left.
 */
import type { AsyncDuckDBConnection } from '@duckdb/duckdb-wasm';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';

/** A file's part as loaded: rows `[start, end)` of `table`, and which columns it answers for. */
export interface LoadedPart {
  readonly table: string;
  readonly start: number;
  readonly end: number;
  /** Columns asked for when it was read (present in the file or not: absent ones read as NULL). */
  readonly covers: ReadonlySet<string>;
  /** The columns its table has. */
  readonly present: readonly string[];
}

/** A part read from its file: Arrow IPC of its rows. */
export interface PartRead {
  readonly path: string;
  readonly rowGroups: readonly number[] | undefined;
  readonly columns: readonly string[];
  readonly ipc: Uint8Array;
}

interface Entry extends LoadedPart {
  readonly path: string;
  readonly rowGroups: string;
  readonly bytes: number;
  holders: number;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const groupsKey = (rowGroups: readonly number[] | undefined) => rowGroups?.join(',') ?? '*';

export class LoadedFiles {
  /** In least-recently-used order (a Map keeps insertion order; a use re-inserts). */
  private readonly entries = new Map<string, Entry>();
  /** Rows and live parts of each table. */
  private readonly tables = new Map<string, { rows: number; parts: number }>();
  private bytes = 0;
  private next = 0;

  constructor(private readonly maxBytes: number) {}

  /** A loaded part of `path` with these row groups covering `columns`, held until `release`. */
  find(
    path: string,
    rowGroups: readonly number[] | undefined,
    columns: readonly string[],
  ): LoadedPart | undefined {
    const groups = groupsKey(rowGroups);
    for (const [id, entry] of this.entries) {
      if (entry.path !== path || entry.rowGroups !== groups || !columns.every((c) => entry.covers.has(c)))
        continue;
      this.entries.delete(id);
      this.entries.set(id, entry);
      entry.holders++;
      return entry;
    }
    return undefined;
  }

  /** Whether some part of `path` covering `columns` is loaded (for any row groups). */
  holds(path: string, columns: readonly string[]): boolean {
    for (const e of this.entries.values())
      if (e.path === path && columns.every((c) => e.covers.has(c))) return true;
    return false;
  }

  /** Loads parts read anew, one table per Arrow schema; answers them, held, in the order given. */
  async load(connection: AsyncDuckDBConnection, reads: readonly PartRead[]): Promise<LoadedPart[]> {
    const tables = reads.map((read) => tableFromIPC(read.ipc));
    const bySchema = new Map<string, number[]>();
    for (const [i, table] of tables.entries()) {
      const key = table.schema.fields.map((f) => `${f.name}:${f.type}`).join(',');
      bySchema.set(key, [...(bySchema.get(key) ?? []), i]);
    }
    const loaded: Entry[] = new Array(reads.length);
    try {
      for (const members of bySchema.values())
        await this.loadGroup(connection, reads, tables, members, loaded);
    } catch (error) {
      // The groups loaded before the failure stay, unheld: the caller never sees them.
      for (const entry of loaded) if (entry) entry.holders--;
      throw error;
    }
    return loaded;
  }

  /** One insert of the reads at `members` (one Arrow schema); each becomes a held entry in `loaded`. */
  private async loadGroup(
    connection: AsyncDuckDBConnection,
    reads: readonly PartRead[],
    tables: readonly Table[],
    members: readonly number[],
    loaded: Entry[],
  ): Promise<void> {
    const name = `__weir_load_${this.next++}`;
    const combined = new Table(members.flatMap((i) => tables[i]!.batches));
    const present = combined.schema.fields.map((f) => f.name);
    await connection.insertArrowFromIPCStream(tableToIPC(combined, 'stream'), { name, create: true });
    this.tables.set(name, { rows: combined.numRows, parts: members.length });
    let start = 0;
    for (const i of members) {
      const read = reads[i]!;
      const end = start + tables[i]!.numRows;
      const entry: Entry = {
        table: name,
        start,
        end,
        covers: new Set(read.columns),
        present,
        path: read.path,
        rowGroups: groupsKey(read.rowGroups),
        bytes: read.ipc.byteLength,
        holders: 1,
      };
      this.entries.set(`${name}#${start}`, entry);
      this.bytes += entry.bytes;
      loaded[i] = entry;
      start = end;
    }
  }

  /** `SELECT`s of the parts' rows: a whole table where they cover it, else its rows by range. */
  sources(parts: readonly LoadedPart[]): string[] {
    const byTable = new Map<string, LoadedPart[]>();
    for (const part of parts) byTable.set(part.table, [...(byTable.get(part.table) ?? []), part]);
    return [...byTable].map(([table, own]) => {
      const ranges = mergeRanges(own);
      const whole =
        ranges.length === 1 && ranges[0]![0] === 0 && ranges[0]![1] === this.tables.get(table)?.rows;
      const where = ranges.map(([start, end]) => `rowid BETWEEN ${start} AND ${end - 1}`).join(' OR ');
      return `SELECT * FROM ${quote(table)}${whole ? '' : ` WHERE ${where}`}`;
    });
  }

  /** Lets go of parts a query held, then drops what is over the budget. */
  async release(connection: AsyncDuckDBConnection, parts: readonly LoadedPart[]): Promise<void> {
    for (const part of parts) {
      const entry = this.entries.get(`${part.table}#${part.start}`);
      if (entry) entry.holders--;
    }
    for (const [id, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) return;
      if (entry.holders > 0) continue;
      this.entries.delete(id);
      this.bytes -= entry.bytes;
      const table = this.tables.get(entry.table)!;
      if (--table.parts > 0) continue;
      this.tables.delete(entry.table);
      await connection.query(`DROP TABLE IF EXISTS ${quote(entry.table)}`);
    }
  }
}

/** The parts' row ranges, sorted, with adjacent and overlapping ones joined. */
function mergeRanges(parts: readonly LoadedPart[]): [number, number][] {
  const sorted = [...parts].sort((a, b) => a.start - b.start);
  const ranges: [number, number][] = [];
  for (const { start, end } of sorted) {
    const last = ranges.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else ranges.push([start, end]);
  }
  return ranges;
}
