/**
 * The document shapes MessagePack and JSON share (ARC-COMPAT "Writes"): one item, an array of items or
 * `{"batch": [...]}`, each item columnar (`{m, columns, tags?}`) or a row (`{m, t?, h?, tags?, fields|f}`).
 * The formats differ only in how bytes become the document, and in JSON's RFC 3339 time strings.
 *
 * Columnar items go column by column into typed arrays (no per-row objects); rows go cell by cell.
 * Numbers are typed per request: a column whose values are all integers is int64, one float makes it
 * float64. MessagePack says which values are floats (a whole one arrives as a `WholeFloat`, see
 * msgpack-reader.ts); JSON cannot, so there a whole number such as `1.0` counts as an integer.
 */
import type { ColumnRole, DecodeContext, TableBatch } from '../batch.js';
import { IngestError, locate, show } from '../errors.js';
import {
  assertColumnName,
  BatchBuilder,
  type ColumnBuilder,
  type ColumnKind,
  type TableBuilder,
} from './builder.js';
import { inferUnit, TimeUnitCheck, toMicros } from './time.js';

export interface ItemFormat {
  /** Code of a malformed document. */
  readonly code: 'INVALID_MSGPACK' | 'INVALID_JSON';
  /** Name of the format in messages. */
  readonly name: string;
  /** Parses a time given as a string; without it only epoch numbers are times. */
  readonly timeString?: (text: string) => number | bigint;
}

type Item = Record<string, unknown>;

/**
 * A float whose value is whole (`1.0`), as MessagePack sends it: it types its column float64 where
 * the integer 1 would type it int64. Floats with a fraction are plain numbers (no integer has one).
 */
export class WholeFloat {
  constructor(readonly value: number) {}
}

/** A document value as messages show it. */
function shown(value: unknown): string {
  return show(value instanceof WholeFloat ? value.value : value);
}

