import { existsSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { paths, SystemCatalog, TenantCatalog, WeirError } from '../../catalog/index.js';
import { LOCAL_TEMP_PREFIX } from '../../catalog/store/local.js';
import { dueTicks, type Schedule, Scheduler, type SchedulerDeps } from '../../services/orchestrator/index.js';
import { useOrchestration } from '../helpers/orchestration.js';

const HOUR = 3600_000;
const hourly = { everyMs: HOUR, offsetMs: 5 * 60_000 };
const at = (iso: string) => Date.parse(iso);

describe('schedule ticks', () => {
  it('a tick carries its scheduled time, not the time it was noticed', () => {
    expect(dueTicks(hourly, undefined, at('2026-03-01T10:59:59Z'), 3)).toEqual([at('2026-03-01T10:05:00Z')]);
    expect(dueTicks(hourly, at('2026-03-01T10:05:00Z'), at('2026-03-01T10:59:59Z'), 3)).toEqual([]);
    expect(dueTicks(hourly, at('2026-03-01T10:05:00Z'), at('2026-03-01T11:05:00Z'), 3)).toEqual([
      at('2026-03-01T11:05:00Z'),
    ]);
  });

  it('catch-up after downtime is bounded to the newest ticks, oldest first', () => {
    const ticks = dueTicks(hourly, at('2026-03-01T00:05:00Z'), at('2026-03-01T10:30:00Z'), 3);
    expect(ticks.map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-01T08:05:00.000Z',
      '2026-03-01T09:05:00.000Z',
      '2026-03-01T10:05:00.000Z',
    ]);
    expect(dueTicks(hourly, at('2026-03-01T00:05:00Z'), at('2026-03-01T10:30:00Z'), 50)).toHaveLength(10);
  });

  it('before the first tick of a schedule nothing is due', () => {
    expect(dueTicks({ everyMs: HOUR, offsetMs: 5 * 60_000 }, undefined, 60_000, 3)).toEqual([]);
  });
});

