/**
 * The browser console (web/, built into dist/web by scripts/build-web.mjs): the page at `/` and
 * its script, stylesheet and WebAssembly files, all from our own origin. Public: the page asks for
 * a token itself. A content security policy keeps the page to our origin (and the object store's,
 * whose presigned URLs it reads), so nothing it runs can come from anywhere else.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { WeirError } from '../../../catalog/index.js';

export interface ConsoleRoutesOptions {
  /** The built console (dist/web). */
  dir: string;
  /** Origins besides ours the page may fetch from (the S3 endpoint of presigned URLs). */
  storageOrigins: readonly string[];
}

/** Files at the root of the build besides the page; everything else is under assets/. */
const ROOT_FILES = ['app.js', 'app.css', 'app.js.map', 'app.css.map'];
/** Names the build gives its assets: no path separators, no leading dot. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function policy(storageOrigins: readonly string[]): string {
  return [
    "default-src 'self'",
    // DuckDB-WASM and parquet-wasm compile WebAssembly; DuckDB-WASM runs in a worker of ours.
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    `connect-src 'self' ${storageOrigins.join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const consoleRoutes: FastifyPluginAsync<ConsoleRoutesOptions> = async (app, options) => {
  const built = existsSync(join(options.dir, 'index.html'));
  const csp = policy(options.storageOrigins);
  // preCompressed: the build's `.br` copies go to browsers that accept Brotli.
  if (built)
    await app.register(fastifyStatic, {
      root: options.dir,
      serve: false,
      cacheControl: false,
      preCompressed: true,
    });

  const send = (reply: FastifyReply, file: string) => {
    if (!built) {
      throw new WeirError(
        'CONSOLE_NOT_BUILT',
        `the browser console is not built at ${options.dir}: run \`npm run build\``,
        503,
      );
    }
    // Names are stable across builds: the browser revalidates (ETag) instead of caching blindly.
    reply.header('cache-control', 'no-cache');
    return reply.sendFile(file);
  };
  const route = { config: { public: true }, schema: { hide: true } } as const;

  app.get('/', route, (_request, reply) => {
    reply.header('content-security-policy', csp);
    reply.header('x-content-type-options', 'nosniff');
    return send(reply, 'index.html');
  });
  for (const file of ROOT_FILES) app.get(`/${file}`, route, (_request, reply) => send(reply, file));
  app.get<{ Params: { name: string } }>('/assets/:name', route, (request, reply) => {
    const { name } = request.params;
    if (!ASSET_NAME.test(name))
      throw new WeirError('NOT_FOUND', `no console asset ${name.slice(0, 100)}`, 404);
    return send(reply, `assets/${name}`);
  });
};
