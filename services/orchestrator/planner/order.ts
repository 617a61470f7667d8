/** Total orders the planner sorts by: code-unit string order, never the locale's. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Oldest commit first, then path: the order a deduplicating compaction reads files in. */
export function compareByCommit(versionA: number, pathA: string, versionB: number, pathB: string): number {
  return versionA - versionB || compareText(pathA, pathB);
}

/** Zero-padded index for task keys, so their text order is their numeric order. */
export function padIndex(i: number): string {
  return String(i).padStart(6, '0');
}
