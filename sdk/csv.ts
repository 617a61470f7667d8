/**
 * Incremental RFC 4180 parsing of Weir's CSV answer (header line, LF line ends, quoted fields may
 * hold commas, quotes and line breaks). Weir writes NULL as an empty unquoted field and an empty
 * string as `""`, so the two stay apart: null and ''.
 */

export type CsvRecord = Record<string, string | null>;

/** Records of a CSV byte stream, keyed by the header's names; a quoted field may span chunks. */
export async function* csvRecords(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<CsvRecord> {
  const decoder = new TextDecoder();
  const parser = new CsvParser();
  let header: string[] | undefined;
  const emit = function* (rows: (string | null)[][]): Generator<CsvRecord> {
    for (const row of rows) {
      if (!header) {
        header = row.map((name) => name ?? '');
        continue;
      }
      const record: CsvRecord = {};
      for (let i = 0; i < header.length; i++) record[header[i]!] = row[i] ?? null;
      yield record;
    }
  };
  for await (const chunk of chunks) yield* emit(parser.push(decoder.decode(chunk, { stream: true })));
  yield* emit(parser.push(decoder.decode()));
  yield* emit(parser.end());
}

class CsvParser {
  private field = '';
  private quoted = false;
  /** Inside quotes; a quote seen there may close them or start an escaped quote. */
  private inQuotes = false;
  private quotePending = false;
  private row: (string | null)[] = [];

  /** The rows completed by this text. */
  push(text: string): (string | null)[][] {
    const rows: (string | null)[][] = [];
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
  end(): (string | null)[][] {
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
