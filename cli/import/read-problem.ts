/** A failure to read a file (not its contents being wrong) as a problem; anything else is rethrown. */
import { EncodingError } from './source.js';

export function readProblem(error: unknown): string {
  if (error instanceof EncodingError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') throw error;
  const what = code.startsWith('Z_') ? 'not a valid gzip file' : 'cannot read the file';
  return `${what}: ${(error as Error).message}`;
}
