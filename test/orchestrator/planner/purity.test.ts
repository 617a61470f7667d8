import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { planBytes, planRun, type TriggerInput } from '../../../services/orchestrator/planner/index.js';
import {
  addFile,
  CLOCK_START_MS,
  removeFile,
  retentionPolicy,
  seedTables,
  type TestCatalog,
  testCatalog,
} from './fixtures.js';
import { importSpecifiers, purityViolations } from './purity.js';

const plannerDir = fileURLToPath(new URL('../../../services/orchestrator/planner/', import.meta.url));

function plannerFiles(): string[] {
  return readdirSync(plannerDir).sort();
}

describe('planner purity (static)', () => {
  it('the planner is a flat directory of TypeScript files with an index', () => {
    const files = plannerFiles();
    for (const f of files) {
      expect(statSync(`${plannerDir}${f}`).isFile(), `${f} is a file`).toBe(true);
      expect(f).toMatch(/^[a-z][a-z0-9-]*\.ts$/);
    }
    expect(files).toEqual(
      expect.arrayContaining([
        'index.ts',
        'plan.ts',
        'ids.ts',
        'triggers.ts',
        'candidates.ts',
        'serialize.ts',
      ]),
    );
  });

  it('every planner file imports only the allow-list and uses no clock, randomness, environment or I/O', () => {
    const files = plannerFiles();
    const siblings = new Set(files);
    const problems: string[] = [];
    for (const f of files) {
      const source = readFileSync(`${plannerDir}${f}`, 'utf8');
      for (const p of purityViolations(source, siblings)) problems.push(`${f}: ${p}`);
    }
    expect(problems).toEqual([]);
  });

  it('index.ts exposes the planner and nothing from outside it', () => {
    const source = readFileSync(`${plannerDir}index.ts`, 'utf8');
    for (const specifier of importSpecifiers(source)) expect(specifier).toMatch(/^\.\/[a-z-]+\.js$/);
  });

  it('the detector catches violations (checked on bad snippets)', () => {
    const siblings = new Set(['plan.ts']);
    const bad: Record<string, string> = {
      fs: "import { readFileSync } from 'node:fs';",
      bareFs: "import fs from 'fs';",
      deepCatalog: "import { CommitLog } from '../../../catalog/log/commit-log.js';",
      protoIndex: "import { parseDispatchEnvelope } from '../../../proto/index.js';",
      missingSibling: "import { x } from './nope.js';",
      reexport: "export { thing } from 'ioredis';",
      sideEffect: "import 'dotenv/config';",
      multiline: "import {\n  a,\n  b,\n} from 'bullmq';",
      now: 'const t = Date.now();',
      newDate: 'const d = new Date();',
      newDateNoParens: 'const d = new Date;',
      dateCall: 'const s = Date();',
      random: 'const r = Math.random();',
      cryptoRandom: 'const id = crypto.randomUUID();',
      env: 'const x = process.env.HOME;',
      perf: 'const t = performance.now();',
      dynamicImport: "const m = await import('node:fs');",
      requireCall: "const fs = require('fs');",
      timers: 'setTimeout(() => 1, 10);',
      locale: "a.localeCompare(b, 'de');",
      localHours: 'const h = d.getHours();',
      fetchCall: "fetch('http://x');",
      asyncFn: 'export async function plan() {}',
      global: 'globalThis.x = 1;',
    };
    for (const [name, snippet] of Object.entries(bad)) {
      expect(purityViolations(snippet, siblings), name).not.toEqual([]);
    }
    const good = [
      "import { z } from 'zod';",
      "import { canonicalJson, paths } from '../../../catalog/index.js';",
      "import type { TaskInputs } from '../../../proto/task-inputs.js';",
      "import { planRun } from './plan.js';",
      'const d = new Date(ms).toISOString();',
      'const ms = Date.UTC(2026, 0, 1);',
      'const h = d.getUTCHours();',
      "// the process's state is not read here",
    ].join('\n');
    expect(purityViolations(good, siblings)).toEqual([]);
  });
});

describe('planner purity (at run time)', () => {
  let t: TestCatalog | undefined;
  const savedTz = process.env.TZ;
  afterEach(async () => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
    await t?.cleanup();
    t = undefined;
  });

  it('plans of every kind do not change with the wall clock or the time zone, and never call Math.random', async () => {
    t = await testCatalog();
    await seedTables(t);
    const f1 = addFile('acme', 'db', 'cpu', 0, 'f1');
    await t.commit([f1, addFile('acme', 'db', 'cpu', 0, 'f2')]);
    await t.commit([retentionPolicy('keep', 'db', { retention_days: 1 })]);
    await t.commit([removeFile(f1)]);
    const state = await t.catalog.current();
    const at = '2026-04-20T00:00:00Z';
    const triggers: TriggerInput[] = [
      {
        kind: 'compaction',
        tenant: 'acme',
        logicalTime: at,
        tier: 'daily',
        database: 'db',
        table: 'cpu',
        partition: 'date=2026-03-01/hour=00',
      },
      { kind: 'retention', tenant: 'acme', logicalTime: at, policyId: 'keep' },
      { kind: 'checkpoint', tenant: 'acme', logicalTime: at },
      { kind: 'events-compaction', tenant: 'acme', logicalTime: at },
      { kind: 'expire', tenant: 'acme', logicalTime: at, windowMs: 1000 },
      { kind: 'noop', tenant: 'acme', logicalTime: at, tasks: 3 },
    ];
    const render = () =>
      triggers.map((trigger) => new TextDecoder().decode(planBytes(planRun(trigger, state))));

    const random = vi.spyOn(Math, 'random');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(CLOCK_START_MS);
    process.env.TZ = 'UTC';
    const first = render();
    vi.setSystemTime(Date.UTC(2031, 6, 4, 13, 37));
    process.env.TZ = 'Pacific/Kiritimati';
    const second = render();
    process.env.TZ = 'America/St_Johns';
    const third = render();
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(random).not.toHaveBeenCalled();
    expect(first.every((bytes) => bytes.length > 0)).toBe(true);
  });
});
