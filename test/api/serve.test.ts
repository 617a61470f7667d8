/**
 * The real `weir serve` process: config from env and flags, a private redis-server (local probing
 * off, since this machine may run a Redis on 6379), the HTTP endpoints, and a graceful SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../helpers/pids.js';

const repo = resolve(import.meta.dirname, '../..');

interface Proc {
  child: ChildProcess;
  stdout: string[];
  stderr: string;
  exited: Promise<number | null>;
}

/** `weir <args>` from source, with a clean WEIR_* / REDIS_URL environment plus `env`. */
function weir(args: string[], env: Record<string, string>): Proc {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('WEIR_') && !key.endsWith('REDIS_URL')),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/weir.ts', ...args], {
    cwd: repo,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: Proc = {
    child,
    stdout: [],
    stderr: '',
    exited: new Promise((done) => child.on('exit', (code) => done(code))),
  };
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    proc.stdout.push(...lines);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    proc.stderr += chunk;
  });
  return proc;
}

async function waitForLine(proc: Proc, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of proc.stdout) {
      const match = line.match(pattern);
      if (match) return match;
    }
    if (proc.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no line matching ${pattern}; stdout:\n${proc.stdout.join('\n')}\nstderr:\n${proc.stderr}`);
}

describe('weir serve', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'weir-serve-'));
  let proc: Proc;
  let url: string;
  let redisPid: number;

  beforeAll(async () => {
    proc = weir(['serve', '--port', '0', '--data-dir', dataDir], {
      WEIR_HOST: '127.0.0.1',
      WEIR_REDIS_PROBE_LOCAL: 'false',
      WEIR_LOG_LEVEL: 'info',
    });
    url = (await waitForLine(proc, /^Weir is listening on (http:\/\/\S+)$/))[1]!;
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

  it('prints the URL and docs URL once', async () => {
    expect(proc.stdout.filter((line) => line.startsWith('Weir is listening on'))).toHaveLength(1);
    expect(proc.stdout).toContain(`API docs: ${url}/docs`);
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

  it('runs a run end to end: planned by the API, executed by the in-process workers, read back over HTTP', async () => {
    // The embedded default tenant exists from the first start; the run needs only its catalog.
    const created = await fetch(`${url}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'noop', tasks: 3, logicalTime: '2026-03-01T00:00:00Z' }),
    });
    expect(created.status).toBe(200);
    const { runId, created: isNew } = (await created.json()) as { runId: string; created: boolean };
    expect(isNew).toBe(true);
    const deadline = Date.now() + 30_000;
    let run: { status: string; tasks: { status: string }[] } | undefined;
    while (Date.now() < deadline) {
      const res = await fetch(`${url}/api/v1/runs/${runId}`);
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
  });

  it('SIGTERM shuts down cleanly and stops the private redis-server', async () => {
    expect(isProcessAlive(redisPid)).toBe(true);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(isProcessAlive(redisPid)).toBe(false);
    expect(proc.stdout.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
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
