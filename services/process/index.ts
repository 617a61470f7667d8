/**
 * Processes named by pid files (the data directory's lock, the private Redis's owner): whether the
 * process a file names still runs. A pid alone is not enough: after a crash and a restart (a
 * container's, a machine's) another process may have the recorded pid, and the file would stay
 * held for good. So the file also records when its process started, where the system says so.
 */
import { readFile, writeFile } from 'node:fs/promises';

/** A process as a pid file names it. */
export interface PidRecord {
  pid: number;
  /** The process's boot and start time (`startOf`); absent in files of systems without /proc. */
  start?: string;
}

/**
 * When process `pid` started, as `{boot id}/{start time in clock ticks}` from Linux's /proc;
 * undefined where that cannot be read (another system, a /proc mounted with `hidepid`, a pid
 * that is gone).
 */
export async function startOf(pid: number): Promise<string | undefined> {
  try {
    const [boot, stat] = await Promise.all([
      readFile('/proc/sys/kernel/random/boot_id', 'utf8'),
      readFile(`/proc/${pid}/stat`, 'utf8'),
    ]);
    // The command name in parentheses may hold spaces and parentheses: count fields after the last.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start === undefined ? undefined : `${boot.trim()}/${start}`;
  } catch {
    return undefined;
  }
}

/** Writes this process's pid file: its pid, then its start on a second line where known. */
export async function writePidFile(file: string): Promise<void> {
  const start = await startOf(process.pid);
  await writeFile(file, start === undefined ? `${process.pid}\n` : `${process.pid}\n${start}\n`);
}

/** The process `file` names; undefined when it names none. Throws when the file cannot be read. */
export async function readPidFile(file: string): Promise<PidRecord | undefined> {
  const [pidLine = '', start] = (await readFile(file, 'utf8')).trim().split('\n');
  const pid = Number(pidLine.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return start?.trim() ? { pid, start: start.trim() } : { pid };
}

/**
 * Whether the process a pid file names still runs: its pid runs (one of another user's, which we
 * may not signal, does) and, when the file recorded its start, that pid started then.
 */
export async function isRunning(record: PidRecord): Promise<boolean> {
  if (!pidRuns(record.pid)) return false;
  if (record.start === undefined) return true;
  const start = await startOf(record.pid);
  // Unreadable now (hidepid, another system): keep the conservative answer, the pid runs.
  return start === undefined || start === record.start;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
