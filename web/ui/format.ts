/** How numbers, sizes, durations and times read on screen. */

const integer = new Intl.NumberFormat('en-US');

export const formatCount = (n: number): string => integer.format(n);

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const UTC_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** `2024-05-01 12:00:00.250` in UTC (the lake's partitions and times are UTC); whole seconds drop `.000`. */
export function formatTime(time: string | number | Date | undefined | null): string {
  if (time === undefined || time === null || time === '') return '';
  // UTC text keeps its digits (microseconds): Date would cut them to milliseconds.
  if (typeof time === 'string' && UTC_TEXT.test(time)) return time.replace('T', ' ').replace(/(\.0+)?Z$/, '');
  const date = time instanceof Date ? time : new Date(time);
  if (Number.isNaN(date.getTime())) return String(time);
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/(\.000)?Z$/, '');
}

/** Milliseconds between two times, or undefined when either is missing. */
export function elapsedMs(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  return Date.parse(to) - Date.parse(from);
}

/** A SQL identifier, double-quoted (`default` is a keyword; names may hold `-`). */
export const quotedName = (name: string) => `"${name.replaceAll('"', '""')}"`;
