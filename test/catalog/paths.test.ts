import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidNameError, LocalObjectStore, paths } from '../../catalog/index.js';

const HOSTILE_NAMES: [string, unknown][] = [
  ['parent traversal', '..'],
  ['dot', '.'],
  ['traversal inside', 'a/../b'],
  ['slash', 'a/b'],
  ['backslash', 'a\\b'],
  ['absolute path', '/etc/passwd'],
  ['encoded dot-dot', '%2e%2e'],
  ['encoded slash', 'a%2fb'],
  ['double-encoded', '%252e%252e'],
  ['NUL byte', 'a\u0000b'],
  ['newline', 'a\nb'],
  ['carriage return', 'a\rb'],
  ['tab', 'a\tb'],
  ['DEL character', 'a\u007fb'],
  ['empty', ''],
  ['leading space', ' a'],
  ['trailing space', 'a '],
  ['leading digit', '1abc'],
  ['leading dash', '-abc'],
  ['unicode lookalike slash', 'a\u2215b'],
  ['fullwidth dot', '\uff0e\uff0e'],
  ['too long', `a${'b'.repeat(200)}`],
  ['not a string', 42],
  ['null', null],
  ['wildcard', 'a*'],
  ['glob braces', '{a,b}'],
  ['quote', "a'b"],
  ['semicolon', 'a;b'],
];

const HOSTILE_KEYS = [
  '../x',
  'a/../../etc/passwd',
  '/abs/key',
  'a//b',
  'a/./b',
  'a/%2e%2e/b',
  'a\\b',
  'a/b\u0000',
  'a/\nb',
  '',
  'a/ b',
  'a/b/',
  `${'a/'.repeat(600)}b`,
];

describe('path module', () => {
  it.each(HOSTILE_NAMES)('rejects a %s as tenant, database, table, column and object id', (_label, value) => {
    for (const kind of ['tenant', 'database', 'table', 'column', 'objectId'] as const) {
      if (kind === 'objectId' && (value === '1abc' || value === '-abc')) continue;
      expect(() => paths.assertName(kind, value), `${kind} ${JSON.stringify(value)}`).toThrow(
        InvalidNameError,
      );
    }
  });

  it.each(HOSTILE_NAMES)('no key builder accepts a %s in any position', (_label, value) => {
    const bad = value as string;
    const part = { date: '2026-03-01', hour: 5 };
    const builders: (() => string)[] = [
      () => paths.tenantPrefix(bad),
      () => paths.dataKeys.file(bad, 'db', 't', part, 'f'),
      () => paths.dataKeys.file('acme', bad, 't', part, 'f'),
      () => paths.dataKeys.file('acme', 'db', bad, part, 'f'),
      () => paths.dataKeys.file('acme', 'db', 't', part, bad === '1abc' || bad === '-abc' ? '..' : bad),
      () => paths.stagingKeys.batch('acme', bad === '1abc' || bad === '-abc' ? '../x' : bad),
      () => paths.catalogKeys.log(paths.tenantScope(bad), 1),
      () => paths.eventKeys.batch(bad, 0, 'X'),
    ];
    for (const build of builders) expect(build).toThrow(InvalidNameError);
  });

  it.each(HOSTILE_KEYS)('the store wall rejects key %j', (key) => {
    expect(() => paths.assertSafeKey(key)).toThrow(InvalidNameError);
  });

  it('lets only a column start with an underscore (ADR 0027)', () => {
    for (const name of ['_internal', '_value', '_1']) {
      expect(() => paths.assertName('column', name)).not.toThrow();
      for (const kind of ['tenant', 'database', 'table'] as const) {
        expect(() => paths.assertName(kind, name), `${kind} ${name}`).toThrow(InvalidNameError);
      }
    }
  });

  it('rejects bad partitions and versions', () => {
    expect(() => paths.partitionPath({ date: '2026-13-01', hour: 1 })).toThrow(InvalidNameError);
    expect(() => paths.partitionPath({ date: '2026-01-01', hour: 24 })).toThrow(InvalidNameError);
    expect(() => paths.partitionPath({ date: '../../x', hour: 1 })).toThrow(InvalidNameError);
    expect(() => paths.parsePartitionPath('date=2026-01-01/hour=05/../x')).toThrow(InvalidNameError);
    expect(() => paths.catalogKeys.log(paths.SYSTEM_SCOPE, -1)).toThrow(InvalidNameError);
    expect(() => paths.catalogKeys.log(paths.SYSTEM_SCOPE, 1.5)).toThrow(InvalidNameError);
  });

  it('builds the documented layout', () => {
    expect(paths.catalogKeys.log(paths.tenantScope('acme'), 7)).toBe(
      'tenants/acme/catalog/log/00000000000000000007.json',
    );
    expect(paths.catalogKeys.checkpointManifest(paths.SYSTEM_SCOPE, 3)).toBe(
      '_system/catalog/checkpoints/00000000000000000003/_manifest.json',
    );
    expect(paths.dataKeys.file('acme', 'db', 'cpu', { date: '2026-03-01', hour: 5 }, 'abc')).toBe(
      'tenants/acme/data/db/cpu/date=2026-03-01/hour=05/abc.parquet',
    );
    expect(paths.stagingKeys.batch('acme', 'b1')).toBe('tenants/acme/staging/b1.arrows');
    expect(paths.eventKeys.batch('acme', Date.parse('2026-03-01T05:30:00Z'), '01HX')).toBe(
      'tenants/acme/events/2026/03/01/05/01HX.ndjson',
    );
  });

  it('nothing of tenant A is reachable through a key built for tenant B', () => {
    const attempts = [...HOSTILE_NAMES.map(([, v]) => v), 'alpha', '../alpha', 'alpha/..', 'beta/../alpha'];
    const built: string[] = [];
    for (const value of attempts) {
      for (const build of [
        () => paths.dataKeys.file('beta', value as string, 't', { date: '2026-03-01', hour: 1 }, 'f'),
        () => paths.dataKeys.file('beta', 'db', value as string, { date: '2026-03-01', hour: 1 }, 'f'),
        () => paths.dataKeys.file('beta', 'db', 't', { date: '2026-03-01', hour: 1 }, value as string),
        () => paths.stagingKeys.batch('beta', value as string),
        () => paths.eventKeys.compactedFile('beta', 'runs', value as string),
      ]) {
        try {
          built.push(build());
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidNameError);
        }
      }
    }
    expect(built.length).toBeGreaterThan(0);
    for (const key of built) {
      expect(key.startsWith('tenants/beta/')).toBe(true);
      expect(key.split('/')).not.toContain('..');
      expect(() => paths.assertSafeKey(key)).not.toThrow();
    }
  });

  it('the local store keeps every object under its root, whatever the key', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'weir-root-'));
    const root = join(parent, 'store');
    const store = new LocalObjectStore(root);
    try {
      for (const key of HOSTILE_KEYS) {
        await expect(store.put(key, new Uint8Array([1]))).rejects.toThrow(InvalidNameError);
        await expect(store.putIfAbsent(key, new Uint8Array([1]))).rejects.toThrow(InvalidNameError);
        await expect(store.get(key)).rejects.toThrow(InvalidNameError);
      }
      // Nothing was written: not beside the root, and not inside it.
      expect(readdirSync(parent).filter((name) => name !== 'store')).toEqual([]);
      expect(readdirSync(parent, { recursive: true }).filter((name) => String(name) !== 'store')).toEqual([]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
