/**
 * The first pass over a CSV file: every row is parsed and checked (field count, time, the type of
 * every value, lengths) and the column types are decided, before anything is sent. The second pass
 * (csv-batches.ts) reads the file again into Arrow batches.
 */
import { readCsvBatches } from './csv-batches.js';
import { CsvSplitter } from './csv-parser.js';
import { ColumnScan } from './csv-types.js';
import { type HeaderPlan, planHeader } from './header.js';
import type { ColumnType, FileSummary, ImportOptions, PreparedFile, Role } from './plan.js';
import { TimeRange } from './plan.js';
import type { Problems } from './problems.js';
import { readProblem } from './read-problem.js';
import { type Source, utf8Text } from './source.js';
import { TimeError, TimeReader } from './time.js';

/** What the second pass needs: where each imported column is and what it became. */
export interface CsvLayout {
  fieldCount: number;
  timeIndex: number;
  columns: { index: number; name: string; type: ColumnType; role: Role }[];
  rows: number;
}

export async function prepareCsv(
  source: Source,
  options: ImportOptions,
  problems: Problems,
  onRead: (bytes: number) => void,
): Promise<PreparedFile | undefined> {
  const scan = new CsvScan(options, problems);
  const splitter = new CsvSplitter(
    (fields, line) => scan.record(fields, line),
    (line, message) => problems.add(`line ${line}: ${message}`),
  );
  try {
    for await (const text of utf8Text(source.open(onRead))) {
      splitter.push(text);
      if (scan.badHeader) break;
    }
    if (!scan.badHeader) splitter.end();
  } catch (error) {
    problems.add(readProblem(error));
    return undefined;
  }
  const result = scan.finish();
  if (!result || problems.any) return undefined;
  const { layout, summary } = result;
  return { summary, batches: () => readCsvBatches(source, layout, options) };
}

class CsvScan {
  private plan: HeaderPlan | undefined;
  private fieldCount = 0;
  private headerSeen = false;
  private scans: ColumnScan[] = [];
  private indexes: number[] = [];
  private rows = 0;
  private readonly time: TimeReader;
  private readonly range = new TimeRange();

  constructor(
    private readonly options: ImportOptions,
    private readonly problems: Problems,
  ) {
    this.time = new TimeReader(options.precision);
  }

  get badHeader(): boolean {
    return this.headerSeen && !this.plan;
  }

  record(fields: string[], line: number): void {
    if (!this.headerSeen) {
      this.header(fields);
      return;
    }
    const plan = this.plan;
    if (!plan) return;
    this.rows++;
    const problems = this.problems;
    if (fields.length !== this.fieldCount) {
      problems.add(`line ${line}: ${fields.length} fields, but the header has ${this.fieldCount}`);
      return;
    }
    const time = fields[plan.timeIndex]!;
    if (time === '') problems.add(`line ${line}: the time (column ${this.options.timeColumn}) is empty`);
    else this.checkTime(time, line);
    const { scans, indexes } = this;
    for (let c = 0; c < scans.length; c++) {
      const value = fields[indexes[c]!]!;
      if (value === '') continue;
      const problem = scans[c]!.check(value, line);
      if (problem) problems.add(`line ${line}, column ${scans[c]!.name}: ${problem}`);
    }
  }

  private header(fields: string[]): void {
    this.headerSeen = true;
    this.fieldCount = fields.length;
    this.plan = planHeader(fields, this.options, this.problems);
    for (const column of this.plan?.columns ?? []) {
      this.scans.push(new ColumnScan(column.name, column.role, column.forced));
      this.indexes.push(column.index);
    }
  }

  private checkTime(value: string, line: number): void {
    try {
      this.range.add(this.time.text(value, `line ${line}`));
    } catch (error) {
      if (!(error instanceof TimeError)) throw error;
      this.problems.add(`line ${line}, column ${this.options.timeColumn}: ${error.message}`);
    }
  }

  finish(): { layout: CsvLayout; summary: FileSummary } | undefined {
    if (!this.headerSeen) this.problems.add('the file is empty: a CSV import needs a header line and rows');
    else if (this.plan && this.rows === 0) this.problems.add('no rows after the header line');
    const plan = this.plan;
    if (!plan) return undefined;
    const notes: string[] = [];
    const columns: CsvLayout['columns'] = [];
    const fileColumns: FileSummary['tables'][number]['columns'] = [];
    this.scans.forEach((scan, c) => {
      if (scan.type === undefined) {
        notes.push(
          `column ${scan.name} is empty in every row: left out (--types ${scan.name}:<type> keeps it)`,
        );
        return;
      }
      columns.push({ index: this.indexes[c]!, name: scan.name, type: scan.type, role: scan.role });
      fileColumns.push({ name: scan.name, type: scan.type, role: scan.role, unsafeInt: scan.unsafeInt });
    });
    return {
      layout: { fieldCount: this.fieldCount, timeIndex: plan.timeIndex, columns, rows: this.rows },
      summary: {
        tables: [{ table: this.options.table, columns: fileColumns, rows: this.rows }],
        rows: this.rows,
        time: this.time.describe(),
        minTime: this.range.min,
        maxTime: this.range.max,
        notes,
      },
    };
  }
}
