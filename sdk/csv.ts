/**
 * Incremental RFC 4180 parsing of Weir's CSV answer (header line, LF line ends, quoted fields may
 * hold commas, quotes and line breaks). Weir writes NULL as an empty unquoted field and an empty
 * string as `""`, so the two stay apart: null and ''.
 */

/** A CSV line's fields, in the columns' order. */
export type CsvRow = (string | null)[];

/**
 * A CSV row keyed by the header's names: an object without prototype, so every name is a key of
 * its own (`__proto__`, `constructor`…). A name the header repeats keeps its last column's value:
 * rows as arrays (`csvRows`, `streamCsvRows`) keep every column.
 */
export type CsvRecord = Record<string, string | null>;

/** The lines of a CSV byte stream as arrays: the header's names first, then each row; a quoted field may span chunks. */
export async function* csvRows(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<CsvRow> {
  const decoder = new TextDecoder();
  const parser = new CsvParser();
  let header = true;
  const emit = function* (rows: CsvRow[]): Generator<CsvRow> {
    for (const row of rows) {
      // A header name is a string, even an empty unquoted one.
      yield header ? row.map((name) => name ?? '') : row;
      header = false;
    }
  };
  for await (const chunk of chunks) yield* emit(parser.push(decoder.decode(chunk, { stream: true })));
  yield* emit(parser.push(decoder.decode()));
  yield* emit(parser.end());
}

/** The rows after the header as records keyed by its names (see CsvRecord). */
export async function* csvRecords(rows: AsyncIterable<CsvRow>): AsyncGenerator<CsvRecord> {
  let header: CsvRow | undefined;
  for await (const row of rows) {
    if (!header) {
      header = row;
      continue;
    }
    const record: CsvRecord = Object.create(null);
    for (let i = 0; i < header.length; i++) record[header[i]!] = row[i] ?? null;
    yield record;
  }
}

class CsvParser {
  private field = '';
  private quoted = false;
  /** Inside quotes; a quote seen there may close them or start an escaped quote. */
  private inQuotes = false;
  private quotePending = false;
  private row: CsvRow = [];

  /** The rows completed by this text. */
  push(text: string): CsvRow[] {
    const rows: CsvRow[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.quotePending) {
        this.quotePending = false;
        if (c === '"') {
          this.field += '"';
          continue;
        }
        this.inQuotes = false;
      }
      if (this.inQuotes) {
        if (c === '"') this.quotePending = true;
        else this.field += c;
      } else if (c === '"') {
        this.inQuotes = true;
        this.quoted = true;
      } else if (c === ',') this.endField();
      else if (c === '\n') {
        this.endField();
        rows.push(this.row);
        this.row = [];
      } else if (c !== '\r') this.field += c;
    }
    return rows;
  }

  /** A last row without its line end. */
  end(): CsvRow[] {
    this.quotePending = false;
    this.inQuotes = false;
    if (this.row.length === 0 && this.field === '' && !this.quoted) return [];
    this.endField();
    const last = this.row;
    this.row = [];
    return [last];
  }

  private endField(): void {
    this.row.push(this.field === '' && !this.quoted ? null : this.field);
    this.field = '';
    this.quoted = false;
  }
}
