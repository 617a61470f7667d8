/**
 * Lineage node ids as the server names them: `db.table` for tables, `db.table/date=…/hour=…` for
 * partitions. A node's label splits the partition onto its own line.
 */

export interface LineageRoot {
  readonly table: string;
  readonly partition?: string;
}

export function rootOf(id: string): LineageRoot {
  const slash = id.indexOf('/');
  return slash < 0 ? { table: id } : { table: id.slice(0, slash), partition: id.slice(slash + 1) };
}

export function nodeLines(id: string): string[] {
  const { table, partition } = rootOf(id);
  return partition ? [table, partition] : [table];
}
