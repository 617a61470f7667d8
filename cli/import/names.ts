/**
 * Weir's naming rules, checked before anything is sent so a bad name stops an import up front. They
 * mirror the server's (catalog/paths.ts); the server checks again, so drifting apart cannot let a
 * bad name in, only refuse it later. Column names ignore case on the server, so duplicates do here.
 */

const RULES = {
  database: /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
  table: /^[A-Za-z][A-Za-z0-9_-]{0,127}$/,
  column: /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/,
};

export type NameKind = keyof typeof RULES;

/** Why `name` is not a valid name of its kind, or undefined when it is. */
export function nameProblem(kind: NameKind, name: string): string | undefined {
  if (RULES[kind].test(name)) return undefined;
  return `invalid ${kind} name ${JSON.stringify(name)}: it must match ${RULES[kind].source}`;
}

/** Most columns one table of a request may carry besides time (the server's maxColumns). */
export const MAX_COLUMNS = 1000;
/** Longest tag value and string field value in UTF-8 bytes (the server's limits). */
export const MAX_TAG_BYTES = 4 * 1024;
export const MAX_STRING_BYTES = 1024 * 1024;
