/**
 * An import from start to end: check the whole file, check it against the tables it goes into, and
 * only then send it, with a progress bar and a summary. A file with any problem sends nothing.
 */
import { type Compression, WeirError } from '../../sdk/index.js';
import type { Session } from '../context.js';
import { CliError, serverErrorText } from '../errors.js';
import { formatCount, formatRate, formatSeconds, note, renderTable, write } from '../output.js';
import { prepareArrow } from './arrow-scan.js';
import { prepareCsv } from './csv-scan.js';
import { prepareLineProtocol } from './line-protocol.js';
import type { FileFormat, FileSummary, ImportOptions, PreparedFile } from './plan.js';
import { Problems } from './problems.js';
import { Progress } from './progress.js';
import { SendError, type SendStats, sendAll } from './send.js';
import type { Source } from './source.js';
import { checkTables } from './table-check.js';

export interface ImportRequest {
  source: Source;
  format: FileFormat;
  options: ImportOptions;
  database: string;
  /** Undefined for a dry run without a configured server: the file alone is checked. */
  session: Session | undefined;
  dryRun: boolean;
  progress: boolean;
  compression: Compression;
  concurrency: number;
  /** How the summary says it: "imported" or "wrote". */
  verb: string;
}

export async function runImport(request: ImportRequest): Promise<void> {
  const { source, database, session } = request;
  const progress = new Progress(request.progress);
  const started = performance.now();
  const problems = new Problems();
  const prepared = await prepare(request, problems, progress).finally(() => progress.stop());
  if (!prepared) throw problems.error(source.name);
  if (session) {
    await checkTables(session.client, database, prepared.summary.tables, problems);
    if (problems.any) throw problems.error(source.name);
  }
  const checked = performance.now();
  for (const text of prepared.summary.notes) note(`note: ${text}`);
  if (request.dryRun || !session) {
    await write(describeFile(source.name, database, prepared.summary));
    await write(
      `nothing was sent (--dry-run)${session ? '' : '; no server was configured, so the tables were not checked'}\n`,
    );
    return;
  }
  const total = prepared.summary.rows;
  progress.start('sending', total, 'rows');
  let stats: SendStats;
  try {
    stats = await sendAll(session.client, prepared.batches(), {
      database,
      compression: request.compression,
      precision: request.options.precision,
      concurrency: request.concurrency,
      onSent: (rows) => progress.update(rows),
      // A line under a live progress bar would break it; the summary counts the retries either way.
      onRetry: (error, delayMs) => {
        if (!request.progress) note(`retrying a batch in ${delayMs} ms: ${error.message}`);
      },
    });
  } catch (error) {
    throw stopped(source.name, database, prepared, error);
  } finally {
    progress.stop();
  }
  const done = performance.now();
  const tables = prepared.summary.tables.map((t) => `${database}.${t.table}`).join(', ');
  await write(
    `${request.verb} ${formatCount(stats.rows)} rows into ${tables} from ${source.name} in ${formatSeconds(done - started)} ` +
      `(${formatRate(stats.rows, done - started)}): 0 errors, ${plural(stats.batches, 'request')}, ${plural(stats.retries, 'retry', 'retries')}; ` +
      `checked in ${formatSeconds(checked - started)}, sent in ${formatSeconds(done - checked)}\n`,
  );
}

function prepare(
  request: ImportRequest,
  problems: Problems,
  progress: Progress,
): Promise<PreparedFile | undefined> {
  const { source, format, options } = request;
  if (format === 'parquet' || format === 'arrow') {
    // Their readers open the file by its path (Parquet needs random access to its footer and row groups).
    if (!source.path)
      throw new CliError(
        `${source.name}: ${format} files are read as they are, not gzipped; gunzip it first`,
      );
    return prepareArrow(format, source.path, options, problems);
  }
  progress.start('checking', source.size, 'bytes');
  const onRead = (bytes: number) => progress.update(bytes);
  return format === 'csv'
    ? prepareCsv(source, options, problems, onRead)
    : prepareLineProtocol(source, request.database, options, problems, onRead);
}

/** An import the server stopped part way: what landed stays, and the operator must know how much. */
function stopped(file: string, database: string, prepared: PreparedFile, error: unknown): unknown {
  if (!(error instanceof SendError)) return error;
  const cause = error.cause instanceof WeirError ? serverErrorText(error.cause) : String(error.cause);
  const { rows } = error.stats;
  const total = prepared.summary.rows;
  const tables = prepared.summary.tables.map((t) => `${database}.${t.table}`).join(', ');
  return new CliError(`the import of ${file} stopped: ${cause}`, [
    rows === 0
      ? 'nothing of the file landed'
      : `${formatCount(rows)} of ${formatCount(total)} rows landed in ${tables} before it stopped, and stay`,
    `${formatCount(total - rows)} ${total - rows === 1 ? 'row was' : 'rows were'} not written`,
  ]);
}

function describeFile(file: string, database: string, summary: FileSummary): string {
  const span =
    summary.minTime === undefined
      ? ''
      : `, times ${isoMicros(summary.minTime)} to ${isoMicros(summary.maxTime!)}`;
  let text = `${file}: ${formatCount(summary.rows)} rows of ${summary.time}${span}\n`;
  for (const table of summary.tables) {
    text += `${database}.${table.table}: ${formatCount(table.rows)} rows\n`;
    text += renderTable(
      ['column', 'type', 'role'],
      [['time', 'timestamp', 'time'], ...table.columns.map((c) => [c.name, c.type, c.role])],
    );
  }
  return text;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

function isoMicros(micros: bigint): string {
  const fraction = String(micros % 1_000_000n).padStart(6, '0');
  return `${new Date(Number(micros / 1000n)).toISOString().slice(0, 19)}.${fraction}Z`;
}
