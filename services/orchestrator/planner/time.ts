/**
 * Time arithmetic of the planner. Every instant comes from the trigger (its logical time) or
 * from the catalog (partition names, file min/max times, commit timestamps); nothing here
 * consults a clock or the machine's time zone.
 */
import { paths } from '../../../catalog/index.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const DAY_US = 86_400_000_000;

/** Latest instant (ms) whose microseconds still fit a safe integer (the catalog's time unit). */
export const MAX_LOGICAL_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/**
 * `YYYY-MM-DDTHH:MM[:SS[.fraction]]` with a mandatory zone (`Z` or `±HH:MM`). A zone is
 * required because a date-time without one means *local* time in JavaScript, which would
 * make the plan depend on the machine's time zone.
 */
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2}))$/;

/** Parses an ISO-8601 instant to epoch milliseconds, or answers why it cannot. */
export function parseInstant(text: string): { ms: number } | { error: string } {
  const m = ISO_RE.exec(text);
  if (!m) {
    return { error: 'must be an ISO-8601 date-time with a zone, e.g. 2026-03-01T05:00:00Z' };
  }
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const fraction = m[7] ?? '';
  if (fraction.length > 3 && /[1-9]/.test(fraction.slice(3))) {
    return { error: 'has sub-millisecond precision' };
  }
  const millis = Number(fraction.slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) {
    return { error: 'is not a valid date-time' };
  }
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0–99 to 1900–1999; such years are refused below anyway.
  const check = new Date(local);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return { error: 'is not a valid date-time' };
  }
  let offsetMinutes = 0;
  if (m[8] !== 'Z') {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return { error: 'has an invalid zone offset' };
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const ms = local - offsetMinutes * 60_000;
  if (ms < 0 || ms > MAX_LOGICAL_MS) return { error: 'is out of range (1970 to 2255)' };
  return { ms };
}

/** The canonical text of an instant: `toISOString()` form (UTC, milliseconds). */
export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

/** Epoch ms of a canonical logical time (already validated by the trigger schema). */
export function msOf(logicalTime: string): number {
  const parsed = parseInstant(logicalTime);
  if ('error' in parsed) throw new TypeError(`logical time ${logicalTime} ${parsed.error}`);
  return parsed.ms;
}

/** Start and end (exclusive) of a partition (`date=…/hour=…` or `date=…`), in epoch ms. */
export function partitionBoundsMs(partition: string): { startMs: number; endMs: number } {
  const ref = paths.parsePartitionPath(partition);
  const [year, month, day] = ref.date.split('-').map(Number) as [number, number, number];
  const dayStart = Date.UTC(year, month - 1, day);
  if (ref.hour === undefined) return { startMs: dayStart, endMs: dayStart + DAY_MS };
  const startMs = dayStart + ref.hour * HOUR_MS;
  return { startMs, endMs: startMs + HOUR_MS };
}
