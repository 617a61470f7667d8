/**
 * Processes named by pid files (the data directory's lock, the private Redis's owner): whether the
 * pid a file holds still runs.
 */
import { readFile } from 'node:fs/promises';

/** The pid `file` holds; undefined when it holds none. Throws when the file cannot be read. */
export async function readPidFile(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8')).trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether a process of this pid runs (one of another user's, which we may not signal, does). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
