import { describe, expect, it } from 'vitest';
import { ContractError, parseDispatchEnvelope, parseTaskResult } from '../../proto/index.js';
import { parseTaskInputs } from '../../proto/task-inputs.js';

const envelope = {
  tenant: 'acme',
  runId: 'run_1',
  planId: 'pln_1',
  taskId: 'tsk_1',
  taskKey: 'compact:db.cpu:date=2026-03-01/hour=00',
  attempt: 1,
  attemptId: 'att_1',
  kind: 'noop',
  catalogVersion: 42,
  inputsJson: '{}',
  deadlineMs: 1_800_000_000_000,
  scratchPrefix: '',
};

describe('dispatch envelope contract (proto/weir/v1/dispatch.proto)', () => {
  it('accepts a whole envelope and keeps 64-bit fields as numbers', () => {
    expect(parseDispatchEnvelope(envelope)).toEqual(envelope);
  });

  it.each([
    ['an unknown field', { ...envelope, extra: 1 }, /no field extra/],
    ['a number where a string belongs', { ...envelope, tenant: 7 }, /tenant: string expected/],
    [
      'a string where an integer belongs',
      { ...envelope, catalogVersion: 'seven' },
      /catalogVersion: integer/,
    ],
    ['a missing task id', { ...envelope, taskId: '' }, /taskId is required/],
    ['attempt 0', { ...envelope, attempt: 0 }, /attempt starts at 1/],
    ['not an object', ['x'], /must be an object/],
  ])('refuses %s, naming it', (_label, value, message) => {
    expect(() => parseDispatchEnvelope(value)).toThrow(ContractError);
    expect(() => parseDispatchEnvelope(value)).toThrow(message);
  });

  it('task results are checked the same way', () => {
    const result = {
      taskId: 'tsk_1',
      attemptId: 'att_1',
      kind: 'noop',
      reads: [],
      wrote: { files: [], removed: [], commitVersion: 0, committed: false, deleted: [] },
      outputsChecksum: '',
      summaryJson: '{}',
    };
    expect(parseTaskResult(result)).toEqual(result);
    expect(() => parseTaskResult({ ...result, wrote: { files: [{ path: 1 }] } })).toThrow(ContractError);
  });

  it('task inputs are validated per kind, with the field named', () => {
    expect(parseTaskInputs('noop', '{"sleepMs": 5}')).toEqual({ sleepMs: 5 });
    expect(() => parseTaskInputs('noop', 'not json')).toThrow(/not JSON/);
    expect(() => parseTaskInputs('expire', '{"paths": []}')).toThrow(/paths/);
    expect(() => parseTaskInputs('compaction', '{"database": "db"}')).toThrow(/inputs of a compaction task/);
  });

  it("a CQ window planned before windows carried their definition's version still parses (replays)", () => {
    const window = {
      cqId: 'cq1',
      progressId: 'cq1-progress',
      database: 'db',
      source: 'cpu',
      destination: 'cpu_1h',
      query: 'SELECT 1',
      windowStartUs: 0,
      windowEndUs: 3_600_000_000,
      columns: [{ name: 'time', type: 'timestamp', role: 'time' }],
      sortKey: ['time'],
      partitioning: 'hour',
      advanceWatermark: true,
      checkedVersion: -1,
    };
    expect(parseTaskInputs('cq', JSON.stringify(window))).toEqual(window);
    expect(parseTaskInputs('cq', JSON.stringify({ ...window, policyVersion: 3 }))).toMatchObject({
      policyVersion: 3,
    });
    expect(() => parseTaskInputs('cq', JSON.stringify({ ...window, policyVersion: 0 }))).toThrow(
      /policyVersion/,
    );
  });
});
