import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { paths } from '../../../catalog/index.js';
import {
  attemptIdOf,
  ID_PATTERN,
  parseTrigger,
  runIdOf,
  runKeyOf,
  taskIdOf,
} from '../../../services/orchestrator/planner/index.js';

const base = { tenant: 'acme', logicalTime: '2026-03-10T05:00:00+00:00' };
const T = '2026-03-10T05:00:00.000Z';

describe('run keys', () => {
  it('name each kind of trigger as ADR 0007 says', () => {
    const cases: [unknown, string][] = [
      [
        {
          kind: 'compaction',
          ...base,
          tier: 'hourly',
          database: 'db',
          table: 'cpu',
          partition: 'date=2026-03-10/hour=03',
        },
        `compaction:hourly:db.cpu:date=2026-03-10/hour=03:${T}`,
      ],
      [
        {
          kind: 'compaction',
          ...base,
          tier: 'daily',
          database: 'db',
          table: 'cpu',
          partition: 'date=2026-03-09',
        },
        `compaction:daily:db.cpu:date=2026-03-09:${T}`,
      ],
      [{ kind: 'retention', ...base, policyId: 'keep-30d' }, `retention:keep-30d:${T}`],
      [{ kind: 'retention', ...base, policyId: 'keep-30d', dryRun: true }, `retention:keep-30d:${T}:dry-run`],
      [{ kind: 'checkpoint', ...base }, 'checkpoint:42'],
      [{ kind: 'events-compaction', ...base }, `events-compaction:${T}`],
      [{ kind: 'expire', ...base }, `expire:${T}`],
      [{ kind: 'noop', ...base, tasks: 3 }, `noop:${T}`],
    ];
    for (const [raw, key] of cases) expect(runKeyOf(parseTrigger(raw), 42)).toBe(key);
  });
});

describe('ids', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

  it('follow the documented recipe (ADR 0007)', () => {
    expect(runIdOf('acme', `noop:${T}`)).toBe(`run_${sha(`["run","acme","noop:${T}"]`)}`);
    expect(taskIdOf('pln_x', 'noop:000001')).toBe(`tsk_${sha('["task","pln_x","noop:000001"]')}`);
    expect(attemptIdOf('tsk_y', 3)).toBe(`att_${sha('["attempt","tsk_y",3]')}`);
  });

  it('are prefixed hex that BullMQ and the object-id rule accept', () => {
    const ids = [
      runIdOf('acme', 'k'),
      taskIdOf('pln_0', 'k'),
      attemptIdOf('tsk_0', 1),
      // A large sample, so a digest that happens to be all digits would still carry the prefix.
      ...Array.from({ length: 500 }, (_, i) => runIdOf('acme', `noop:${i}`)),
    ];
    for (const id of ids) {
      expect(id).toMatch(ID_PATTERN);
      expect(id).toHaveLength(36);
      expect(paths.NAME_RULES.objectId.test(id)).toBe(true);
      expect(id).not.toContain(':');
      expect(/^\d+$/.test(id)).toBe(false);
    }
  });

  it('separate tenants, keys, plans and attempts', () => {
    expect(runIdOf('acme', 'k')).toBe(runIdOf('acme', 'k'));
    expect(runIdOf('acme', 'k')).not.toBe(runIdOf('other', 'k'));
    expect(runIdOf('acme', 'k1')).not.toBe(runIdOf('acme', 'k2'));
    expect(taskIdOf('pln_a', 'k')).not.toBe(taskIdOf('pln_b', 'k'));
    expect(taskIdOf('pln_a', 'k1')).not.toBe(taskIdOf('pln_a', 'k2'));
    expect(attemptIdOf('tsk_a', 1)).not.toBe(attemptIdOf('tsk_a', 2));
    // No concatenation ambiguity: ("a-b", "c") and ("a", "b-c") hash differently.
    expect(taskIdOf('pln_a', 'b"c')).not.toBe(taskIdOf('pln_a"', 'c'));
  });

  it('refuse bad attempt numbers and tenants', () => {
    for (const attempt of [0, -1, 1.5, Number.NaN])
      expect(() => attemptIdOf('tsk_a', attempt)).toThrow(TypeError);
    expect(() => runIdOf('../x', 'k')).toThrow(/invalid tenant/);
  });
});
