/**
 * A real API for the signed URL and browser session tests, listening on a free port: tenants `acme`
 * and `other` with real Parquet data files, the query service, browser sessions and `/files` over
 * one local store. `acme` has `metrics.cpu` (six hourly files), `metrics.mem` (two), `metrics.disk`
 * (one; the time travel test adds another) and `ops.deploys`; `other` has its own `metrics.cpu`
 * under the same file names.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import {
  LocalObjectStore,
  LocalUrlSigner,
  type ObjectStore,
  SigningSecret,
  type TenantCatalog,
  TenantCatalogs,
  type UrlSigner,
} from '../../catalog/index.js';
import type { BrowserSession } from '../../sdk/index.js';
import { type ApiDeps, buildApp } from '../../services/api/index.js';
import type { TokenService } from '../../services/auth/index.js';
import { BrowserSessions, SignedFiles } from '../../services/browser/index.js';
import { QueryService, queryFilesFor } from '../../services/query/index.js';
import { openWorkerDuckDB } from '../../workers/tasks/index.js';
import { bootstrapTestAuth } from '../helpers/auth.js';
import { BASE_US, createDataTable, HOUR_US, writeDataFiles } from '../helpers/data-files.js';

export const CPU_HOURS = 6;
export const ROWS_PER_FILE = 20;
export const TTL = { defaultSeconds: 300, maxSeconds: 3600 };

/** µs of the start of hour `h` of the fixture's day (2026-03-01). */
export const hourUs = (h: number) => BASE_US + h * HOUR_US;
/** RFC 3339 text of the start of hour `h`. */
export const hourIso = (h: number) => new Date(hourUs(h) / 1000).toISOString();

export interface Tokens {
  acme: string;
  other: string;
  /** acme, read, database `ops` only. */
  opsReader: string;
  /** acme, write only. */
  writer: string;
}

export interface SignedFixture {
  dir: string;
  store: LocalObjectStore;
  catalogs: TenantCatalogs;
  auth: TokenService;
  tokens: Tokens;
  query: QueryService;
  signer: LocalUrlSigner;
  /** Base URL of the listening API. */
  url: string;
  /** Opens another API over `store` and `signer` (S3), sharing the tokens; closed with the fixture. */
  openApi(deps: { store: ObjectStore; signer: UrlSigner; cacheDir: string }): Promise<string>;
  close(): Promise<void>;
}

/** Rows of one hourly file: `ROWS_PER_FILE` rows a second apart, two hosts, and `fields`. */
function hourRows(hour: number, fields: string): string {
  return `SELECT make_timestamp(${hourUs(hour)}::BIGINT + i * 1_000_000) AS time, 'h' || (i % 2) AS host,
    ${fields} FROM range(${ROWS_PER_FILE}) t(i)`;
}

async function fill(catalog: TenantCatalog, store: LocalObjectStore, seed: number, full: boolean) {
  const duckdb = await openWorkerDuckDB({ threads: 1 });
  try {
    const write = async (database: string, table: string, files: { fileId: string; sql: string }[]) =>
      writeDataFiles({ store, catalog, database, table, files, commit: 'one', duckdb });
    await createDataTable(catalog, 'metrics', 'cpu', {
      tags: ['host'],
      fields: { usage: 'float64', procs: 'int64' },
    });
    const hours = full ? CPU_HOURS : 2;
    await write(
      'metrics',
      'cpu',
      Array.from({ length: hours }, (_, h) => ({
        fileId: `h${h}`,
        sql: hourRows(h, `(i + ${seed}) * 1.5 AS usage, (i * 7 + ${seed}) % 11 AS procs`),
      })),
    );
    if (!full) return;
    await createDataTable(catalog, 'metrics', 'mem', { tags: ['host'], fields: { used: 'float64' } });
    await write(
      'metrics',
      'mem',
      [0, 1].map((h) => ({ fileId: `h${h}`, sql: hourRows(h, `(i + ${seed}) * 2.5 AS used`) })),
    );
    await createDataTable(catalog, 'metrics', 'disk', { tags: ['host'], fields: { free: 'int64' } });
    await write('metrics', 'disk', [
      { fileId: 'h0', sql: `SELECT make_timestamp(${hourUs(0)}::BIGINT) AS time, 'h0' AS host, 1 AS free` },
    ]);
    await createDataTable(catalog, 'ops', 'deploys', { tags: ['host'], fields: { version: 'string' } });
    await write('ops', 'deploys', [
      {
        fileId: 'all',
        sql: `SELECT make_timestamp(${hourUs(0)}::BIGINT) AS time, 'h0' AS host, 'v1' AS version`,
      },
    ]);
  } finally {
    duckdb.closeSync();
  }
}

