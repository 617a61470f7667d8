/**
 * Who may write where: tokens on the write endpoints (401/403), tenant isolation in storage,
 * backpressure, and no row lost while compaction, retention and checkpoints run beside ingest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, paths, tableKey } from '../../catalog/index.js';
import { type IngestTestApp, startIngestApp } from '../helpers/ingest.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { keysUnder } from '../workers/support.js';

const T0_NS = 1_772_323_200_000_000_000n;

describe('write tenancy', () => {
  let redis: TestRedis;
  let root: string;
  let t: IngestTestApp;

  beforeAll(async () => {
    redis = await startTestRedis();
    root = mkdtempSync(join(tmpdir(), 'weir-ingest-tenancy-'));
    t = await startIngestApp(new LocalObjectStore(root), redis);
  });
  afterAll(async () => {
    await t?.stop();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const write = (
    headers: Record<string, string>,
    body = 'auth,host=a v=1',
    url = '/api/v1/write/line-protocol',
  ) =>
    t.app.inject({
      method: 'POST',
      url,
      payload: body,
      headers: { 'content-type': 'text/plain', ...headers },
    });

  it('refuses missing, wrong, revoked, expired, read-only and out-of-scope tokens', async () => {
    const readOnly = await t.auth.create('default', { name: 'reader', permissions: ['read'] });
    const scoped = await t.auth.create('default', {
      name: 'scoped',
      permissions: ['write'],
      databases: ['metrics'],
    });
    const revoked = await t.auth.create('default', { name: 'revoked', permissions: ['write'] });
    await t.auth.revoke('default', revoked.record.id);
    const expired = await t.auth.create('default', {
      name: 'expired',
      permissions: ['write'],
      expiresInSeconds: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    const cases: [string, Record<string, string>, number, RegExp][] = [
      ['no token', {}, 401, /token/i],
      ['a wrong token', bearer(`weir_${'A'.repeat(43)}`), 401, /invalid|unknown/i],
      ['a revoked token', bearer(revoked.token), 401, /revoked/i],
      ['an expired token', bearer(expired.token), 401, /expired/i],
      ['a read-only token', bearer(readOnly.token), 403, /write/],
      ['a token for another database', { ...bearer(scoped.token), 'x-arc-database': 'other' }, 403, /other/],
    ];
    const before = (await t.orchestration.catalogs.forTenant('default').refresh()).version;
    for (const [name, headers, status, message] of cases) {
      const response = await write(headers);
      expect(response.statusCode, name).toBe(status);
      expect(response.json().code, name).toBe(status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN');
      expect(response.json().error, name).toMatch(message);
    }
    // None of them wrote anything; the scoped token may write its own database.
    expect((await t.orchestration.catalogs.forTenant('default').refresh()).version).toBe(before);
    expect(t.service.bufferedBytes).toBe(0);
    expect((await write({ ...bearer(scoped.token), 'x-arc-database': 'metrics' })).statusCode).toBe(204);
    // InfluxDB 1.x clients send the token as the password.
    expect((await write({}, 'auth,host=b v=2', `/write?db=metrics&u=x&p=${scoped.token}`)).statusCode).toBe(
      204,
    );
    await t.service.drain();
    expect(await t.count('default', 'metrics', 'auth')).toBe(2);
  });

  it("a tenant's writes land under its own prefix only, whatever database or table it names", async () => {
    const acme = await t.auth.tenants.create('acme', 'Acme');
    const headers = { authorization: `Bearer ${acme.token}` };
    expect((await write(headers, 'shared,host=a v=1', '/write?db=default')).statusCode).toBe(204);
    expect((await write(headers, 'shared,host=b v=2', '/write?db=default')).statusCode).toBe(204);
    await t.service.drain();
    expect(await t.count('acme', 'default', 'shared')).toBe(2);
    expect(await t.count('default', 'default', 'shared')).toBe(0);
    const acmeKeys = await keysUnder(t.store, paths.dataKeys.tablePrefix('acme', 'default', 'shared'));
    expect(acmeKeys.length).toBeGreaterThan(0);
    expect(await keysUnder(t.store, paths.dataKeys.tablePrefix('default', 'default', 'shared'))).toEqual([]);
    // Every object the write produced is under tenants/acme/.
    const all = await keysUnder(t.store, 'tenants/');
    const written = all.filter((key) => key.includes('/shared/'));
    expect(written.every((key) => key.startsWith('tenants/acme/'))).toBe(true);
  });

  it("an Idempotency-Key is the tenant's own: the same key in another tenant is another request", async () => {
    const beta = await t.auth.tenants.create('beta', 'Beta');
    const key = { 'idempotency-key': 'tenant-key-1' };
    expect((await write({ ...t.headers, ...key }, 'idem_tenant v=1')).statusCode).toBe(204);
    const other = await write({ authorization: `Bearer ${beta.token}`, ...key }, 'idem_tenant v=2');
    expect(other.statusCode, other.body).toBe(204);
    expect(other.headers['x-weir-idempotent-replay']).toBeUndefined();
    await t.service.drain();
    expect(await t.count('default', 'default', 'idem_tenant')).toBe(1);
    expect(await t.count('beta', 'default', 'idem_tenant')).toBe(1);
  });
});

/**
 * An ingest app without workers (staged batches wait for their flush, so the backlog only grows)
 * whose backlog is full after two sealed batches of 10 rows; a fresh one per describe.
 */
