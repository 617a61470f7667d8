/**
 * The SDK as a browser gets it: bundled by esbuild for the browser platform (which fails on any
 * Node built-in, `node:` or bare) with the packages' browser builds, then run in a fresh V8
 * context that has the web platform's globals only (fetch, streams, CompressionStream, crypto,
 * WebAssembly…) and no `process`, `Buffer` or `require`. There it writes (gzip and zstd, buffered
 * too) and queries (JSON, Arrow, CSV and Arrow streams) against a real `weir serve`.
 */
import { createContext, runInContext } from 'node:vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type SdkServer, startSdkServer } from './server.js';

/** Web platform globals Node 20 shares with browsers; nothing Node-only. */
const WEB_GLOBALS = [
  'fetch',
  'Request',
  'Response',
  'Headers',
  'URL',
  'URLSearchParams',
  'TextEncoder',
  'TextDecoder',
  'Blob',
  'ReadableStream',
  'WritableStream',
  'TransformStream',
  'CompressionStream',
  'AbortController',
  'AbortSignal',
  'DOMException',
  'setTimeout',
  'clearTimeout',
  'queueMicrotask',
  'crypto',
  'WebAssembly',
] as const;

let server: SdkServer;
let bundle: string;

beforeAll(async () => {
  const built = await build({
    entryPoints: ['sdk/index.ts'],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'WeirSDK',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  bundle = built.outputFiles[0]!.text;
  // The browser builds were picked, not the Node ones.
  const inputs = Object.keys(built.metafile.inputs);
  expect(inputs.some((path) => path.includes('apache-arrow/Arrow.dom.mjs'))).toBe(true);
  expect(inputs.some((path) => path.includes('Arrow.node'))).toBe(false);
  server = await startSdkServer();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

it('runs in a context with web globals only: writes and queries against a real server', async () => {
  const context = createContext(
    Object.fromEntries(WEB_GLOBALS.map((name) => [name, (globalThis as Record<string, unknown>)[name]])),
  );
  runInContext(bundle, context);
  const script = `(async () => {
    const seen = { process: typeof process, Buffer: typeof Buffer, require: typeof require };
    const client = new WeirSDK.WeirClient({ url: ${JSON.stringify(server.url)}, token: ${JSON.stringify(server.token)}, database: 'web' });
    const T0 = Date.UTC(2026, 2, 1);
    await client.writeColumnar({ table: 'gz', columns: { time: [T0, T0 + 1000], host: ['a', 'b'], v: [1.5, 2.5] }, tags: ['host'] });
    await client.writeRows([{ table: 'zs', time: T0, tags: { host: 'c' }, fields: { v: 3 } }], { compression: 'zstd' });
    const writer = client.bufferedWriter({ batchSize: 10, flushInterval: 50 });
    await writer.writeColumnar({ table: 'bw', columns: { time: Array.from({ length: 25 }, (_, i) => T0 + i * 1000), v: Array.from({ length: 25 }, (_, i) => i) } });
    await writer.close();
    const sql = 'SELECT (SELECT count(*) FROM gz) AS gz, (SELECT count(*) FROM zs) AS zs, (SELECT count(*) FROM bw) AS bw';
    let counts;
    for (let i = 0; i < 200; i++) {
      const answer = await client.query(sql).catch(() => undefined);
      counts = answer && answer.data[0];
      if (counts && counts.join() === '2,1,25') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const table = await client.queryArrow('SELECT host, v FROM gz ORDER BY time');
    const csv = [];
    for await (const record of client.streamCsv('SELECT host, v FROM gz ORDER BY time')) csv.push(record);
    let streamed = 0;
    for await (const batch of client.streamArrow('SELECT i FROM range(100000) t(i)')) streamed += batch.numRows;
    let unauthorized;
    try { await new WeirSDK.WeirClient({ url: ${JSON.stringify(server.url)}, token: 'nope' }).query('SELECT 1'); }
    catch (error) { unauthorized = [error instanceof WeirSDK.AuthenticationError, error.status, error.code]; }
    return JSON.stringify({
      seen, counts, stats: writer.stats,
      arrow: [table.numRows, table.getChild('host').get(1), table.getChild('v').get(1)],
      csv, streamed, unauthorized,
    });
  })()`;
  const result = JSON.parse(await runInContext(script, context));
  expect(result).toEqual({
    seen: { process: 'undefined', Buffer: 'undefined', require: 'undefined' },
    counts: [2, 1, 25],
    stats: expect.objectContaining({ rowsWritten: 25, batchesWritten: 3, failedBatches: 0 }),
    arrow: [2, 'b', 2.5],
    csv: [
      { host: 'a', v: '1.5' },
      { host: 'b', v: '2.5' },
    ],
    streamed: 100_000,
    unauthorized: [true, 401, 'UNAUTHORIZED'],
  });
});