describe('more than one orchestrator', () => {
  const o = useOrchestration({ tmpPrefix: 'weir-sched-', workers: false, duckdb: false });
  const clients: Redis[] = [];

  /** A scheduler over this suite's store and orchestrator, with its own Redis connection. */
  const schedulerWith = (deps: Pick<SchedulerDeps, 'schedules'> & Partial<SchedulerDeps>) => {
    const client = new Redis({ host: o.redis.host, port: o.redis.port });
    clients.push(client);
    return new Scheduler({
      orchestrator: o.orchestrator,
      system: new SystemCatalog(o.store),
      catalogs: o.catalogs,
      store: o.store,
      redis: client,
      ...deps,
    });
  };
  afterAll(() => {
    for (const c of clients) c.disconnect();
  });

  it('two schedulers seeing the same ticks produce no duplicate runs', async () => {
    await new SystemCatalog(o.store).ensureTenant('acme');
    await new TenantCatalog(o.store, 'acme').commit([{ op: 'createDatabase', database: 'db' }]);
    const schedule: Schedule = {
      name: 'noop-test',
      everyMs: HOUR,
      offsetMs: 0,
      triggers: async (tenant, logicalTime) => [{ kind: 'noop', tenant, logicalTime, tasks: 2 }],
    };
    const now = () => at('2026-03-01T03:30:00Z');
    clients.push(new Redis({ host: o.redis.host, port: o.redis.port }));
    const make = () => schedulerWith({ schedules: [schedule], maxCatchUp: 3, now });
    // Down since the 00:00 tick: three ticks are due, and both schedulers see all three.
    await clients[0]!.set('weir:schedule:noop-test:last', String(at('2026-03-01T00:00:00Z')));
    const [a, b] = await Promise.all([make().tick(), make().tick()]);
    const submitted = [...a, ...b];
    expect(submitted.length).toBe(6);
    const runIds = new Set(submitted.map((s) => s.runId));
    expect(runIds.size).toBe(3);
    expect(submitted.filter((s) => s.created)).toHaveLength(3);
    expect([...new Set(submitted.map((s) => s.logicalTime))].sort()).toEqual([
      '2026-03-01T01:00:00.000Z',
      '2026-03-01T02:00:00.000Z',
      '2026-03-01T03:00:00.000Z',
    ]);
    await o.writer.flush();
    const { runs } = await o.orchestrator.history.list('acme', { kind: 'noop' });
    expect(runs.map((r) => r.runId).sort()).toEqual([...runIds].sort());
    // The same ticks again are not due any more.
    expect(await make().tick()).toEqual([]);
  });

  it('a tenant whose submit failed keeps its tick for the next pass; a refusal for good does not', async () => {
    const system = new SystemCatalog(o.store);
    for (const tenant of ['steady', 'flaky', 'refusing']) await system.ensureTenant(tenant);
    let outages = 1;
    const schedule: Schedule = {
      name: 'outage-test',
      everyMs: HOUR,
      offsetMs: 0,
      triggers: async (tenant, logicalTime) => {
        if (tenant === 'flaky' && outages-- > 0) throw new Error('object store unreachable');
        if (tenant === 'refusing') throw new WeirError('PLAN_INVALID_POLICY', 'a bad policy', 400);
        return ['steady', 'flaky'].includes(tenant) ? [{ kind: 'noop', tenant, logicalTime, tasks: 1 }] : [];
      },
    };
    const errors: Record<string, unknown>[] = [];
    const scheduler = schedulerWith({
      system,
      schedules: [schedule],
      now: () => at('2026-03-01T03:30:00Z'),
      onError: (_error, context) => errors.push(context),
    });
    const first = await scheduler.tick();
    expect(first.map((s) => s.runId)).toHaveLength(1); // steady's; flaky's failed
    expect(errors.map((e) => e.tenant)).toEqual(['flaky', 'refusing']);
    const second = await scheduler.tick();
    expect(second).toEqual([
      expect.objectContaining({ logicalTime: '2026-03-01T03:00:00.000Z', created: true }),
    ]);
    expect(errors.map((e) => e.tenant)).toEqual(['flaky', 'refusing']); // the refusal is not retried
    expect(await scheduler.tick()).toEqual([]);
  });

  it('a trigger refused by the planner does not keep the tick’s other triggers from their runs', async () => {
    const system = new SystemCatalog(o.store);
    await system.ensureTenant('mixed');
    const schedule: Schedule = {
      name: 'mixed-test',
      everyMs: HOUR,
      offsetMs: 0,
      // The first names a policy the tenant does not have: the planner refuses it with a 4xx.
      triggers: async (tenant, logicalTime) =>
        tenant === 'mixed'
          ? [
              { kind: 'retention', tenant, logicalTime, policyId: 'ret_missing' },
              { kind: 'noop', tenant, logicalTime, tasks: 1 },
            ]
          : [],
    };
    const errors: { error: unknown; context: Record<string, unknown> }[] = [];
    const scheduler = schedulerWith({
      system,
      schedules: [schedule],
      maxCatchUp: 1,
      now: () => at('2026-03-01T03:30:00Z'),
      onError: (error, context) => errors.push({ error, context }),
    });
    const submitted = await scheduler.tick();
    expect(submitted).toEqual([
      expect.objectContaining({ logicalTime: '2026-03-01T03:00:00.000Z', created: true }),
    ]);
    expect(errors).toHaveLength(1);
    expect((errors[0]!.error as WeirError).httpStatus).toBeLessThan(500);
    expect(errors[0]!.context).toMatchObject({ tenant: 'mixed', trigger: { kind: 'retention' } });
    expect(await scheduler.tick()).toEqual([]);
  });

  it('checkpoints the _system catalog once it is far enough past its newest checkpoint, and sweeps its old temp files', async () => {
    const system = new SystemCatalog(o.store);
    const scheduler = schedulerWith({ system, schedules: [], systemCheckpointEvery: 3 });
    const newestCheckpoint = async () => (await system.log.checkpoints.newest())?.version;
    // What a write killed between its temp file and the rename leaves, a day old and a minute old.
    const temps = {
      old: join(o.root, paths.SYSTEM_PREFIX, 'catalog', `${LOCAL_TEMP_PREFIX}old`),
      young: join(o.root, paths.SYSTEM_PREFIX, `${LOCAL_TEMP_PREFIX}young`),
    };
    for (const file of Object.values(temps)) {
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, 'half-written');
    }
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * HOUR);
    await utimes(temps.old, twoDaysAgo, twoDaysAgo);

    const start = (await system.refresh()).version;
    await scheduler.tick();
    const first = await newestCheckpoint();
    expect(first).toBe(start >= 3 ? start : undefined);
    for (const tenant of ['ckpt-a', 'ckpt-b', 'ckpt-c']) await system.ensureTenant(tenant);
    await scheduler.tick();
    const second = (await system.refresh()).version;
    expect(await newestCheckpoint()).toBe(second);
    expect({ old: existsSync(temps.old), young: existsSync(temps.young) }).toEqual({
      old: false,
      young: true,
    });
    // Fewer commits than that since: no new checkpoint; a fresh node loads from the one there is.
    await system.ensureTenant('ckpt-d');
    await scheduler.tick();
    expect(await newestCheckpoint()).toBe(second);
    const loaded = await new SystemCatalog(o.store).refresh();
    expect([...loaded.tenants.keys()]).toEqual(expect.arrayContaining(['ckpt-a', 'ckpt-d']));
  });
});
