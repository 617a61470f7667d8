/**
 * Record batches of an Arrow IPC file (file or stream format, told apart by apache-arrow) and of a
 * Parquet file (parquet-wasm, reading from disk as it goes rather than loading the whole file).
 */
import { createReadStream, openAsBlob } from 'node:fs';
import { type RecordBatch, RecordBatchReader, tableFromIPC } from 'apache-arrow';
import type * as parquet from 'parquet-wasm';
import type { FileFormat } from './plan.js';

/** A file that is not what its format says; the message says what the reader found. */
export class CorruptFileError extends Error {}

export function recordBatches(
  format: Extract<FileFormat, 'arrow' | 'parquet'>,
  path: string,
  batchSize: number,
): AsyncGenerator<RecordBatch> {
  return format === 'arrow' ? arrowBatches(path) : parquetBatches(path, batchSize);
}

async function* arrowBatches(path: string): AsyncGenerator<RecordBatch> {
  yield* readAs('Arrow IPC', async function* () {
    const reader = await RecordBatchReader.from(createReadStream(path));
    for await (const batch of reader) yield batch;
  });
}

async function* parquetBatches(path: string, batchSize: number): AsyncGenerator<RecordBatch> {
  // parquet-wasm compiles its WebAssembly when loaded: only Parquet imports pay for it.
  const { ParquetFile } = await import('parquet-wasm');
  const traps = catchTraps();
  try {
    yield* readAs('Parquet', async function* () {
      const file = await traps.race(ParquetFile.fromFile(await openAsBlob(path)));
      const stream = (await traps.race(file.stream({ batchSize }))) as ReadableStream<parquet.RecordBatch>;
      const reader = stream.getReader();
      for (;;) {
        const next = await traps.race(reader.read());
        if (next.done) return;
        yield* tableFromIPC(next.value.intoIPCStream()).batches;
      }
    });
  } finally {
    traps.release();
  }
}

/**
 * parquet-wasm decodes in futures: corrupt data makes its WebAssembly trap there, which surfaces as
 * an uncaught exception rather than a rejected read. While a file is read, such a trap fails the
 * pending read instead; any other uncaught exception keeps its usual course.
 */
function catchTraps() {
  let fail: (error: unknown) => void = () => undefined;
  const trapped = new Promise<never>((_, reject) => {
    fail = reject;
  });
  trapped.catch(() => undefined);
  const onUncaught = (error: unknown) => {
    if (isTrap(error)) return fail(error);
    process.off('uncaughtException', onUncaught);
    queueMicrotask(() => {
      throw error;
    });
  };
  process.on('uncaughtException', onUncaught);
  return {
    race: <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, trapped]),
    release: () => process.off('uncaughtException', onUncaught),
  };
}

/** Reader failures as CorruptFileError; the readers' messages are terse, so the format is named. */
async function* readAs(format: string, read: () => AsyncGenerator<RecordBatch>): AsyncGenerator<RecordBatch> {
  try {
    yield* read();
  } catch (error) {
    // A failing disk is not a corrupt file.
    if ((error as NodeJS.ErrnoException).syscall) throw error;
    const message = isTrap(error)
      ? `its decoder failed on the data (${error.message}); the file is corrupt or truncated`
      : error instanceof Error
        ? error.message
        : String(error);
    throw new CorruptFileError(`not a valid ${format} file: ${message.slice(0, 300)}`);
  }
}

/** A WebAssembly trap (a Rust panic in parquet-wasm), whose class the TypeScript lib here does not name. */
function isTrap(error: unknown): error is Error {
  return error instanceof Error && error.name === 'RuntimeError';
}