function useBackpressureApp() {
  let redis: TestRedis;
  let root: string;
  const app = {} as { t: IngestTestApp };
  beforeAll(async () => {
    redis = await startTestRedis();
    root = mkdtempSync(join(tmpdir(), 'weir-ingest-bp-'));
    app.t = await startIngestApp(new LocalObjectStore(root), redis, {
      workers: false,
      maxStagingBacklog: 2,
      thresholds: { maxRows: 10, maxBytes: 1 << 20, maxAgeMs: 60_000 },
    });
  });
  afterAll(async () => {
    await app.t?.stop();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    get t() {
      return app.t;
    },
    /** `n` lines of table bp. */
    lines: (n: number) => Array.from({ length: n }, (_, i) => `bp,host=h v=${i}`).join('\n'),
    post: (body: string) =>
      app.t.app.inject({
        method: 'POST',
        url: '/api/v1/write/line-protocol',
        payload: body,
        headers: app.t.headers,
      }),
  };
}

describe('backpressure', () => {
  const bp = useBackpressureApp();

  it('answers 429 with Retry-After once the staging backlog is full, and writes nothing then', async () => {
    const { t, post, lines } = bp;
    expect((await post(lines(10))).statusCode).toBe(204);
    expect((await post(lines(10))).statusCode).toBe(204);
    // Two sealed batches wait: the next write is refused before it is decoded. Waiting for
    // their staging writes to end keeps a slow store from leaving bytes in the buffers.
    await waitFor(async () => (t.service.bufferedBytes === 0 ? true : undefined), 10_000, 5);
    const refused = await post(lines(10));
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({ code: 'BACKPRESSURE' });
    expect(refused.json().error).toMatch(/2 staged batches/);
    expect(t.service.bufferedBytes).toBe(0);
    let staged = 0;
    for await (const _ of t.store.listAll(paths.stagingKeys.prefix('default'))) staged++;
    expect(staged).toBe(2);
  });
});

describe('backpressure while a request reads the schema', () => {
  const bp = useBackpressureApp();

  it('a request refused with 429 after its schema read commits no new table', async () => {
    const { t, post, lines } = bp;
    expect((await post(lines(1))).statusCode).toBe(204); // table bp exists; nothing sealed yet
    const catalog = t.orchestration.catalogs.forTenant('default');
    const versionBefore = (await catalog.refresh()).version;
    // Hold the next schema read until other writes have filled the staging backlog.
    const read = catalog.current.bind(catalog);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    catalog.current = async (...args) => {
      if (!held) {
        held = true;
        await gate;
      }
      return read(...args);
    };
    try {
      const fresh = post('fresh,host=h v=1');
      await waitFor(async () => (held ? true : undefined), 10_000, 5);
      expect((await post(lines(10))).statusCode).toBe(204);
      expect((await post(lines(10))).statusCode).toBe(204);
      await waitFor(async () => (t.service.stagingBacklog >= 2 ? true : undefined), 10_000, 5);
      release();
      const refused = await fresh;
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'BACKPRESSURE' });
    } finally {
      catalog.current = read;
      release();
    }
    const state = await catalog.refresh();
    expect([...state.tables.keys()].filter((key) => key.endsWith('.fresh'))).toEqual([]);
    expect(state.version).toBe(versionBefore);
  });
});

