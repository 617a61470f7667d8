/**
 * Serving the built console: the page and its files are public, from our origin, with a content
 * security policy; Brotli copies go to browsers that accept them; nothing outside the build is
 * reachable; a server without a build says how to make one.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, SystemCatalog } from '../../catalog/index.js';
import { buildApp } from '../../services/api/index.js';
import { TokenService } from '../../services/auth/index.js';
import { createLogger } from '../../services/runtime/index.js';

const root = mkdtempSync(join(tmpdir(), 'weir-console-routes-'));
const store = new LocalObjectStore(join(root, 'objects'));
const auth = new TokenService(new SystemCatalog(store), { cacheTtlMs: 5_000 });
const WASM = Buffer.from('\0asm fake module bytes '.repeat(100));

/** A stand-in build: the route serves whatever scripts/build-web.mjs wrote; its contents do not matter here. */
function fakeBuild(): string {
  const dir = join(root, 'web');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Weir</title>');
  writeFileSync(join(dir, 'app.js'), 'console.log("weir")');
  writeFileSync(join(dir, 'assets', 'duckdb-eh.wasm'), WASM);
  writeFileSync(join(dir, 'assets', 'duckdb-eh.wasm.br'), brotliCompressSync(WASM));
  writeFileSync(join(root, 'secret.txt'), 'outside the build');
  return dir;
}

const apps: FastifyInstance[] = [];
async function app(dir: string, storageOrigins: string[] = []): Promise<FastifyInstance> {
  const built = await buildApp({
    logger: createLogger('silent', 'test'),
    version: '0.0.0-test',
    readiness: [],
    auth,
    console: { dir, storageOrigins },
  });
  apps.push(built);
  return built;
}

afterAll(async () => {
  for (const built of apps) await built.close();
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the console routes', () => {
  const dir = fakeBuild();

  it('serves the page without a token, with a policy keeping it to our origin and the store', async () => {
    const api = await app(dir, ['http://127.0.0.1:9000']);
    const res = await api.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<title>Weir</title>');
    const policy = String(res.headers['content-security-policy']);
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("connect-src 'self' http://127.0.0.1:9000");
    expect(policy).toContain("'wasm-unsafe-eval'");
    expect(res.headers['cache-control']).toBe('no-cache');
    expect((await api.inject({ url: '/app.js' })).statusCode).toBe(200);
  });

  it('sends the Brotli copy to a browser that accepts it, the file itself otherwise', async () => {
    const api = await app(dir);
    const br = await api.inject({
      url: '/assets/duckdb-eh.wasm',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toBe('application/wasm');
    expect(brotliDecompressSync(br.rawPayload).equals(WASM)).toBe(true);
    const plain = await api.inject({
      url: '/assets/duckdb-eh.wasm',
      headers: { 'accept-encoding': 'identity' },
    });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.rawPayload.equals(WASM)).toBe(true);
  });

  it('answers 404 for files that are not in the build, and never reaches outside it', async () => {
    const api = await app(dir);
    for (const url of [
      '/assets/missing.wasm',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/.hidden',
      '/secret.txt',
    ]) {
      const res = await api.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('outside the build');
    }
  });

  it('says how to build the console when there is no build', async () => {
    const api = await app(join(root, 'nothing-here'));
    const res = await api.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ success: false, code: 'CONSOLE_NOT_BUILT' });
    expect(res.json().error).toContain('npm run build');
  });
});
