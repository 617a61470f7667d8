/**
 * The columns of a CSV header or an Arrow schema against the import's options: the time column is
 * there, every other name is valid and unique (ignoring case, as the server does), and what
 * `--tags` and `--types` name exists.
 */
import { MAX_COLUMNS, nameProblem } from './names.js';
import type { ColumnType, ImportOptions, Role } from './plan.js';
import type { Problems } from './problems.js';

export interface PlannedColumn {
  /** Position in the file. */
  index: number;
  name: string;
  /** The role --tags gives it; undefined without --tags (string columns become tags). */
  role: Role | undefined;
  /** The type --types gives it (tags are strings). */
  forced: ColumnType | undefined;
}

export interface HeaderPlan {
  timeIndex: number;
  columns: PlannedColumn[];
}

export function planHeader(
  names: readonly string[],
  options: ImportOptions,
  problems: Problems,
): HeaderPlan | undefined {
  const before = problems.count;
  const timeIndex = names.indexOf(options.timeColumn);
  if (timeIndex < 0) {
    problems.add(
      `no time column ${JSON.stringify(options.timeColumn)} among the columns ${names.map((n) => JSON.stringify(n)).join(', ')} (--time-column names it)`,
    );
    return undefined;
  }
  if (names.length - 1 > MAX_COLUMNS) {
    problems.add(`${names.length - 1} columns besides time, above the server's limit of ${MAX_COLUMNS}`);
  }
  const tags = options.tags ? new Set(options.tags) : undefined;
  const seen = new Map<string, string>();
  const columns: PlannedColumn[] = [];
  names.forEach((name, index) => {
    if (index === timeIndex) return;
    const invalid = nameProblem('column', name);
    if (invalid) problems.add(`column ${index + 1}: ${invalid}`);
    const lower = name.toLowerCase();
    if (lower === 'time') {
      problems.add(
        `column ${JSON.stringify(name)} would clash with the time column, which Weir stores as "time"; rename it`,
      );
    }
    const twin = seen.get(lower);
    if (twin !== undefined) {
      problems.add(
        `columns ${JSON.stringify(twin)} and ${JSON.stringify(name)} have the same name (names ignore case)`,
      );
    }
    seen.set(lower, name);
    const role = tags ? (tags.has(name) ? 'tag' : 'field') : undefined;
    const forced = role === 'tag' ? 'string' : options.types.get(name);
    columns.push({ index, name, role, forced });
  });
  const others = new Set(columns.map((c) => c.name));
  for (const tag of tags ?? []) {
    if (!others.has(tag))
      problems.add(`--tags names ${JSON.stringify(tag)}, which is not a column besides time`);
  }
  for (const [name, type] of options.types) {
    if (!others.has(name))
      problems.add(`--types names ${JSON.stringify(name)}, which is not a column besides time`);
    else if (tags?.has(name) && type !== 'string')
      problems.add(`--types makes tag ${name} a ${type}; tags are strings`);
  }
  return problems.count === before ? { timeIndex, columns } : undefined;
}
