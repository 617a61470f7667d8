import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLineProtocol } from '../../../services/ingest/decode/index.js';
import { columnOf, context, NOW_MICROS, tableOf, valuesOf } from './helpers.js';

const lp = (text: string, precision?: string) =>
  decodeLineProtocol(Buffer.from(text), { ...context(), ...(precision ? { precision } : {}) });

describe('line protocol', () => {
  it('decodes tags, typed fields and nanosecond timestamps beyond 2^53', () => {
    const batches = lp(
      [
        '# a comment',
        '',
        'cpu,host=server01,region=eu-central-1-zone-a usage=0.5,procs=12i,big=9223372036854775807i,up=true,msg="hi" 1700000000123456789',
        '  cpu,host=server02 usage=-1.5e3,procs=-3i,up=F,count=18u 1700000000123457999',
        'mem free=1024i',
      ].join('\n'),
    );
    const cpu = tableOf(batches, 'cpu');
    expect(cpu.rows).toBe(2);
    expect([...cpu.time]).toEqual([1_700_000_000_123_456n, 1_700_000_000_123_457n]);
    expect(columnOf(cpu, 'host')).toMatchObject({ type: 'string', role: 'tag', roleDeclared: true });
    expect(valuesOf(cpu, 'host')).toEqual(['server01', 'server02']);
    expect(valuesOf(cpu, 'region')).toEqual(['eu-central-1-zone-a', null]);
    expect(columnOf(cpu, 'usage').type).toBe('float64');
    expect(valuesOf(cpu, 'usage')).toEqual([0.5, -1500]);
    expect(valuesOf(cpu, 'procs')).toEqual([12n, -3n]);
    expect(valuesOf(cpu, 'big')).toEqual([9_223_372_036_854_775_807n, null]);
    expect(valuesOf(cpu, 'up')).toEqual([true, false]);
    expect(columnOf(cpu, 'msg')).toMatchObject({ type: 'string', role: 'field' });
    expect(valuesOf(cpu, 'msg')).toEqual(['hi', null]);
    expect(valuesOf(cpu, 'count')).toEqual([null, 18n]);
    const mem = tableOf(batches, 'mem');
    expect([...mem.time]).toEqual([NOW_MICROS]);
  });

  it('handles escapes in tag values and string fields, CRLF and trailing spaces', () => {
    const batch = lp(
      'weather,city=New\\ York,note=a\\,b\\=c temp=1.5,text="say \\"hi\\" \\\\ there" 1\r\n',
      's',
    )[0]!;
    expect(valuesOf(batch, 'city')).toEqual(['New York']);
    expect(valuesOf(batch, 'note')).toEqual(['a,b=c']);
    expect(valuesOf(batch, 'text')).toEqual(['say "hi" \\ there']);
    expect([...batch.time]).toEqual([1_000_000n]);
  });

  it('keeps UTF-8 in tag values and strings, and commas or spaces inside quoted strings', () => {
    const batch = lp('m,city=Zürich v="ö, ü and 日本",w=1 5\nm v="" 6\n', 'us')[0]!;
    expect(valuesOf(batch, 'city')).toEqual(['Zürich', null]);
    expect(valuesOf(batch, 'v')).toEqual(['ö, ü and 日本', '']);
    expect([...batch.time]).toEqual([5n, 6n]);
  });

  it('applies each precision', () => {
    const cases: [string, string, bigint][] = [
      ['ns', '1700000000123456789', 1_700_000_000_123_456n],
      ['n', '1700000000123456789', 1_700_000_000_123_456n],
      ['us', '1700000000123456', 1_700_000_000_123_456n],
      ['u', '1700000000123456', 1_700_000_000_123_456n],
      ['ms', '1700000000123', 1_700_000_000_123_000n],
      ['s', '1700000000', 1_700_000_000_000_000n],
      ['m', '28333333', 1_699_999_980_000_000n],
      ['h', '472222', 1_699_999_200_000_000n],
    ];
    for (const [precision, stamp, micros] of cases) {
      expect([...lp(`m v=1 ${stamp}`, precision)[0]!.time], precision).toEqual([micros]);
    }
  });

  it('renames a field named like a tag of the same line (Arc rule)', () => {
    const batch = lp('m,host=a host=1,v=2 1\nm v=3 2\n')[0]!;
    expect(columnOf(batch, 'host')).toMatchObject({ role: 'tag' });
    expect(valuesOf(batch, 'host_value')).toEqual([1, null]);
    expect(valuesOf(batch, 'v')).toEqual([2, 3]);
  });

  it('accepts every boolean spelling', () => {
    const words = ['t', 'T', 'true', 'True', 'TRUE', 'f', 'F', 'false', 'False', 'FALSE'];
    const batch = lp(words.map((w, i) => `m b=${w} ${i}`).join('\n'))[0]!;
    expect(valuesOf(batch, 'b')).toEqual(words.map((w) => w.toLowerCase().startsWith('t')));
  });

  it('reads floats exactly as Number() does', () => {
    const texts = [
      '1',
      '-0.1',
      '3.141592653589793',
      '1e10',
      '1.5E-3',
      '.5',
      '2.',
      '123456789012345678',
      '0.1234567890123456789',
    ];
    const batch = lp(texts.map((t, i) => `m v=${t} ${i}`).join('\n'))[0]!;
    expect(valuesOf(batch, 'v')).toEqual(texts.map(Number));
  });

  it('returns nothing for a body of comments and blank lines', () => {
    expect(lp('# only\n\n   \n')).toEqual([]);
  });

  it('decodes any mix of tables, key orders and missing keys as a naive reading would', () => {
    // Per-name value types are fixed, so every generated body is valid; the decoder's per-table key
    // cache must not leak a column from one line, order or table into another.
    const TAGS = ['host', 'region', 'dc'];
    const FIELDS = { f: 'float', i: 'int', b: 'bool', s: 'string' } as const;
    const row = fc.record({
      table: fc.constantFrom('cpu', 'mem'),
      tags: fc.shuffledSubarray(TAGS).chain((names) =>
        fc.tuple(
          fc.constant(names),
          fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), {
            minLength: names.length,
            maxLength: names.length,
          }),
        ),
      ),
      fields: fc.shuffledSubarray(Object.keys(FIELDS) as (keyof typeof FIELDS)[], { minLength: 1 }),
      n: fc.integer({ min: -1000, max: 1000 }),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 30 }), (rows) => {
        const value = (name: keyof typeof FIELDS, n: number) =>
          ({ f: `${n / 4}`, i: `${n}i`, b: n % 2 ? 'true' : 'false', s: `"v${n}"` })[name];
        const text = rows
          .map((r, k) => {
            const tags = r.tags[0].map((name, j) => `,${name}=${r.tags[1][j]}`).join('');
            const fields = r.fields.map((name) => `${name}=${value(name, r.n)}`).join(',');
            return `${r.table}${tags} ${fields} ${k}000`;
          })
          .join('\n');
        const batches = lp(text, 'ns');
        for (const table of ['cpu', 'mem']) {
          const mine = rows.map((r, k) => ({ ...r, k })).filter((r) => r.table === table);
          if (mine.length === 0) continue;
          const batch = tableOf(batches, table);
          expect([...batch.time]).toEqual(mine.map((r) => BigInt(r.k)));
          for (const column of batch.columns) {
            const expected = mine.map((r) => {
              const t = r.tags[0].indexOf(column.name);
              if (t >= 0) return r.tags[1][t];
              const name = column.name as keyof typeof FIELDS;
              if (!r.fields.includes(name)) return null;
              return { f: r.n / 4, i: BigInt(r.n), b: r.n % 2 !== 0, s: `v${r.n}` }[name];
            });
            expect(valuesOf(batch, column.name), column.name).toEqual(expected);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
