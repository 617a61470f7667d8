/** Total orders the planner sorts by: code-unit string order, never the locale's. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Least recent rows first (`fileRecency`), then path: the order a deduplicating compaction reads
 * files in, so the row it keeps is from the most recent file. Equally recent files are one task's
 * outputs `{taskId}-{n}`, whose rows follow n (a key's rows may straddle two): shorter paths first,
 * so `-9` comes before `-10`.
 */
export function compareByRecency(recencyA: number, pathA: string, recencyB: number, pathB: string): number {
  return recencyA - recencyB || pathA.length - pathB.length || compareText(pathA, pathB);
}

/** Zero-padded index for task keys, so their text order is their numeric order. */
export function padIndex(i: number): string {
  return String(i).padStart(6, '0');
}
