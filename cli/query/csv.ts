/**
 * CSV lines as Weir writes them (RFC 4180): a field is quoted when it holds a comma, a quote or a
 * line break; NULL is an empty unquoted field and an empty string is `""`, so the two stay apart.
 */

export function csvLine(values: readonly (string | null)[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

function csvField(value: string | null): string {
  if (value === null) return '';
  if (value === '') return '""';
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
