/**
 * The real `weir serve` process: config from env and flags, a private redis-server (local probing
 * off, since this machine may run a Redis on 6379), the HTTP endpoints, and a graceful SIGTERM.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../helpers/pids.js';
import { startTestRedis } from '../helpers/redis.js';
import { type Proc, TOKEN_LINE, waitForLine, weir } from '../helpers/weir-process.js';

describe('weir serve', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'weir-serve-'));
  const serve = () =>
    weir(['serve', '--port', '0', '--data-dir', dataDir], {
      WEIR_HOST: '127.0.0.1',
      WEIR_REDIS_PROBE_LOCAL: 'false',
      WEIR_LOG_LEVEL: 'info',
    });
  let proc: Proc;
  let url: string;
  let redisPid: number;
  let token: string;

  beforeAll(async () => {
    proc = serve();
    url = (await waitForLine(proc, /^Weir is listening on (http:\/\/\S+)$/))[1]!;
    token = (await waitForLine(proc, TOKEN_LINE))[1]!;
    const resolved = (await waitForLine(proc, /"msg":"redis resolved"/)).input!;
    const redis = JSON.parse(resolved).redis as { kind: string; pid: number };
    expect(redis.kind).toBe('private');
    redisPid = redis.pid;
  });

  afterAll(async () => {
    if (proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    if (redisPid && isProcessAlive(redisPid)) process.kill(redisPid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URL, the console URL and the docs URL once; the console is served there', async () => {
    expect(proc.stdout.filter((line) => line.startsWith('Weir is listening on'))).toHaveLength(1);
    expect(proc.stdout).toContain(`Console: ${url}/`);
    expect(proc.stdout).toContain(`API docs: ${url}/docs`);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/app.js');
  });

  it('prints the generated admin token once on the first start, and never logs it', async () => {
    expect(proc.stdout.filter((line) => line.includes(token))).toHaveLength(1);
    expect(proc.stdout.some((line) => line.includes('"msg":"bootstrap admin token created"'))).toBe(true);
    const verified = await fetch(`${url}/api/v1/auth/verify`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await verified.json()).toMatchObject({
      valid: true,
      tenant: 'default',
      permissions: ['admin'],
      token_info: { platform_admin: true },
    });
  });

  it('refuses API calls without a token', async () => {
    const res = await fetch(`${url}/api/v1/runs`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ success: false, code: 'UNAUTHORIZED' });
  });

  it('GET /health answers Arc’s shape', async () => {
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      status: 'ok',
      time: expect.any(String),
      uptime: expect.stringMatching(/^(\d+h)?(\d+m)?\d+s$/),
      uptime_sec: expect.any(Number),
    });
    expect(Number.isNaN(Date.parse(body.time as string))).toBe(false);
  });

  it('GET /ready is 200 with the object store and the private Redis up', async () => {
    const res = await fetch(`${url}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ready',
      checks: { object_store: { ok: true }, redis: { ok: true } },
    });
    expect(existsSync(join(dataDir, 'redis', 'appendonlydir'))).toBe(true);
  });

  it('GET /metrics has the request counter and default metrics', async () => {
    await fetch(`${url}/health`);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/weir_http_requests_total\{method="GET",route="\/health",status_code="200"\} \d+/);
    expect(text).toContain('weir_http_request_duration_seconds_bucket');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/ready', '/metrics']));
    expect(Object.keys(doc.paths).some((path) => path.startsWith('/docs'))).toBe(false);

    const ui = await fetch(`${url}/docs/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('answers an unknown route with the JSON error shape', async () => {
    const res = await fetch(`${url}/api/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      success: false,
      error: 'no route GET /api/v1/nothing-here',
      code: 'NOT_FOUND',
    });
  });

  it('runs a run end to end: planned by the API, executed by its worker process, read back over HTTP', async () => {
    // The embedded default tenant exists from the first start; the run needs only its catalog.
    const authorization = `Bearer ${token}`;
    const created = await fetch(`${url}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ kind: 'noop', tasks: 3, logicalTime: '2026-03-01T00:00:00Z' }),
    });
    expect(created.status).toBe(200);
    const { runId, created: isNew } = (await created.json()) as { runId: string; created: boolean };
    expect(isNew).toBe(true);
    const deadline = Date.now() + 30_000;
    let run: { status: string; tasks: { status: string }[] } | undefined;
    while (Date.now() < deadline) {
      const res = await fetch(`${url}/api/v1/runs/${runId}`, { headers: { authorization } });
      if (res.status === 200) {
        run = ((await res.json()) as { run: typeof run }).run;
        if (run?.status === 'succeeded') break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run?.status).toBe('succeeded');
    expect(run?.tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('writes structured JSON logs', () => {
    const logLines = proc.stdout.filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(JSON.parse(line)).toHaveProperty('level');
    expect(logLines.some((line) => line.includes(token))).toBe(false);
  });

  it('SIGTERM shuts down cleanly and stops the private redis-server', async () => {
    expect(isProcessAlive(redisPid)).toBe(true);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(isProcessAlive(redisPid)).toBe(false);
    expect(proc.stdout.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
  });

  it('a second start on the same data directory prints no token; the first one still works', async () => {
    const again = serve();
    try {
      const secondUrl = (await waitForLine(again, /^Weir is listening on (http:\/\/\S+)$/))[1]!;
      const resolved = JSON.parse((await waitForLine(again, /"msg":"redis resolved"/)).input!);
      redisPid = resolved.redis.pid;
      expect(again.stdout.some((line) => TOKEN_LINE.test(line))).toBe(false);
      expect(again.stdout.some((line) => line.includes('bootstrap admin token created'))).toBe(false);
      const res = await fetch(`${secondUrl}/api/v1/runs`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    }
  });
});

describe('a start that fails', () => {
  it('says why in one line on stderr: a port in use, a data directory that is a file', async () => {
    const redis = await startTestRedis();
    const base = mkdtempSync(join(tmpdir(), 'weir-start-'));
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const env = { WEIR_REDIS_URL: redis.url, WEIR_HOST: '127.0.0.1' };
      const busy = weir(['api', '--port', String(port), '--data-dir', join(base, 'busy')], env);
      expect(await busy.exited).toBe(1);
      expect(busy.stderr).toMatch(new RegExp(`^weir: could not start: .*EADDRINUSE.*${port}`, 'm'));
      writeFileSync(join(base, 'file'), 'not a directory');
      const file = weir(['api', '--port', '0', '--data-dir', join(base, 'file')], env);
      expect(await file.exited).toBe(1);
      expect(file.stderr).toMatch(/^weir: could not start: .*(ENOTDIR|EEXIST)/m);
    } finally {
      taken.close();
      await redis.stop();
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('weir api', () => {
  it('refuses to start a private Redis and says to set REDIS_URL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'weir-api-'));
    try {
      const proc = weir(['api', '--port', '0', '--data-dir', dataDir], { WEIR_REDIS_PROBE_LOCAL: 'false' });
      expect(await proc.exited).toBe(1);
      expect(proc.stderr).toContain('set REDIS_URL');
      expect(existsSync(join(dataDir, 'redis'))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
