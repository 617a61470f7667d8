/**
 * The second pass over a validated CSV file: rows into Arrow tables of `batchSize` rows. The file
 * was checked row by row in the first pass, so a row that no longer fits means it changed since.
 */
import { CliError } from '../errors.js';
import { arrowTable, type ColumnBuilder, columnBuilder, timeData } from './columns.js';
import { CsvSplitter } from './csv-parser.js';
import type { CsvLayout } from './csv-scan.js';
import type { ImportOptions, Outgoing } from './plan.js';
import { type Source, utf8Text } from './source.js';
import { TimeReader } from './time.js';

export async function* readCsvBatches(
  source: Source,
  layout: CsvLayout,
  options: ImportOptions,
): AsyncGenerator<Outgoing> {
  const changed = (line: number) =>
    new CliError(
      `${source.name} changed while it was being imported (line ${line} is not what was validated)`,
    );
  const tags = options.tags ? layout.columns.filter((c) => c.role === 'tag').map((c) => c.name) : undefined;
  const time = new TimeReader(options.precision);
  const ready: Outgoing[] = [];
  let batch = new CsvBatch(layout, options.batchSize);
  let header = true;
  let rows = 0;
  const cut = () => {
    ready.push({ kind: 'arrow', table: options.table, data: batch.finish(), tags, rows: batch.rows });
    batch = new CsvBatch(layout, options.batchSize);
  };
  const splitter = new CsvSplitter(
    (fields, line) => {
      if (header) {
        header = false;
        return;
      }
      if (!batch.add(fields, line, time)) throw changed(line);
      rows++;
      if (batch.rows === options.batchSize) cut();
    },
    (line) => {
      throw changed(line);
    },
  );
  for await (const text of utf8Text(source.open())) {
    splitter.push(text);
    yield* ready.splice(0);
  }
  splitter.end();
  if (batch.rows > 0) cut();
  yield* ready.splice(0);
  if (rows !== layout.rows) throw new CliError(`${source.name} changed while it was being imported`);
}

class CsvBatch {
  rows = 0;
  private readonly time: BigInt64Array;
  private readonly builders: ColumnBuilder[];

  constructor(
    private readonly layout: CsvLayout,
    capacity: number,
  ) {
    this.time = new BigInt64Array(capacity);
    this.builders = layout.columns.map((c) => columnBuilder(c.type, c.role, capacity));
  }

  /** False when the row does not fit the layout. */
  add(fields: string[], line: number, time: TimeReader): boolean {
    const { layout, builders } = this;
    if (fields.length !== layout.fieldCount) return false;
    const text = fields[layout.timeIndex]!;
    if (text === '') return false;
    const row = this.rows++;
    try {
      this.time[row] = time.text(text, `line ${line}`);
    } catch {
      return false;
    }
    for (let c = 0; c < builders.length; c++) {
      const value = fields[layout.columns[c]!.index]!;
      if (value !== '') builders[c]!.add(value, row);
    }
    return true;
  }

  finish() {
    const columns = this.layout.columns.map((c, i) => ({
      name: c.name,
      data: this.builders[i]!.finish(this.rows),
    }));
    return arrowTable(timeData(this.time, this.rows), columns);
  }
}
