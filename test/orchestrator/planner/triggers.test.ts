import { describe, expect, it } from 'vitest';
import { WeirError } from '../../../catalog/index.js';
import { parseTrigger } from '../../../services/orchestrator/planner/index.js';

function rejection(raw: unknown): WeirError {
  try {
    parseTrigger(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(WeirError);
    return error as WeirError;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

const compaction = {
  kind: 'compaction',
  tenant: 'acme',
  logicalTime: '2026-03-10T05:00:00Z',
  tier: 'hourly',
  database: 'db',
  table: 'cpu',
  partition: 'date=2026-03-10/hour=03',
};

describe('triggers', () => {
  it('normalises equivalent ISO-8601 instants to toISOString() form', () => {
    const forms = [
      '2026-03-10T05:00:00Z',
      '2026-03-10T05:00Z',
      '2026-03-10T05:00:00.000Z',
      '2026-03-10T05:00:00.0Z',
      '2026-03-10T05:00:00.000000Z',
      '2026-03-10T06:00:00+01:00',
      '2026-03-09T23:30:00-05:30',
    ];
    for (const logicalTime of forms) {
      expect(parseTrigger({ kind: 'checkpoint', tenant: 'acme', logicalTime }).logicalTime, logicalTime).toBe(
        '2026-03-10T05:00:00.000Z',
      );
    }
    expect(
      parseTrigger({ kind: 'checkpoint', tenant: 'acme', logicalTime: '2026-03-10T05:00:00.123Z' })
        .logicalTime,
    ).toBe('2026-03-10T05:00:00.123Z');
  });

  it('fills defaults', () => {
    expect(parseTrigger(compaction)).toMatchObject({ dedup: false, targetRows: 1_000_000 });
    const t = { tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z' };
    expect(parseTrigger({ kind: 'retention', ...t, policyId: 'p1' })).toMatchObject({ dryRun: false });
    expect(parseTrigger({ kind: 'events-compaction', ...t })).toMatchObject({ settleMs: 30_000 });
    expect(parseTrigger({ kind: 'expire', ...t })).toMatchObject({
      windowMs: 7 * 24 * 3_600_000,
      orphanGraceMs: 3 * 24 * 3_600_000,
    });
    expect(parseTrigger({ kind: 'noop', ...t, tasks: 2 })).toMatchObject({ sleepMs: 0 });
    expect(parseTrigger({ kind: 'checkpoint', ...t })).toEqual({
      kind: 'checkpoint',
      tenant: 'acme',
      logicalTime: '2026-03-10T05:00:00.000Z',
    });
  });

  it('parsing a parsed trigger changes nothing', () => {
    const once = parseTrigger({ ...compaction, logicalTime: '2026-03-10T06:00:00+01:00' });
    expect(parseTrigger(once)).toEqual(once);
  });

  it.each([
    ['2026-03-10T05:00:00', 'logicalTime'], // no zone: local time would depend on the machine
    ['2026-03-10', 'logicalTime'],
    ['2026-02-30T00:00:00Z', 'logicalTime'],
    ['2026-03-10T24:00:00Z', 'logicalTime'],
    ['2026-03-10T05:00:00.0000001Z', 'logicalTime'],
    ['1969-12-31T23:59:59Z', 'logicalTime'],
    ['2300-01-01T00:00:00Z', 'logicalTime'],
    ['yesterday', 'logicalTime'],
    [' 2026-03-10T05:00:00Z', 'logicalTime'],
  ])('rejects logical time %j naming the field', (logicalTime, field) => {
    const error = rejection({ kind: 'checkpoint', tenant: 'acme', logicalTime });
    expect(error.code).toBe('PLAN_INVALID_TRIGGER');
    expect(error.httpStatus).toBe(400);
    expect(error.message).toContain(`checkpoint trigger: ${field}:`);
    expect(error.details).toMatchObject({ field });
  });

  it.each([
    [{ ...compaction, partition: 'date=2026-3-10/hour=03' }, 'partition'],
    [{ ...compaction, partition: 'date=2026-03-10/hour=3' }, 'partition'],
    [{ ...compaction, partition: 'hour=03' }, 'partition'],
    [{ ...compaction, partition: 'date=2026-03-10/hour=24' }, 'partition'],
    [{ ...compaction, tier: 'weekly' }, 'tier'],
    [{ ...compaction, database: '../etc' }, 'database'],
    [{ ...compaction, table: 'a b' }, 'table'],
    [{ ...compaction, targetRows: 0 }, 'targetRows'],
    [{ ...compaction, targetRows: 1.5 }, 'targetRows'],
    [{ ...compaction, dedup: 'yes' }, 'dedup'],
    [{ ...compaction, tenant: 'a/b' }, 'tenant'],
    [{ ...compaction, database: undefined }, 'database'],
    [{ ...compaction, extra: 1 }, 'extra'],
    [{ kind: 'retention', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z', policyId: 'a:b' }, 'policyId'],
    [{ kind: 'noop', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z', tasks: 0 }, 'tasks'],
    [{ kind: 'noop', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z', tasks: 100_001 }, 'tasks'],
    [{ kind: 'noop', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z', tasks: 2.5 }, 'tasks'],
    [{ kind: 'noop', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z', tasks: 1, sleepMs: -1 }, 'sleepMs'],
    [{ kind: 'expire', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z', windowMs: -1 }, 'windowMs'],
    // An upload younger than a day may still be committed: a shorter grace could delete it.
    [
      { kind: 'expire', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z', orphanGraceMs: 86_399_999 },
      'orphanGraceMs',
    ],
    [
      { kind: 'events-compaction', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z', settleMs: 0.5 },
      'settleMs',
    ],
    // A batch still being written could be passed by the watermark: its events never read.
    [
      { kind: 'events-compaction', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z', settleMs: 0 },
      'settleMs',
    ],
    [{ kind: 'vacuum', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z' }, 'kind'],
    [{ tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z' }, 'kind'],
  ])('rejects %j naming %s', (raw, field) => {
    const error = rejection(raw);
    expect(error.code).toBe('PLAN_INVALID_TRIGGER');
    expect(error.httpStatus).toBe(400);
    expect(error.message).toMatch(new RegExp(`: ${field}: `));
    expect(error.details).toMatchObject({ field });
  });

  it('rejects values that are not objects', () => {
    for (const raw of [null, 'checkpoint', 42, []]) expect(rejection(raw).code).toBe('PLAN_INVALID_TRIGGER');
  });

  it('accepts the bounds of the noop task count', () => {
    const t = { kind: 'noop', tenant: 'acme', logicalTime: '2026-03-10T05:00:00Z' };
    expect(parseTrigger({ ...t, tasks: 1 })).toMatchObject({ tasks: 1 });
    expect(parseTrigger({ ...t, tasks: 100_000 })).toMatchObject({ tasks: 100_000 });
  });

  it('accepts day partitions', () => {
    expect(parseTrigger({ ...compaction, partition: 'date=2026-03-10' })).toMatchObject({
      partition: 'date=2026-03-10',
    });
  });
});
