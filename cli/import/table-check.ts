/**
 * The file's columns against the tables they go into, before the first row is sent: an existing
 * column keeps its type on the server, and a request that breaks that is refused. Refused in the
 * middle of an import, it would leave the import half done; asked up front, it stops it whole.
 * Types are read from an empty query (`SELECT * … LIMIT 0`) since the API lists no column types;
 * roles (tag or field) are not visible that way, so a role conflict is still the server's to find.
 */
import { type DataType, DataType as DT } from 'apache-arrow';
import { NotFoundError, type WeirClient } from '../../sdk/index.js';
import type { ColumnType, FileTable } from './plan.js';
import type { Problems } from './problems.js';

export async function checkTables(
  client: WeirClient,
  database: string,
  tables: readonly FileTable[],
  problems: Problems,
): Promise<void> {
  for (const table of tables) {
    const existing = await existingColumns(client, database, table.table);
    if (!existing) continue;
    for (const column of table.columns) {
      const current = existing.get(column.name.toLowerCase());
      if (!current) continue;
      const where = `column ${column.name} of ${database}.${table.table}`;
      if (current.name !== column.name) {
        problems.add(
          `${where}: the table has it as ${current.name} (column names ignore case; use the same spelling)`,
        );
      } else if (current.type !== column.type && !(current.type === 'float64' && column.type === 'int64')) {
        problems.add(`${where} is ${current.type} in the table, but the file holds ${column.type} values`);
      } else if (current.type === 'float64' && column.type === 'int64' && column.unsafeInt) {
        problems.add(
          `${where} is float64 in the table, but the file holds integers beyond 2^53 it cannot hold exactly`,
        );
      }
    }
  }
}

type Existing = Map<string, { name: string; type: ColumnType | 'timestamp' | 'other' }>;

/** The table's columns by lower-case name; undefined when the table does not exist yet. */
async function existingColumns(
  client: WeirClient,
  database: string,
  table: string,
): Promise<Existing | undefined> {
  try {
    const answer = await client.queryArrow(`SELECT * FROM "${database}"."${table}" LIMIT 0`, { database });
    return new Map(
      answer.schema.fields.map((f) => [f.name.toLowerCase(), { name: f.name, type: typeOf(f.type) }]),
    );
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

function typeOf(type: DataType): ColumnType | 'timestamp' | 'other' {
  if (DT.isTimestamp(type)) return 'timestamp';
  if (DT.isFloat(type)) return 'float64';
  if (DT.isInt(type)) return 'int64';
  if (DT.isBool(type)) return 'bool';
  if (DT.isUtf8(type) || DT.isLargeUtf8(type) || DT.isDictionary(type)) return 'string';
  return 'other';
}