/** A map of the document: a plain object (not an array, binary or WholeFloat). */
function isMap(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** The tables a parsed MessagePack or JSON document writes. */
export function decodeItems(document: unknown, ctx: DecodeContext, format: ItemFormat): TableBatch[] {
  const items = topLevelItems(document, format);
  const decoder = new ItemDecoder(ctx, format);
  for (let i = 0; i < items.length; i++) {
    try {
      decoder.item(items[i], i);
    } catch (error) {
      const item = items[i];
      const table = isMap(item) && typeof item.m === 'string' ? ` (table ${show(item.m)})` : '';
      throw locate(error, `item ${i + 1}${table}`);
    }
  }
  const batches = decoder.batch.finish();
  // Like an empty body (decodeBody): a write that carries no row is a client mistake, not a no-op.
  if (batches.length === 0)
    throw new IngestError(
      'EMPTY_BODY',
      `the ${format.name} body holds no rows: send at least one item with a row or non-empty columns`,
    );
  return batches;
}

function topLevelItems(document: unknown, format: ItemFormat): readonly unknown[] {
  if (Array.isArray(document)) return document;
  if (isMap(document)) {
    if (!('batch' in document) || 'm' in document) return [document];
    if (Array.isArray(document.batch)) return document.batch;
    throw new IngestError(format.code, `"batch" must be an array of items, not ${shown(document.batch)}`);
  }
  throw new IngestError(
    format.code,
    `the ${format.name} body must be a map, an array of maps or {"batch": [...]}, not ${shown(document)}`,
  );
}

class ItemDecoder {
  readonly batch: BatchBuilder;
  private readonly timeChecks = new Map<TableBuilder, TimeUnitCheck>();

  constructor(
    private readonly ctx: DecodeContext,
    private readonly format: ItemFormat,
  ) {
    this.batch = new BatchBuilder(ctx.database, ctx.limits);
  }

  private fail(message: string): IngestError {
    return new IngestError(this.format.code, message);
  }

  item(item: unknown, index: number): void {
    if (!isMap(item)) throw this.fail(`not a map but ${shown(item)}`);
    if (typeof item.m !== 'string') throw this.fail(`"m" (the table name) is missing or not a string`);
    const table = this.batch.table(item.m);
    if (item.columns !== undefined) this.columnar(table, item, index);
    else if (item.fields !== undefined || item.f !== undefined) this.row(table, item, index);
    else throw this.fail('has neither "columns" (columnar form) nor "fields" (row form)');
  }

  /**
   * Epoch number or time string → microseconds, with the per-table unit check. `row` is the index in
   * a columnar item's time column, or -1 for a row item.
   */
  private time(table: TableBuilder, value: unknown, item: number, row: number): number | bigint {
    if (value instanceof WholeFloat) value = value.value;
    else if (typeof value === 'bigint') {
      // Epoch integers arrive as bigint (int64AsType); below 2^53 they are exact as numbers, whose
      // unit inference and scaling cost a fraction of bigint arithmetic.
      const exact = Number(value);
      if (exact >= 0 && exact <= Number.MAX_SAFE_INTEGER) value = exact;
    }
    if (typeof value === 'number' || typeof value === 'bigint') {
      const unit = inferUnit(value);
      let check = this.timeChecks.get(table);
      if (check === undefined) {
        check = new TimeUnitCheck(table.table);
        this.timeChecks.set(table, check);
      }
      if (unit !== check.unit)
        check.check(unit, value, () => (row < 0 ? `item ${item + 1}` : `item ${item + 1} row ${row + 1}`));
      return toMicros(value, unit);
    }
    if (typeof value === 'string' && this.format.timeString) return this.format.timeString(value);
    const expected = this.format.timeString ? 'an epoch number or an RFC 3339 string' : 'an epoch number';
    throw new IngestError('INVALID_TIME', `time ${shown(value)} is not ${expected}`);
  }

  private columnar(table: TableBuilder, item: Item, index: number): void {
    const columns = item.columns;
    if (!isMap(columns)) throw this.fail(`"columns" is not a map of arrays but ${shown(columns)}`);
    const tags = this.tagList(item.tags, columns);
    const names = Object.keys(columns);
    let rows = -1;
    let first = '';
    for (const name of names) {
      const values = columns[name];
      if (!Array.isArray(values)) throw this.fail(`column ${name} is not an array but ${shown(values)}`);
      if (rows === -1) {
        rows = values.length;
        first = name;
      } else if (values.length !== rows) {
        throw new IngestError(
          'COLUMN_LENGTH_MISMATCH',
          `column ${name} has ${values.length} values but column ${first} has ${rows}; all columns need the same length`,
        );
      }
    }
    if (rows <= 0) return;
    const base = table.addRows(rows);
    const times = columns.time as unknown[] | undefined;
    for (let r = 0; r < rows; r++) {
      try {
        table.setTime(base + r, times ? this.time(table, times[r], index, r) : this.ctx.nowMicros);
      } catch (error) {
        throw locate(error, `row ${r + 1}`);
      }
    }
    for (const name of names) {
      if (name !== 'time') this.column(table, name, columns[name] as unknown[], base, tags, index);
    }
  }

  /** A columnar item's `tags` list (Weir's extension), checked against its columns. */
  private tagList(tags: unknown, columns: Item): Set<string> | undefined {
    if (tags === undefined) return undefined;
    if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string')) {
      throw this.fail(`"tags" of a columnar item must be a list of column names, not ${shown(tags)}`);
    }
    for (const tag of tags as string[]) {
      if (!Object.hasOwn(columns, tag) || tag === 'time') {
        throw this.fail(`"tags" names ${show(tag)}, which is not a column of the item`);
      }
    }
    return new Set(tags as string[]);
  }

  private column(
    table: TableBuilder,
    name: string,
    values: unknown[],
    base: number,
    tags: Set<string> | undefined,
    index: number,
  ): void {
    const kind = columnKind(table, name, values);
    if (kind === undefined) {
      assertColumnName(name, table.table); // only nulls: nothing to write and no type, but a name
      return;
    }
    let role: ColumnRole = 'field';
    let declared = true;
    if (tags?.has(name)) {
      if (kind !== 'string') {
        throw new IngestError(
          'TYPE_CONFLICT',
          `column ${name} of table ${table.table} is listed in "tags" but holds ${kind === 'number' ? 'numbers' : 'booleans'}; tags are strings`,
        );
      }
      role = 'tag';
    } else if (kind === 'string' && tags === undefined) {
      role = 'tag';
      declared = false;
    }
    const column = table.column(name, kind, role, declared, () => `item ${index + 1}`);
    const rows = values.length;
    column.reserve(base + rows);
    let r = 0;
    try {
      for (; r < rows; r++) {
        const value = values[r];
        if (value === null || value === undefined) continue;
        if (kind === 'number') setNumber(column, base + r, value, table, name);
        else if (kind === 'string') column.setString(base + r, value as string);
        else column.setBool(base + r, value as boolean);
      }
    } catch (error) {
      throw locate(error, `row ${r + 1}`);
    }
  }

  private row(table: TableBuilder, item: Item, index: number): void {
    const fields = item.fields ?? item.f;
    if (!isMap(fields)) throw this.fail(`"fields" is not a map but ${shown(fields)}`);
    const tags = item.tags ?? {};
    if (!isMap(tags)) throw this.fail(`"tags" of a row item must be a map, not ${shown(tags)}`);
    const row = table.addRows(1);
    const where = () => `item ${index + 1}`;
    table.setTime(
      row,
      item.t === undefined || item.t === null ? this.ctx.nowMicros : this.time(table, item.t, index, -1),
    );
    if (item.h !== undefined && item.h !== null) this.tag(table, row, 'host', item.h, where);
    for (const name in tags) this.tag(table, row, name, tags[name], where);
    let count = 0;
    for (const name in fields) {
      const value = fields[name];
      if (value === null || value === undefined) continue;
      const kind = valueKind(value);
      if (kind === undefined) throw invalidValue(table, name, value);
      if (table.get(name)?.lastRow === row) throw duplicate(table, name);
      const column = table.column(name, kind, 'field', true, where);
      if (kind === 'number') setNumber(column, row, value, table, name);
      else if (kind === 'string') column.setString(row, value as string);
      else column.setBool(row, value as boolean);
      count++;
    }
    if (count === 0) throw this.fail('a row needs at least one field that is not null');
  }

  private tag(table: TableBuilder, row: number, name: string, value: unknown, where: () => string): void {
    if (value === null || value === undefined) return;
    if (typeof value !== 'string') {
      throw new IngestError(
        'INVALID_VALUE',
        `tag ${name} of table ${table.table}: value ${shown(value)} is not a string; tags are strings`,
      );
    }
    if (table.get(name)?.lastRow === row) throw duplicate(table, name);
    table.column(name, 'string', 'tag', true, where).setString(row, value);
  }
}

