/** `weir import <file>` and `weir write [file]`: data files into tables, checked whole before sending. */
import type { Command } from 'commander';
import { type ConnectionFlags, NoTokenError } from '../config.js';
import { action, clientCommand, connect, type Session } from '../context.js';
import { UsageError } from '../errors.js';
import { addImportOptions, formatFor, type ImportFlags, importOptions, openFile } from '../import/options.js';
import type { ImportRequest } from '../import/run.js';
import { bytesSource } from '../import/source.js';
import { readStdin } from '../input.js';

type Flags = ImportFlags & ConnectionFlags;

const CHECKED_FIRST = `
Nothing is sent until the whole file has been read and checked: every row parses, the time is
valid, each column keeps one type (CSV types are inferred over the whole file: integer, float,
boolean or text; integers widen to float, anything else that does not fit is an error), names are
valid, and the file fits the existing table's column types. A file with any problem exits 1 naming
the lines, with nothing imported. If the server then fails for good part way (after retries),
the command says how many rows landed.

CSV: a header line; the time column (--time-column, default "time") holds RFC 3339 times with a
zone or epoch numbers (--precision, else the unit is inferred from their size and must not
change); an empty field is a missing value; without --tags every string column is a tag.`;

export function importCommand(): Command {
  const command = clientCommand('import', { database: true })
    .description('import a CSV, Parquet, line protocol or Arrow IPC file, with a progress bar and a summary')
    .argument(
      '<file>',
      'the file; its ending says the format (.csv .parquet .lp .arrow .arrows …, also .gz)',
    );
  // zstd: several times faster than gzip here, and smaller, once its WebAssembly is loaded.
  return addImportOptions(command, ['csv', 'lp', 'parquet', 'arrow'], 'zstd')
    .option('--dry-run', 'check the file (and the tables, when a server is configured) and send nothing')
    .option('--no-progress', 'no progress bar (it is shown only on a terminal anyway)')
    .addHelpText(
      'after',
      `${CHECKED_FIRST}

Examples:
  weir import cpu.csv --tags host,region
  weir import readings.csv -t sensors --time-column ts --precision ms --types code:string
  weir import -D metrics export.parquet --dry-run`,
    )
    .action(
      action(async (file: string, flags: Flags) => {
        const format = formatFor(file, flags.format);
        const options = importOptions(flags, format, file);
        const source = openFile(file);
        const session = flags.dryRun ? optionalSession(flags) : connect(flags);
        await runImport({
          source,
          format,
          options,
          database: session?.connection.database ?? flags.database ?? 'default',
          session,
          dryRun: flags.dryRun === true,
          progress: flags.progress && process.stderr.isTTY === true,
          compression: flags.compression,
          concurrency: flags.concurrency,
          verb: 'imported',
        });
      }),
    );
}

export function writeCommand(): Command {
  const command = clientCommand('write', { database: true })
    .description('write line protocol or CSV from a file or stdin')
    .argument('[file]', 'the data; "-" or none reads stdin');
  return addImportOptions(command, ['lp', 'csv'], 'gzip')
    .addHelpText(
      'after',
      `
--format defaults to lp. Like weir import (see weir import --help), the data is checked whole
before anything is sent; stdin is read into memory first, so use weir import for large files.

Examples:
  echo 'cpu,host=a usage=0.5' | weir write
  weir write --format csv --table cpu --tags host < cpu.csv`,
    )
    .action(
      action(async (file: string | undefined, flags: Flags) => {
        const format = flags.format ?? 'lp';
        const fromStdin = file === undefined || file === '-';
        if (fromStdin && format === 'csv' && !flags.table)
          throw new UsageError('--table is needed for CSV on stdin');
        const options = importOptions(flags, format, fromStdin ? undefined : file);
        const session = connect(flags);
        const source = fromStdin ? bytesSource('stdin', await readStdin('data')) : openFile(file);
        await runImport({
          source,
          format,
          options,
          database: session.connection.database,
          session,
          dryRun: false,
          progress: false,
          compression: flags.compression,
          concurrency: flags.concurrency,
          verb: 'wrote',
        });
      }),
    );
}

/** A dry run checks the tables when a server is configured, and the file alone otherwise. */
function optionalSession(flags: Flags): Session | undefined {
  try {
    return connect(flags);
  } catch (error) {
    if (error instanceof NoTokenError) return undefined;
    throw error;
  }
}

/** The import machinery (readers, Arrow builders, progress bar) is loaded by the commands that use it. */
async function runImport(request: ImportRequest): Promise<void> {
  const { runImport: run } = await import('../import/run.js');
  await run(request);
}
