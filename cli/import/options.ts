/** The flags of `weir import` and `weir write`, checked and turned into ImportOptions. */
import { statSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { Compression } from '../../sdk/index.js';
import { commaList, wholeNumber } from '../arguments.js';
import { CliError, UsageError } from '../errors.js';
import { nameProblem } from './names.js';
import type { ColumnType, FileFormat, ImportOptions } from './plan.js';
import { fileSource, formatOf, KNOWN_EXTENSIONS, type Source, stem } from './source.js';
import { PRECISIONS, type Precision } from './time.js';

export interface ImportFlags {
  format?: FileFormat;
  table?: string;
  timeColumn: string;
  tags?: string;
  types?: string;
  precision?: Precision;
  batchSize: number;
  compression: Compression;
  concurrency: number;
  dryRun?: boolean;
  progress: boolean;
  database?: string;
}

const MAX_BATCH_ROWS = 1_000_000;

/** The options both commands share; `formats` are those the command reads. */
export function addImportOptions(
  command: Command,
  formats: readonly FileFormat[],
  compression: Compression,
): Command {
  return command
    .addOption(new Option('-f, --format <format>', 'format of the data').choices(formats))
    .option('-t, --table <name>', 'table of CSV, Parquet and Arrow data (import: else the file name)')
    .option('--time-column <name>', 'column holding the time, stored as "time"', 'time')
    .option('--tags <columns>', 'comma-separated tag columns (else every string column is a tag)')
    .option('--types <name:type,...>', 'CSV column types instead of inferred ones: int, float, bool, string')
    .addOption(
      new Option(
        '--precision <unit>',
        'unit of epoch times (else inferred from their size; line protocol: ns)',
      ).choices(PRECISIONS),
    )
    .option('--batch-size <rows>', 'rows per request', wholeNumber(MAX_BATCH_ROWS), 100_000)
    .addOption(
      new Option('--compression <codec>', 'compression of request bodies')
        .choices(['gzip', 'zstd', 'none'])
        .default(compression),
    )
    .option('--concurrency <n>', 'requests in flight at once', wholeNumber(16), 2);
}

/** A file argument as a Source; missing files and directories are the caller's mistake. */
export function openFile(path: string): Source {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (!isFile) throw new CliError(`${path} is not a file`);
  return fileSource(path);
}

export function formatFor(path: string, given: FileFormat | undefined): FileFormat {
  const format = given ?? formatOf(path);
  if (!format) {
    throw new UsageError(
      `cannot tell the format of ${path} from its name (known endings: ${KNOWN_EXTENSIONS.map((e) => `.${e}`).join(' ')}, ` +
        'each also with .gz); pass --format csv|lp|parquet|arrow',
    );
  }
  return format;
}

export function importOptions(
  flags: ImportFlags,
  format: FileFormat,
  path: string | undefined,
): ImportOptions {
  if (format === 'lp' && flags.table) {
    throw new UsageError(
      'line protocol names the table of each line; --table is for CSV, Parquet and Arrow data',
    );
  }
  if ((format === 'lp' || format === 'parquet' || format === 'arrow') && flags.types) {
    throw new UsageError(`--types is for CSV, whose values carry no type; ${format} data has its own`);
  }
  if (format === 'lp' && (flags.tags || flags.timeColumn !== 'time')) {
    throw new UsageError(
      '--tags and --time-column are for CSV, Parquet and Arrow data; line protocol says both itself',
    );
  }
  const table = flags.table ?? (path && format !== 'lp' ? stem(path) : undefined);
  if (format !== 'lp') {
    if (!table) throw new UsageError('--table is needed: the data has no file name to take it from');
    const invalid = nameProblem('table', table);
    if (invalid)
      throw new UsageError(`${invalid}${flags.table ? '' : ' (taken from the file name; pass --table)'}`);
  }
  if (flags.database) {
    const invalid = nameProblem('database', flags.database);
    if (invalid) throw new UsageError(invalid);
  }
  return {
    table: table ?? '',
    timeColumn: flags.timeColumn,
    tags: flags.tags === undefined ? undefined : list('--tags', flags.tags),
    types: flags.types === undefined ? new Map() : parseTypes(flags.types),
    precision: flags.precision,
    batchSize: flags.batchSize,
  };
}

const TYPE_NAMES: Record<string, ColumnType> = {
  int: 'int64',
  integer: 'int64',
  int64: 'int64',
  float: 'float64',
  double: 'float64',
  float64: 'float64',
  bool: 'bool',
  boolean: 'bool',
  string: 'string',
  text: 'string',
};

function parseTypes(text: string): Map<string, ColumnType> {
  const types = new Map<string, ColumnType>();
  for (const entry of list('--types', text)) {
    const [name, type, extra] = entry.split(':');
    const columnType = type === undefined ? undefined : TYPE_NAMES[type.toLowerCase()];
    if (!name || !columnType || extra !== undefined) {
      throw new UsageError(
        `--types entry ${JSON.stringify(entry)}: write name:type with type int, float, bool or string`,
      );
    }
    types.set(name, columnType);
  }
  return types;
}

function list(flag: string, text: string): string[] {
  const items = commaList(text);
  if (items.length === 0) throw new UsageError(`${flag} names nothing`);
  return items;
}
