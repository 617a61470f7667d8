/**
 * Line protocol imports. The file is cut into chunks of whole lines; the first pass decodes every
 * chunk with the server's own decoder (services/ingest), so what passes here is exactly what the
 * server accepts, and checks that each column keeps one type and role over the whole file (the
 * server checks that within one request only). The second pass sends the same chunks as they are.
 */
import type { BatchColumn, TableBatch } from '../../services/ingest/index.js';
import { CliError } from '../errors.js';
import type { FileColumn, FileTable, ImportOptions, Outgoing, PreparedFile } from './plan.js';
import { TimeRange } from './plan.js';
import type { Problems } from './problems.js';
import { readProblem } from './read-problem.js';
import type { Source } from './source.js';

/** Bodies stay well under the server's ingest.maxBodyBytes (64 MiB by default). */
const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
const FLOAT_EXACT = 2n ** 53n;

interface Chunk {
  bytes: Buffer;
  firstLine: number;
  lines: number;
}

interface Seen extends FileColumn {
  lines: string;
}

export async function prepareLineProtocol(
  source: Source,
  database: string,
  options: ImportOptions,
  problems: Problems,
  onRead: (bytes: number) => void,
): Promise<PreparedFile | undefined> {
  // The server's decoder is loaded only for line protocol: the other imports do not need it.
  const { DEFAULT_DECODE_LIMITS, decodeLineProtocol } = await import('../../services/ingest/index.js');
  const precision = options.precision ?? 'ns';
  const tables = new Map<string, { rows: number; columns: Map<string, Seen> }>();
  const chunkRows: number[] = [];
  const range = new TimeRange();
  try {
    for await (const chunk of lineChunks(source, options.batchSize, onRead)) {
      let batches: TableBatch[];
      try {
        batches = decodeLineProtocol(chunk.bytes, {
          database,
          nowMicros: BigInt(Date.now()) * 1000n,
          limits: DEFAULT_DECODE_LIMITS,
          precision,
        });
      } catch (error) {
        problems.add(renumber(decodeMessage(error), chunk.firstLine - 1));
        chunkRows.push(0);
        continue;
      }
      chunkRows.push(batches.reduce((sum, b) => sum + b.rows, 0));
      const last = chunk.firstLine + chunk.lines - 1;
      const lines = last === chunk.firstLine ? `line ${last}` : `lines ${chunk.firstLine}–${last}`;
      for (const batch of batches) {
        record(tables, batch, lines, problems);
        for (const micros of batch.time) range.add(micros);
      }
    }
  } catch (error) {
    problems.add(readProblem(error));
  }
  const rows = chunkRows.reduce((sum, n) => sum + n, 0);
  if (rows === 0 && !problems.any) problems.add('the file holds no lines to write');
  if (problems.any) return undefined;
  const summary: FileTable[] = [...tables].map(([table, seen]) => ({
    table,
    rows: seen.rows,
    columns: [...seen.columns.values()].map(({ lines: _, ...column }) => column),
  }));
  return {
    summary: {
      tables: summary,
      rows,
      time: `line protocol timestamps in ${precision}`,
      minTime: range.min,
      maxTime: range.max,
      notes: [],
    },
    batches: () => sendChunks(source, options.batchSize, chunkRows),
  };
}

async function* sendChunks(source: Source, batchSize: number, chunkRows: number[]): AsyncGenerator<Outgoing> {
  const decoder = new TextDecoder();
  let index = 0;
  for await (const chunk of lineChunks(source, batchSize)) {
    const rows = chunkRows[index++];
    if (rows === undefined) throw new CliError(`${source.name} changed while it was being imported`);
    yield { kind: 'lp', text: decoder.decode(chunk.bytes), rows };
  }
  if (index !== chunkRows.length) throw new CliError(`${source.name} changed while it was being imported`);
}

/** Notes each column's type and role; a column that changes either across chunks is a problem. */
function record(
  tables: Map<string, { rows: number; columns: Map<string, Seen> }>,
  batch: TableBatch,
  lines: string,
  problems: Problems,
): void {
  let table = tables.get(batch.table);
  if (!table) {
    table = { rows: 0, columns: new Map() };
    tables.set(batch.table, table);
  }
  table.rows += batch.rows;
  for (const column of batch.columns) {
    const key = column.name.toLowerCase();
    const seen = table.columns.get(key);
    const unsafeInt = column.type === 'int64' && hasUnsafeInt(column);
    if (!seen) {
      table.columns.set(key, { name: column.name, type: column.type, role: column.role, unsafeInt, lines });
      continue;
    }
    seen.unsafeInt ||= unsafeInt;
    if (seen.name !== column.name || seen.type !== column.type || seen.role !== column.role) {
      problems.add(
        `table ${batch.table}: ${column.name} is ${an(column.type)} ${column.role} in ${lines}, but ` +
          `${seen.name} is ${an(seen.type)} ${seen.role} in ${seen.lines}; a column keeps one name, type and ` +
          'role over the file (1i is an integer, 1 a float, "1" a string)',
      );
    }
  }
}

function an(type: string): string {
  return `${type === 'int64' ? 'an' : 'a'} ${type}`;
}

function hasUnsafeInt(column: BatchColumn): boolean {
  if (column.type !== 'int64') return false;
  for (const value of column.values) if (value > FLOAT_EXACT || value < -FLOAT_EXACT) return true;
  return false;
}

/** The decoder's message; its errors carry a code (anything else is a bug, and rethrown). */
function decodeMessage(error: unknown): string {
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') return error.message;
  throw error;
}

/** The decoder numbers lines within its chunk; the operator needs them within the file. */
function renumber(message: string, offset: number): string {
  return message.replace(/\bline (\d+)/g, (_, n: string) => `line ${Number(n) + offset}`);
}

/** The source as chunks of whole lines: `batchSize` lines, or fewer when they pass MAX_CHUNK_BYTES. */
async function* lineChunks(source: Source, batchSize: number, onRead?: (bytes: number) => void) {
  let parts: Buffer[] = [];
  let bytes = 0;
  let lines = 0;
  let firstLine = 1;
  const cut = (): Chunk => {
    const chunk = { bytes: Buffer.concat(parts), firstLine, lines };
    firstLine += lines;
    parts = [];
    bytes = 0;
    lines = 0;
    return chunk;
  };
  for await (const raw of source.open(onRead)) {
    const chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let from = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, nl + 1)) {
      lines++;
      if (lines >= batchSize || bytes + nl + 1 - from >= MAX_CHUNK_BYTES) {
        parts.push(chunk.subarray(from, nl + 1));
        yield cut();
        from = nl + 1;
      }
    }
    if (from < chunk.length) {
      parts.push(chunk.subarray(from));
      bytes += chunk.length - from;
    }
  }
  if (bytes > 0) {
    // A last line without its line end.
    if (parts.at(-1)!.at(-1) !== 10) lines++;
    yield cut();
  }
}
