/**
 * RFC 3339 times with a zone (`2024-05-01T12:00:00.123456Z`, `…+02:00`), read field by field so an
 * impossible date is refused instead of rolled over as `Date.UTC` would. The server's decoders and
 * the CLI's importer share it; each adds its own range checks and messages.
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export interface Rfc3339Time {
  /** The whole second, zone applied, as milliseconds since the epoch (negative before 1970). */
  epochMs: number;
  /** Microseconds past that second, 0–999,999; digits past the microsecond are dropped. */
  micros: number;
}

/**
 * The time `text` names: `'format'` when it is not RFC 3339 with a zone, `'calendar'` when it
 * names no such date or time of day (February 30th, 24:00, a 60th second).
 */
export function parseRfc3339(text: string): Rfc3339Time | 'format' | 'calendar' {
  const m = RFC3339.exec(text);
  if (!m) return 'format';
  const ms = utcMillisOf(m.slice(1, 7));
  if (ms === undefined) return 'calendar';
  const offsetMinutes = m[9] ? (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) : 0;
  return {
    epochMs: ms - offsetMinutes * 60_000,
    micros: Number((m[7] ?? '').padEnd(6, '0').slice(0, 6)),
  };
}

/**
 * Milliseconds since the epoch of a UTC calendar time given as its digits (year, month, day, hour,
 * minute, second; missing ones are 0); undefined when there is no such date or time of day.
 */
export function utcMillisOf(fields: readonly (string | undefined)[]): number | undefined {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = fields.map((field) =>
    Number(field ?? 0),
  );
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  const same =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return same ? ms : undefined;
}
