/**
 * Planner benchmark. Prints figures; never passes or fails on time.
 *   npx tsx bench/orchestrator-plan.ts
 *   npx tsx --expose-gc bench/orchestrator-plan.ts   # steadier: collects the heap between repetitions
 * Target on 2 cores: candidates + plans for 10,000 hour partitions × 12 files ≤ 500 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalObjectStore, TenantCatalog, type TenantState } from '../catalog/index.js';
import {
  compactionCandidates,
  planBytes,
  planRun,
  type TriggerInput,
} from '../services/orchestrator/planner/index.js';
import { addFile, BASE_US, createTable } from '../test/catalog/fixtures/actions.js';
import { fmt, median, report, timeEach, timeOnce } from './stats.js';

const PARTITIONS = 10_000;
const FILES_PER_PARTITION = 12;
const REPEATS = 5;

/** One table with PARTITIONS hour partitions of FILES_PER_PARTITION files: one commit per file "round". */
async function buildState(store: LocalObjectStore): Promise<TenantState> {
  const catalog = new TenantCatalog(store, 'bench');
  await catalog.commit([{ op: 'createDatabase', database: 'db' }, ...createTable('db', 'cpu')]);
  let state: TenantState | undefined;
  for (let round = 0; round < FILES_PER_PARTITION; round++) {
    const actions = Array.from({ length: PARTITIONS }, (_, hour) =>
      addFile('bench', 'db', 'cpu', hour, `f${round}-${hour}`, 1000 + round),
    );
    state = (await catalog.commit(actions)).state;
  }
  return state!;
}

export async function benchPlanning(): Promise<[string, string, string?][]> {
  const root = mkdtempSync(join(tmpdir(), 'weir-bench-plan-'));
  const store = new LocalObjectStore(root);
  try {
    const build = await timeOnce(() => buildState(store));
    const state = build.value;
    // A tick long after the last partition: every partition is an hourly candidate.
    const logicalTime = new Date(BASE_US / 1000 + (PARTITIONS + 2) * 3_600_000).toISOString();

    let candidates = 0;
    let tasks = 0;
    // With --expose-gc, each repetition starts from a collected heap (less variance).
    const gc = (globalThis as { gc?: () => void }).gc;
    const runs: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      gc?.();
      const { ms } = await timeOnce(async () => {
        const triggers = compactionCandidates(state, { tier: 'hourly', logicalTime });
        candidates = triggers.length;
        tasks = 0;
        for (const trigger of triggers) tasks += planRun(trigger, state).tasks.length;
      });
      runs.push(ms);
    }
    const candidatesOnly = await timeEach(REPEATS, async () => {
      compactionCandidates(state, { tier: 'hourly', logicalTime });
    });

    const one: TriggerInput = {
      kind: 'compaction',
      tenant: 'bench',
      logicalTime,
      tier: 'hourly',
      database: 'db',
      table: 'cpu',
      partition: 'date=2026-03-01/hour=05',
    };
    const single = await timeEach(2000, async () => planRun(one, state));
    const bytes = planBytes(planRun(one, state)).length;
    const serialize = await timeEach(2000, async () => planBytes(planRun(one, state)));

    return [
      [
        'catalog state built',
        `${PARTITIONS.toLocaleString('en-US')} partitions × ${FILES_PER_PARTITION} files`,
        `${FILES_PER_PARTITION} commits, ${fmt.ms(build.ms)}`,
      ],
      [
        'candidates + plans, all partitions',
        fmt.ms(median(runs)),
        `median of ${REPEATS}; ${candidates.toLocaleString('en-US')} candidates, ${tasks.toLocaleString('en-US')} tasks; target ≤ 500 ms`,
      ],
      ['compactionCandidates alone', fmt.ms(median(candidatesOnly)), `median of ${REPEATS}`],
      ['one compaction plan (12 files)', fmt.ms(median(single)), 'median of 2,000'],
      [
        'one plan + planBytes',
        fmt.ms(median(serialize)),
        `median of 2,000; ${bytes.toLocaleString('en-US')} bytes`,
      ],
    ];
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  report(await benchPlanning());
}