function valueKind(value: unknown): ColumnKind | undefined {
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    default:
      return value instanceof WholeFloat ? 'number' : undefined;
  }
}

const KIND_WORDS: Record<string, string> = { number: 'a number', string: 'a string', bool: 'a boolean' };

/** The kind of a columnar item's column, from all its values; undefined when all are null. */
function columnKind(table: TableBuilder, name: string, values: unknown[]): ColumnKind | undefined {
  let kind: ColumnKind | undefined;
  let first = -1;
  for (let r = 0; r < values.length; r++) {
    const value = values[r];
    if (value === null || value === undefined) continue;
    const k = valueKind(value);
    if (k === undefined) throw locate(invalidValue(table, name, value), `row ${r + 1}`);
    if (k === kind) continue;
    if (kind === undefined) {
      kind = k;
      first = r;
      continue;
    }
    throw new IngestError(
      'TYPE_CONFLICT',
      `column ${name} of table ${table.table} mixes types: row ${r + 1} holds ${KIND_WORDS[k]} (${shown(value)}) ` +
        `but row ${first + 1} holds ${KIND_WORDS[kind]} (${shown(values[first])})`,
      400,
      { table: table.table, column: name },
    );
  }
  return kind;
}

/** A value of a `number` column: an integer (number or bigint) or a float (number or WholeFloat). */
function setNumber(
  column: ColumnBuilder,
  row: number,
  value: unknown,
  table: TableBuilder,
  name: string,
): void {
  if (typeof value === 'number') column.setNumber(row, finite(value, table, name));
  else if (typeof value === 'bigint') column.setNumberBig(row, value);
  else column.setFloatNumber(row, (value as WholeFloat).value);
}

function finite(value: number, table: TableBuilder, name: string): number {
  if (Number.isFinite(value)) return value;
  throw new IngestError(
    'INVALID_VALUE',
    `column ${name} of table ${table.table}: ${value} is not a finite number`,
  );
}

function invalidValue(table: TableBuilder, name: string, value: unknown): IngestError {
  return new IngestError(
    'INVALID_VALUE',
    `column ${name} of table ${table.table}: ${show(value)} is not a number, string, boolean or null`,
    400,
    { table: table.table, column: name },
  );
}

function duplicate(table: TableBuilder, name: string): IngestError {
  return new IngestError(
    'DUPLICATE_COLUMN',
    `column ${name} of table ${table.table} appears twice in one row (as a tag and a field, or as "h" and tag host)`,
    400,
    { table: table.table, column: name },
  );
}
