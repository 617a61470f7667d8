/**
 * Request body compression. gzip uses the platform's `CompressionStream` (Node 20 and browsers);
 * zstd uses `@hpcc-js/wasm-zstd`, whose WebAssembly is inlined in its JavaScript, so it needs no
 * file to fetch at run time and no install step (ADR 0021). It is loaded on first use only, so
 * clients that never send zstd never load it.
 */
import type { Zstd } from '@hpcc-js/wasm-zstd';

export type Compression = 'none' | 'gzip' | 'zstd';

let zstd: Promise<Zstd> | undefined;

function loadZstd(): Promise<Zstd> {
  zstd ??= import('@hpcc-js/wasm-zstd').then((module) => module.Zstd.load());
  return zstd;
}

/** The body compressed as asked, and the `Content-Encoding` naming it (the server also sniffs magic bytes). */
export async function compress(
  body: Uint8Array,
  compression: Compression,
): Promise<{ body: Uint8Array; encoding?: string }> {
  if (compression === 'none') return { body };
  if (compression === 'zstd') return { body: (await loadZstd()).compress(body), encoding: 'zstd' };
  // The SDK's bodies live in plain ArrayBuffers (DOM typings refuse a possibly shared one).
  const stream = new Blob([body as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream('gzip'));
  return { body: new Uint8Array(await new Response(stream).arrayBuffer()), encoding: 'gzip' };
}
