/** Quoting for values put into DuckDB SQL text (paths, names): never concatenate them raw. */

/** A SQL string literal: `'…'` with quotes doubled; refuses NUL, which DuckDB would cut at. */
export function sqlString(value: string): string {
  if (value.includes('\u0000')) throw new RangeError('a SQL string literal cannot hold NUL');
  return `'${value.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier: `"…"` with quotes doubled. */
export function sqlIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\u0000')) throw new RangeError(`invalid SQL identifier ${name}`);
  return `"${name.replaceAll('"', '""')}"`;
}
