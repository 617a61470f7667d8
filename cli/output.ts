/** Writing results: stdout with backpressure, tables for people (cli-table3), and number formats. */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import Table from 'cli-table3';

// A reader that went away (`weir query … | head`) ends the command quietly, as other Unix tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

/** Writes to a stream, waiting while its buffer is full (large CSV or Arrow answers). */
export async function write(text: string | Uint8Array, stream: NodeJS.WritableStream = process.stdout) {
  if (!stream.write(text)) await once(stream, 'drain');
}

/** Writes a file through a temporary name, so a failed command leaves no truncated file behind. */
export async function writeFileWhole(
  path: string,
  fill: (out: NodeJS.WritableStream) => Promise<void>,
): Promise<void> {
  const partial = `${path}.partial-${process.pid}`;
  const out = createWriteStream(partial);
  try {
    await fill(out);
    out.end();
    await finished(out);
    await rename(partial, path);
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

/** Gathers small pieces (CSV or JSON lines) into larger writes. */
export class Chunked {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  async push(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await write(text, this.stream);
  }
}

/** Resolves once stdout has handed over everything written to it. */
export async function finishOutput(): Promise<void> {
  if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
}

/** Notes for the person at the terminal (what happened, hints): stderr, so stdout stays the result. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

// No lines between rows, no colours: output is often long, piped or logged.
const COMPACT = {
  chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  style: { head: [], border: [] },
};

/** A table with a header row. */
export function renderTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const table = new Table({ head: [...head], ...COMPACT });
  for (const row of rows) table.push([...row]);
  return `${table.toString()}\n`;
}

/** Name / value pairs, one per line of a two-column table. */
export function renderPairs(pairs: readonly (readonly [string, string])[]): string {
  const table = new Table(COMPACT);
  for (const [name, value] of pairs) table.push({ [name]: value });
  return `${table.toString()}\n`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Rows per second over `ms`. */
export function formatRate(rows: number, ms: number): string {
  return `${formatCount(Math.round(rows / Math.max(ms / 1000, 0.001)))} rows/s`;
}

/** A cell of a table: null as NULL (an empty string stays empty), objects as compact JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