export async function startSignedFixture(): Promise<SignedFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-browser-'));
  const store = new LocalObjectStore(join(dir, 'objects'));
  // Tenants are registered while their prefixes are empty.
  const { auth } = await bootstrapTestAuth(store);
  const tokens: Tokens = {
    acme: (await auth.tenants.create('acme', 'Acme')).token,
    other: (await auth.tenants.create('other', 'Other')).token,
    opsReader: (await auth.create('acme', { name: 'ops', permissions: ['read'], databases: ['ops'] })).token,
    writer: (await auth.create('acme', { name: 'w', permissions: ['write'] })).token,
  };
  const catalogs = new TenantCatalogs(store);
  await fill(catalogs.forTenant('acme'), store, 0, true);
  await fill(catalogs.forTenant('other'), store, 1000, false);

  const services: QueryService[] = [];
  const apps: FastifyInstance[] = [];
  const listen = async (deps: Omit<ApiDeps, 'logger' | 'version' | 'readiness' | 'auth'>) => {
    const app = await buildApp({
      logger: pino({ level: 'silent' }),
      version: 'test',
      readiness: [],
      auth,
      ...deps,
    });
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  };
  const openQuery = async (over: TenantCatalogs, files: ReturnType<typeof queryFilesFor>) => {
    const service = await QueryService.open({
      catalogs: over,
      files,
      engine: { threads: 1, maxInstances: 2 },
      timeoutMs: 30_000,
    });
    services.push(service);
    return service;
  };

  const query = await openQuery(catalogs, queryFilesFor(store, join(dir, 'cache'), 1 << 30));
  const signer = new LocalUrlSigner(new SigningSecret(store));
  const url = await listen({
    query: { service: query, catalogs, limits: { maxRows: 10_000, maxBytes: 1 << 24 } },
    browser: { sessions: new BrowserSessions({ query, signer, ttl: TTL }) },
    files: { files: new SignedFiles(store, signer) },
  });

  return {
    dir,
    store,
    catalogs,
    auth,
    tokens,
    query,
    signer,
    url,
    async openApi(deps) {
      const over = new TenantCatalogs(deps.store);
      const service = await openQuery(over, queryFilesFor(deps.store, deps.cacheDir, 1 << 30));
      return listen({
        browser: { sessions: new BrowserSessions({ query: service, signer: deps.signer, ttl: TTL }) },
      });
    },
    async close() {
      for (const app of apps) await app.close();
      for (const service of services) service.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `fetch` of a path of `base` with a token. */
export function call(base: string, path: string, token: string | undefined, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  return fetch(`${base}${path}`, { ...init, headers });
}

/** POST /api/v1/browser/session; answers the status and the JSON body. */
export async function postSession(
  base: string,
  body: unknown,
  token: string | undefined,
): Promise<{ status: number; body: BrowserSession & ErrorJson }> {
  const res = await call(base, '/api/v1/browser/session', token, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as BrowserSession & ErrorJson };
}

export interface ErrorJson {
  success: false;
  error: string;
  code: string;
}
