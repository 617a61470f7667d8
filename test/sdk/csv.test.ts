/**
 * The CSV stream parser (sdk/csv.ts) on Weir's CSV, cut into chunks at every possible place, and
 * the rows and records it gives for any column names.
 */
import { describe, expect, it } from 'vitest';
import { type CsvRecord, type CsvRow, csvRecords, csvRows } from '../../sdk/csv.js';

/** Weir's rendering: NULL is an empty unquoted field, '' is `""`, quotes double inside quotes. */
const CSV = 'id,text,n\n1,plain,2\n2,"a,b ""q""\nline",\n3,"",\n"4","é ✓",5';
const EXPECTED: CsvRecord[] = [
  { id: '1', text: 'plain', n: '2' },
  { id: '2', text: 'a,b "q"\nline', n: null },
  { id: '3', text: '', n: null },
  { id: '4', text: 'é ✓', n: '5' },
];

async function* stream(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

async function parse(chunks: Uint8Array[]): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  for await (const record of csvRecords(csvRows(stream(chunks)))) records.push(record);
  return records;
}

async function rowsOf(csv: string): Promise<CsvRow[]> {
  const rows: CsvRow[] = [];
  for await (const row of csvRows(stream([new TextEncoder().encode(csv)]))) rows.push(row);
  return rows;
}

describe('csvRecords', () => {
  it('parses the same records wherever the byte stream is cut (inside quotes, escapes and UTF-8)', async () => {
    const bytes = new TextEncoder().encode(CSV);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(await parse([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(EXPECTED);
    }
    expect(await parse([...bytes].map((b) => Uint8Array.of(b)))).toEqual(EXPECTED);
  });

  it('keeps a final line end from making an empty record, and reads a header alone as no records', async () => {
    expect(await parse([new TextEncoder().encode(`${CSV}\n`)])).toEqual(EXPECTED);
    expect(await parse([new TextEncoder().encode('a,b\n')])).toEqual([]);
  });

  it('keeps every column as rows, whatever the names: repeated, __proto__, empty', async () => {
    const csv = 'host,host,__proto__,,constructor\na,b,1,x,c\n';
    expect(await rowsOf(csv)).toEqual([
      ['host', 'host', '__proto__', '', 'constructor'],
      ['a', 'b', '1', 'x', 'c'],
    ]);
  });

  it('makes records without prototype, so a column named __proto__ or constructor is a key like any other', async () => {
    const [record] = await parse([new TextEncoder().encode('__proto__,constructor,b\n1,2,3\n')]);
    expect(Object.getPrototypeOf(record)).toBeNull();
    expect(Object.entries(record!)).toEqual([
      ['__proto__', '1'],
      ['constructor', '2'],
      ['b', '3'],
    ]);
  });
});
