/**
 * CSV records of a text stream (RFC 4180): fields separated by commas, records by LF or CRLF, and
 * quoted fields that may hold commas, doubled quotes and line breaks. Lines without a quote, nearly
 * all of them in machine-written files, take a fast path (one `split`). Every record carries the
 * number of the line it starts on, for messages; blank lines are skipped.
 */

export type RecordSink = (fields: string[], line: number) => void;
export type ProblemSink = (line: number, message: string) => void;

const COMMA = 44;
const LF = 10;
const CR = 13;

type Quoted =
  | { fields: string[]; next: number; lines: number }
  | { problem: string; next: number }
  | undefined;

export class CsvSplitter {
  private rest = '';
  /** Line number of the first character of `rest`. */
  private line = 1;
  private first = true;

  constructor(
    private readonly onRecord: RecordSink,
    private readonly onProblem: ProblemSink,
  ) {}

  push(text: string): void {
    if (this.first) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.parse(this.rest + text, false);
  }

  /** The last record, which may lack its line end. */
  end(): void {
    this.parse(this.rest, true);
  }

  private parse(text: string, final: boolean): void {
    let pos = 0;
    let quote = text.indexOf('"');
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (quote !== -1 && quote < pos) quote = text.indexOf('"', pos);
      if (quote === -1 || (nl !== -1 && quote > nl)) {
        if (nl === -1) {
          if (!final) break;
          nl = text.length;
        }
        const end = nl > pos && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
        if (end > pos) this.onRecord(text.slice(pos, end).split(','), this.line);
        this.line++;
        pos = nl + 1;
        continue;
      }
      const quoted = parseQuoted(text, pos, final);
      if (!quoted) break;
      if ('problem' in quoted) {
        this.onProblem(this.line, quoted.problem);
        this.line += countLines(text, pos, quoted.next);
      } else {
        this.onRecord(quoted.fields, this.line);
        this.line += quoted.lines;
      }
      pos = quoted.next;
    }
    this.rest = text.slice(pos);
  }
}

/**
 * The record starting at `pos`, which holds a quote; undefined when the text ends before the record
 * does (more is coming). A malformed record is a problem, and parsing resumes after its line.
 */
function parseQuoted(text: string, pos: number, final: boolean): Quoted {
  const fields: string[] = [];
  let lines = 0;
  let i = pos;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) {
          return final ? { problem: 'a quoted field is never closed', next: text.length } : undefined;
        }
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        // A quote at the very end may be the first of a doubled pair: wait for the next text.
        if (q + 1 === text.length && !final) return undefined;
        i = q + 1;
        break;
      }
      lines += countLines(value, 0, value.length);
      fields.push(value);
    } else {
      let j = i;
      while (j < text.length) {
        const c = text.charCodeAt(j);
        if (c === COMMA || c === LF) break;
        j++;
      }
      if (j === text.length && !final) return undefined;
      const end = j > i && text.charCodeAt(j) !== COMMA && text.charCodeAt(j - 1) === CR ? j - 1 : j;
      fields.push(text.slice(i, end));
      i = j;
    }
    if (i >= text.length) return final ? { fields, next: i, lines: lines + 1 } : undefined;
    const c = text.charCodeAt(i);
    if (c === COMMA) {
      i++;
      continue;
    }
    if (c === LF) return { fields, next: i + 1, lines: lines + 1 };
    if (c === CR && text.charCodeAt(i + 1) === LF) return { fields, next: i + 2, lines: lines + 1 };
    if (c === CR && i + 1 === text.length && !final) return undefined;
    const nl = text.indexOf('\n', i);
    return {
      problem: `unexpected ${JSON.stringify(text[i])} after a closing quote (a quote inside a quoted field is written "")`,
      next: nl === -1 ? text.length : nl + 1,
    };
  }
}

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) n++;
  return n;
}
