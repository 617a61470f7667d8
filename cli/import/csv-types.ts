/**
 * The type of a CSV column, decided over the whole file: the first value says integer, float,
 * boolean or text; integers widen to float when a float appears; and a later value of another kind
 * in a number or boolean column is a problem, not a silent switch to text (it is how a corrupt or
 * shifted row shows). `--types name:string` imports such a column as text. An empty field is a
 * missing value.
 */
import { MAX_STRING_BYTES, MAX_TAG_BYTES } from './names.js';
import type { ColumnType, Role } from './plan.js';
import { show } from './time.js';

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)$/i;
const BOOL = /^(?:true|false)$/i;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

type ValueKind = 'int' | 'float' | 'bool' | 'text';

const TYPE_OF: Record<ValueKind, ColumnType> = {
  int: 'int64',
  float: 'float64',
  bool: 'bool',
  text: 'string',
};
const HOLDS: Record<ColumnType, string> = {
  int64: 'integers',
  float64: 'numbers',
  bool: 'booleans (true/false)',
  string: 'text',
};

function kindOf(value: string): ValueKind {
  if (INT.test(value)) return 'int';
  if (FLOAT.test(value)) return 'float';
  if (BOOL.test(value)) return 'bool';
  return 'text';
}

/** Whether an integer's text fits int64 (short ones always do). */
function fitsInt64(text: string): boolean {
  if (text.length < 19) return true;
  const value = BigInt(text);
  return value >= INT64_MIN && value <= INT64_MAX;
}

export class ColumnScan {
  type: ColumnType | undefined;
  /** Whether some integer is beyond 2^53, where float64 stops being exact. */
  unsafeInt = false;
  private first = '';

  constructor(
    readonly name: string,
    /** From --tags; undefined: a string column is a tag. */
    private readonly declaredRole: Role | undefined,
    private readonly forced: ColumnType | undefined,
  ) {
    this.type = forced;
  }

  get role(): Role {
    return this.declaredRole ?? (this.type === 'string' ? 'tag' : 'field');
  }

  /** Checks one non-empty value; answers the problem with it, if any. */
  check(value: string, line: number): string | undefined {
    const type = this.type;
    if (type === 'string') return this.checkLength(value);
    const kind = kindOf(value);
    if (type === undefined) {
      this.type = TYPE_OF[kind];
      this.first = `line ${line}: ${show(value)}`;
      return kind === 'int' ? this.checkInt(value) : kind === 'text' ? this.checkLength(value) : undefined;
    }
    if (type === 'int64' && kind === 'int') return this.checkInt(value);
    if (type === 'float64' && (kind === 'float' || kind === 'int')) return undefined;
    if (type === 'bool' && kind === 'bool') return undefined;
    if (type === 'int64' && kind === 'float' && !this.forced) {
      this.type = 'float64';
      return undefined;
    }
    if (this.forced) return `${show(value)} is not ${article(type)} (--types ${this.name}:${type})`;
    return (
      `${show(value)} is not ${article(type)}; the column holds ${HOLDS[type]} (${this.first}). ` +
      `Fix the row, or pass --types ${this.name}:string to import the column as text`
    );
  }

  private checkInt(value: string): string | undefined {
    if (value.length < 16) return undefined;
    if (!fitsInt64(value))
      return `${show(value)} is outside the int64 range (--types ${this.name}:float stores it)`;
    const big = BigInt(value);
    if (big > 2n ** 53n || big < -(2n ** 53n)) this.unsafeInt = true;
    return undefined;
  }

  private checkLength(value: string): string | undefined {
    const limit = this.role === 'tag' ? MAX_TAG_BYTES : MAX_STRING_BYTES;
    // Three bytes per UTF-16 unit at most: only long values need counting.
    if (value.length * 3 <= limit) return undefined;
    const bytes = Buffer.byteLength(value);
    if (bytes <= limit) return undefined;
    const hint =
      this.role === 'tag' ? ` (a tag; pass --tags without ${this.name} to import it as a string field)` : '';
    return `a value of ${bytes} bytes, above the server's limit of ${limit}${hint}`;
  }
}

function article(type: ColumnType): string {
  return { int64: 'an integer', float64: 'a number', bool: 'a boolean (true/false)', string: 'text' }[type];
}
