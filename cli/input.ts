/** Reading what a command is given on stdin. */
import { UsageError } from './errors.js';

/** All of stdin as bytes; refuses a terminal, where the command would wait for typing without saying so. */
export async function readStdin(what: string): Promise<Uint8Array> {
  if (process.stdin.isTTY)
    throw new UsageError(`no ${what} given: pass it as an argument or pipe it to stdin`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