describe('ingest beside compaction, retention and checkpoints', () => {
  let redis: TestRedis;
  let root: string;
  let t: IngestTestApp;

  beforeAll(async () => {
    redis = await startTestRedis();
    root = mkdtempSync(join(tmpdir(), 'weir-ingest-maint-'));
    t = await startIngestApp(new LocalObjectStore(root), redis, {
      thresholds: { maxRows: 500, maxBytes: 1 << 20, maxAgeMs: 50 },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('no row is lost or duplicated', async () => {
    const { orchestrator } = t.orchestration;
    await t.orchestration.catalogs
      .forTenant('default')
      .commit([{ op: 'createDatabase', database: 'default' }]);
    // A policy that keeps everything written here (the rows are from 2026-03-01, "now" is earlier).
    const policy = await t.app.inject({
      method: 'POST',
      url: '/api/v1/retention',
      headers: t.headers,
      payload: { name: 'keep', database: 'default', retention_days: 30 },
    });
    expect(policy.statusCode, policy.body).toBe(201);
    const policyId = policy.json().policy.id as string;

    let seq = 0;
    const writes = (async () => {
      for (let request = 0; request < 40; request++) {
        const lines = Array.from({ length: 200 }, () => {
          const s = seq++;
          return `busy,host=h${s % 4} seq=${s}i ${T0_NS + BigInt(s) * 1_000_000n}`;
        });
        const response = await t.app.inject({
          method: 'POST',
          url: '/api/v1/write/line-protocol',
          payload: lines.join('\n'),
          headers: t.headers,
        });
        expect(response.statusCode, response.body).toBe(204);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const maintenance = (async () => {
      for (let round = 0; round < 8; round++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const logicalTime = new Date(Date.UTC(2026, 2, 1, 3, round)).toISOString();
        const runs = [
          orchestrator.submit({
            kind: 'compaction',
            tenant: 'default',
            logicalTime,
            tier: 'hourly',
            database: 'default',
            table: 'busy',
            partition: 'date=2026-03-01/hour=00',
            targetRows: 3_000,
          }),
          orchestrator.submit({ kind: 'checkpoint', tenant: 'default', logicalTime }),
          orchestrator.submit({ kind: 'retention', tenant: 'default', logicalTime, policyId }),
        ];
        for (const submitted of await Promise.allSettled(runs)) {
          // A compaction may find the table not there yet, or nothing to compact: not a failure of ingest.
          if (submitted.status === 'fulfilled')
            await orchestrator.waitForRun('default', submitted.value.runId).catch(() => undefined);
        }
      }
    })();
    await Promise.all([writes, maintenance]);
    await t.service.drain();
    const state = await t.orchestration.catalogs.forTenant('default').refresh();
    expect(state.tables.get(tableKey('default', 'busy'))!.rowCount).toBe(8_000);
    const [row] = await t.query(
      'default',
      'default',
      'busy',
      (r) => `SELECT count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi FROM ${r}`,
    );
    expect(row).toEqual({ n: 8_000n, d: 8_000n, lo: 0n, hi: 7_999n });
    const { runs } = await orchestrator.history.list('default', { kind: 'compaction', limit: 100 });
    expect(runs.some((run) => run.status === 'succeeded')).toBe(true);
  });
});
