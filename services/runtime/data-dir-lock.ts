/**
 * One process at a time owns a data directory's node-local state: the WAL (whose start-up recovery
 * stages and deletes every segment it finds), the query spill directory and the private Redis
 * (ADR 0017 addendum), and a WAL directory configured outside it. The lock is a file naming the
 * owner (pid and start, `services/process`); one whose owner is gone (a `kill -9`, a restart that
 * gave its pid to another process) is taken over.
 */
import { link, mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isRunning, type PidRecord, readPidFile, writePidFile } from '../process/index.js';

/** Another live process holds the directory; the message names it and the pid. */
export class DataDirInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  /** Removes the lock file if it is still this process's. */
  release(): Promise<void>;
}

const LOCK_FILE = 'weir.lock';

/** Locks `directory`; `what` names it in the refusal ("data directory", "WAL directory"). */
export async function lockDirectory(directory: string, what: string): Promise<DataDirLock> {
  const dir = resolve(directory);
  await mkdir(dir, { recursive: true });
  const lockPath = join(dir, LOCK_FILE);
  // link() of a complete file publishes the pid atomically: a reader never sees an empty lock.
  const claim = `${lockPath}.${process.pid}`;
  const aside = `${lockPath}.stale.${process.pid}`;
  await writePidFile(claim);
  try {
    for (;;) {
      try {
        await link(claim, lockPath);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readPidFile(lockPath).catch(ignoreMissing);
      if (holder === null) continue; // released meanwhile
      // Our own pid is a previous life of this process (a container restarted with the same pid).
      if (holder !== undefined && holder.pid !== process.pid && (await isRunning(holder))) {
        throw new DataDirInUseError(
          `the ${what} ${dir} is in use by another weir (pid ${holder.pid}); stop it or use another ${what}`,
        );
      }
      // Stale. Move it aside rather than unlink it: if another starter replaced it in the meantime,
      // what was moved is that starter's live lock, which goes back in place.
      if ((await rename(lockPath, aside).catch(ignoreMissing)) === null) continue;
      if (!sameProcess(await readPidFile(aside).catch(ignoreMissing), holder))
        await link(aside, lockPath).catch(() => {});
      await rm(aside, { force: true });
    }
  } finally {
    await rm(claim, { force: true });
  }
  return {
    release: async () => {
      if ((await readPidFile(lockPath).catch(ignoreMissing))?.pid === process.pid)
        await rm(lockPath, { force: true });
    },
  };
}

function sameProcess(a: PidRecord | null | undefined, b: PidRecord | undefined): boolean {
  return a?.pid === b?.pid && a?.start === b?.start;
}

/** `null` for a file that is not there (any other error is thrown). */
function ignoreMissing(error: NodeJS.ErrnoException): null {
  if (error.code === 'ENOENT') return null;
  throw error;
}
