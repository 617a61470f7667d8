/**
 * Where an import's bytes come from: a file (read again for each pass, gunzipped when it ends in
 * .gz) or stdin (held in memory, since it can be read only once), and the format its name implies.
 */
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { FileFormat } from './plan.js';

export interface Source {
  /** For messages: the path, or "stdin". */
  name: string;
  /** The file on disk, for readers that need random access (Parquet, Arrow files). */
  path: string | undefined;
  /** Stored bytes, for progress. */
  size: number;
  /** A fresh read of the (decompressed) bytes; `onRead` gets the stored bytes read so far. */
  open(onRead?: (bytes: number) => void): AsyncGenerator<Uint8Array>;
}

const EXTENSIONS: Record<string, FileFormat> = {
  csv: 'csv',
  lp: 'lp',
  line: 'lp',
  influx: 'lp',
  parquet: 'parquet',
  pq: 'parquet',
  arrow: 'arrow',
  arrows: 'arrow',
  ipc: 'arrow',
  feather: 'arrow',
};

/** The format a file name says, ignoring a trailing .gz; undefined when it says none. */
export function formatOf(path: string): FileFormat | undefined {
  const extension = /\.([A-Za-z0-9]+)$/.exec(withoutGz(basename(path)))?.[1]?.toLowerCase();
  return extension === undefined ? undefined : EXTENSIONS[extension];
}

export const KNOWN_EXTENSIONS = Object.keys(EXTENSIONS);

/** A file's name without its extensions (`cpu.csv.gz` → `cpu`): the default table. */
export function stem(path: string): string {
  return withoutGz(basename(path)).replace(/\.[^.]*$/, '');
}

function withoutGz(name: string): string {
  return name.replace(/\.gz$/i, '');
}

export function fileSource(path: string): Source {
  const size = statSync(path).size;
  const gzipped = /\.gz$/i.test(path);
  return {
    name: path,
    path: gzipped ? undefined : path,
    size,
    open: (onRead) => readFile(path, gzipped, onRead),
  };
}

export function bytesSource(name: string, bytes: Uint8Array): Source {
  return {
    name,
    path: undefined,
    size: bytes.byteLength,
    async *open(onRead) {
      onRead?.(bytes.byteLength);
      yield bytes;
    },
  };
}

async function* readFile(
  path: string,
  gzipped: boolean,
  onRead: ((bytes: number) => void) | undefined,
): AsyncGenerator<Uint8Array> {
  const counted = async function* () {
    let read = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      read += (chunk as Buffer).length;
      onRead?.(read);
      yield chunk as Buffer;
    }
  };
  if (!gzipped) {
    yield* counted();
    return;
  }
  const gunzip = createGunzip();
  const piped = pipeline(counted(), gunzip);
  // A corrupt .gz fails both the pipeline and the reading below; the reading reports it.
  piped.catch(() => undefined);
  for await (const chunk of gunzip) yield chunk as Buffer;
  await piped;
}

/** Thrown when a file is not UTF-8 text. */
export class EncodingError extends Error {}

/** The bytes as text, refusing anything that is not valid UTF-8 (naming the line and byte). */
export async function* utf8Text(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  let lines = 1;
  for await (const chunk of chunks) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      const at = Math.max(0, firstInvalid(chunk));
      throw new EncodingError(
        `line ${lines + countLines(chunk, at)}: not UTF-8 text (byte ${offset + at} is 0x${chunk[at]!.toString(16)})`,
      );
    }
    offset += chunk.byteLength;
    lines += countLines(chunk, chunk.byteLength);
    yield text;
  }
  try {
    yield decoder.decode();
  } catch {
    throw new EncodingError('not UTF-8 text: the file ends inside a character');
  }
}

function countLines(bytes: Uint8Array, end: number): number {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, end);
  let n = 0;
  for (let at = buffer.indexOf(10); at !== -1; at = buffer.indexOf(10, at + 1)) n++;
  return n;
}

/** Where the first byte that cannot start or continue a UTF-8 character is (-1: none found). */
function firstInvalid(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const size =
      b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (size === 0) return i;
    for (let k = 1; k < size && i + k < bytes.length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += size;
  }
  return -1;
}
