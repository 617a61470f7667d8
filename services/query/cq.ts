/** The placeholders of a continuous query (ARC-COMPAT.md): `{start_time}` and `{end_time}` of a window. */

export const CQ_PLACEHOLDERS = ['{start_time}', '{end_time}'] as const;

/** RFC 3339 text of an instant in microseconds, as the placeholders are replaced by (UTC, µs). */
export function placeholderTime(micros: number): string {
  const ms = Math.floor(micros / 1000);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(micros % 1_000_000).padStart(6, '0')}Z`;
}

/** The query of a window: placeholders replaced by its bounds (the user quotes them: `'{start_time}'`). */
export function cqSql(template: string, startUs: number, endUs: number): string {
  return template
    .replaceAll('{start_time}', placeholderTime(startUs))
    .replaceAll('{end_time}', placeholderTime(endUs));
}
