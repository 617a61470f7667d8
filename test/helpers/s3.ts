/**
 * A real S3-compatible server for tests (DESIGN.md §10): `WEIR_TEST_S3_ENDPOINT` when set
 * (MinIO, AWS…), else a private `moto_server` on a free 127.0.0.1 port. No S3 test is ever
 * skipped silently: when no server can be had, asking for one throws and says how to fix it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import type { S3StoreConfig } from '../../catalog/store/index.js';
import { freePort } from './ports.js';

/** What globalSetup hands to test workers: an endpoint, or why none could be started. */
export type S3ServerInfo = { endpoint: string } | { error: string };

declare module 'vitest' {
  export interface ProvidedContext {
    s3Server: S3ServerInfo;
  }
}

export interface S3Server {
  endpoint: string;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;
const REGION = 'us-east-1';

function testCredentials(): { accessKeyId: string; secretAccessKey: string } {
  return {
    accessKeyId: process.env.WEIR_TEST_S3_ACCESS_KEY_ID ?? 'test',
    secretAccessKey: process.env.WEIR_TEST_S3_SECRET_ACCESS_KEY ?? 'test',
  };
}

/**
 * moto checks `If-None-Match`/`If-Match` and then stores the object without a lock, so two
 * concurrent conditional PUTs can both succeed (measured: about 1 race in 100 with 20 writers).
 * Real S3 and MinIO make check and write atomic. This `sitecustomize`, put on the server's
 * PYTHONPATH only, serializes moto's PutObject so the put-if-absent race tests see S3's
 * semantics instead of flaking. It changes nothing else in moto.
 */
const MOTO_ATOMIC_PUT_SHIM = `import os, threading
from moto.s3.responses import S3Response

_lock = threading.Lock()
_put_object = S3Response.put_object

def _atomic_put_object(self):
    with _lock:
        return _put_object(self)

S3Response.put_object = _atomic_put_object
# Python only warns when sitecustomize fails: this file tells the test helper the shim is in.
open(os.environ['WEIR_MOTO_SHIM_MARKER'], 'w').close()
`;
/** The file the shim creates once it has patched moto. */
const SHIM_MARKER = 'installed';

function testClient(endpoint: string): S3Client {
  return new S3Client({ region: REGION, endpoint, forcePathStyle: true, credentials: testCredentials() });
}

/** Starts (or points at) an S3 server; throws with install instructions when none works. */
export async function startS3Server(): Promise<S3Server> {
  const external = process.env.WEIR_TEST_S3_ENDPOINT;
  if (external) return { endpoint: external, stop: async () => {} };

  const shimDir = await mkdtemp(path.join(tmpdir(), 'weir-moto-shim-'));
  await writeFile(path.join(shimDir, 'sitecustomize.py'), MOTO_ATOMIC_PUT_SHIM);
  const failures: string[] = [];
  for (const [command, args] of [
    ['moto_server', []],
    ['python3', ['-m', 'moto.server']],
  ] as const) {
    try {
      const server = await startMoto(command, [...args], shimDir);
      return {
        endpoint: server.endpoint,
        stop: () => server.stop().finally(() => rm(shimDir, { recursive: true, force: true })),
      };
    } catch (error) {
      failures.push(`\`${[command, ...args].join(' ')}\`: ${(error as Error).message}`);
    }
  }
  await rm(shimDir, { recursive: true, force: true });
  throw new Error(
    'No S3-compatible server for tests. Tried ' +
      failures.join('; ') +
      ". Install moto with `pip install 'moto[server]'` (needs python3), " +
      'or set WEIR_TEST_S3_ENDPOINT (plus WEIR_TEST_S3_ACCESS_KEY_ID / WEIR_TEST_S3_SECRET_ACCESS_KEY) to an S3 server.',
  );
}

async function startMoto(command: string, args: string[], shimDir: string): Promise<S3Server> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const pythonPath = [shimDir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  const child = spawn(command, [...args, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PYTHONPATH: pythonPath, WEIR_MOTO_SHIM_MARKER: path.join(shimDir, SHIM_MARKER) },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const exited = new Promise<Error>((resolve) => {
    child.once('error', (error) => resolve(error));
    child.once('exit', (code, signal) => resolve(new Error(`exited (${signal ?? code}): ${stderr.trim()}`)));
  });
  const startup = new AbortController();
  try {
    await Promise.race([
      waitUntilAnswering(endpoint, startup.signal),
      exited.then((error) => Promise.reject(error)),
    ]);
  } catch (error) {
    stopChild(child);
    throw error;
  } finally {
    startup.abort(); // stop polling once the server answered or died
  }
  if (!existsSync(path.join(shimDir, SHIM_MARKER))) {
    stopChild(child);
    throw new Error(
      `moto started without the atomic-put shim (its PutObject is not where the shim expects it; moto changed?): ${stderr.trim()}`,
    );
  }
  // Whatever happens to this process, never leave the server behind.
  const killOnExit = () => stopChild(child);
  process.once('exit', killOnExit);
  return {
    endpoint,
    stop: async () => {
      process.off('exit', killOnExit);
      await stopAndWait(child);
    },
  };
}

async function waitUntilAnswering(endpoint: string, stop: AbortSignal): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!stop.aborted) {
    try {
      await fetch(endpoint, { signal: AbortSignal.any([stop, AbortSignal.timeout(1000)]) });
      return;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`did not answer at ${endpoint} within ${STARTUP_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Signals a child we started (by its pid only); safe to call more than once. */
function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

async function stopAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * The endpoint of the run's shared S3 server (started by globalSetup). Throws the reason when
 * it could not start, so S3 tests fail loudly instead of being skipped.
 */
export function s3EndpointForTests(): string {
  const info = inject('s3Server');
  if (!info)
    throw new Error('s3Server was not provided: is test/helpers/global-setup.ts configured as globalSetup?');
  if ('error' in info) throw new Error(info.error);
  return info.endpoint;
}

/** Creates a fresh, uniquely named bucket and returns a store config for it. */
export async function createTestBucket(endpoint: string): Promise<S3StoreConfig> {
  const config: S3StoreConfig = {
    kind: 's3',
    bucket: `weir-test-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`,
    region: REGION,
    endpoint,
    forcePathStyle: true,
    ...testCredentials(),
  };
  const client = testClient(endpoint);
  try {
    await client.send(new CreateBucketCommand({ Bucket: config.bucket }));
  } finally {
    client.destroy();
  }
  return config;
}

/** Empties and deletes a bucket made by createTestBucket (matters on a shared external S3). */
export async function removeTestBucket(config: S3StoreConfig): Promise<void> {
  const client = testClient(config.endpoint!);
  try {
    for (;;) {
      const page = await client.send(new ListObjectsV2Command({ Bucket: config.bucket }));
      await Promise.all(
        (page.Contents ?? []).map((object) =>
          client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: object.Key })),
        ),
      );
      if (!page.IsTruncated) break;
    }
    await client.send(new DeleteBucketCommand({ Bucket: config.bucket }));
  } finally {
    client.destroy();
  }
}
