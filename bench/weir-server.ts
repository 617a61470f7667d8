/** A real `weir serve` for benchmarks: started from source on a free port, stopped with its private Redis. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive } from '../test/helpers/pids.js';
import { type Proc, waitForLine, weir } from '../test/helpers/weir-process.js';

export interface BenchServer {
  proc: Proc;
  pid: number;
  host: string;
  port: number;
  dataDir: string;
  /** Keep-alive agent of the benchmark's HTTP clients. */
  agent: Agent;
  /** Admin token of tenant `default` (WEIR_BOOTSTRAP_TOKEN). */
  token: string;
  /** The private redis-server the server started, if any. */
  redisPid: number | undefined;
}

export interface BenchServerOptions {
  /** Prefix of the temporary data directory. */
  name: string;
  /** WEIR_* settings beyond the defaults here (loopback, warn logs, no Redis probe). */
  env?: Record<string, string>;
  nodeArgs?: readonly string[];
  maxSockets?: number;
}

export async function startBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `${options.name}-`));
  const token = `weir_bench_${randomBytes(24).toString('base64url')}`;
  const proc = weir(
    ['serve', '--port', '0', '--data-dir', dataDir],
    {
      WEIR_HOST: '127.0.0.1',
      WEIR_REDIS_PROBE_LOCAL: 'false',
      WEIR_LOG_LEVEL: 'warn',
      WEIR_BOOTSTRAP_TOKEN: token,
      NODE_NO_WARNINGS: '1',
      ...options.env,
    },
    options.nodeArgs,
  );
  let url: URL;
  try {
    url = new URL((await waitForLine(proc, /^Weir is listening on (http:\/\/\S+)$/, 60_000))[1]!);
  } catch (error) {
    proc.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    proc,
    pid: proc.child.pid!,
    host: url.hostname,
    port: Number(url.port),
    dataDir,
    agent: new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 1 }),
    token,
    redisPid: childRedis(proc.child.pid!),
  };
}

/** SIGTERM (SIGKILL after 20 s), then the private Redis, then the data directory. */
export async function stopBenchServer(server: BenchServer): Promise<void> {
  server.agent.destroy();
  if (server.proc.child.exitCode === null) {
    server.proc.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      server.proc.exited.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), 20_000);
      }),
    ]);
    clearTimeout(timer);
    if (!exited) {
      server.proc.child.kill('SIGKILL');
      await server.proc.exited;
    }
  }
  if (server.redisPid && isProcessAlive(server.redisPid)) process.kill(server.redisPid, 'SIGKILL');
  rmSync(server.dataDir, { recursive: true, force: true });
}

/** The private redis-server a process started (a child of it). */
function childRedis(pid: number): number | undefined {
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(/\s+/).map(Number) : [])
        if (readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'redis-server') return child;
    }
  } catch {
    // The process is gone.
  }
  return undefined;
}

export interface BenchResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** POSTs `body` with the server's token over the keep-alive agent. */
export function postTo(
  server: BenchServer,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<BenchResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: server.host,
        port: server.port,
        path,
        method: 'POST',
        agent: server.agent,
        headers: { ...headers, authorization: `Bearer ${server.token}`, 'content-length': body.byteLength },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
