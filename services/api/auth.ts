/**
 * Authentication and authorization of every request (DESIGN.md §8, ARC-COMPAT.md "Authentication").
 * A route states what it needs in its config — `public: true`, `permission: 'read' | 'write' |
 * 'delete' | 'admin'`, or `platformAdmin: true` — and a route stating none fails at start-up, so
 * nothing is served open by mistake. Handlers call `assertDatabaseAccess` once they know the database.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Permission } from '../../catalog/index.js';
import {
  type AuthContext,
  ForbiddenError,
  hasDatabaseAccess,
  type TokenService,
  UnauthorizedError,
} from '../auth/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without a token. */
    public?: boolean;
    /** What the token must be allowed to do (`admin` brings every permission). */
    permission?: Permission;
    /** Only platform admin tokens (tenant management). */
    platformAdmin?: boolean;
  }
  interface FastifyRequest {
    /** The verified token; null on public routes. */
    auth: AuthContext | null;
  }
}

const MISSING =
  'missing token: send Authorization: Bearer <token> (or Token <token>), x-api-key, ?p=<token> or basic auth';

/** The token of a request from the first place holding one: Bearer, Token, x-api-key, ?p=, basic auth. */
export function tokenFromRequest(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? '';
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const credentials = header.slice(space + 1).trim();
  if ((scheme === 'bearer' || scheme === 'token') && credentials) return credentials;
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey) return apiKey;
  // InfluxDB 1.x clients send the token as the password.
  const password = (request.query as { p?: unknown } | undefined)?.p;
  if (typeof password === 'string' && password) return password;
  if (scheme === 'basic' && credentials) {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0 && colon < decoded.length - 1) return decoded.slice(colon + 1);
  }
  return undefined;
}

/** Query parameters whose values are secrets: InfluxDB 1.x's token (`p`) and a signed URL's `sig`. */
const SECRET_PARAMETERS = new Set(['p', 'sig']);

/**
 * A URL with the values of secret parameters masked. Names are compared decoded, as the server
 * reads them: `?%70=` is `p`.
 */
function maskSecrets(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const hash = url.indexOf('#', query);
  const end = hash < 0 ? url.length : hash;
  const masked = url
    .slice(query + 1, end)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      let decoded: string;
      try {
        decoded = decodeURIComponent(name.replaceAll('+', ' '));
      } catch {
        decoded = name;
      }
      return SECRET_PARAMETERS.has(decoded) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, query + 1)}${masked.join('&')}${url.slice(end)}`;
}

/** The request as logs show it: fastify's fields, with secret query parameters masked. */
export function requestLogView(request: FastifyRequest) {
  return {
    method: request.method,
    url: maskSecrets(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** The verified token of a request; only public routes have none. */
export function authOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new Error(`route ${request.routeOptions.url} is public and has no token`);
  return request.auth;
}

/** 403 unless the request's token may use `database`. */
export function assertDatabaseAccess(request: FastifyRequest, database: string): void {
  if (!hasDatabaseAccess(authOf(request), database)) {
    throw new ForbiddenError(`this token has no access to database ${database}`, { database });
  }
}

/** The databases a token limited to some may use; undefined for a token that reaches them all. */
export function limitedDatabases(request: FastifyRequest): readonly string[] | undefined {
  return authOf(request).databases ?? undefined;
}

/** Refuses a token limited to some databases, for a request whose answer spans all of them (`what`). */
export function assertAllDatabases(request: FastifyRequest, what: string): void {
  const { databases } = authOf(request);
  if (databases !== null)
    throw new ForbiddenError(`${what}; this token reads only ${databases.join(', ')}`, { databases });
}

/**
 * Adds the checks to every route registered after it. `publicPrefixes`: routes of plugins whose
 * config we do not write (Swagger UI under /docs) that are public.
 */
export function registerAuth(
  app: FastifyInstance,
  tokens: TokenService,
  options: { publicPrefixes: readonly string[] },
): void {
  app.decorateRequest('auth', null);

  app.addHook('onRoute', (route) => {
    if (options.publicPrefixes.some((p) => route.url === p || route.url.startsWith(`${p}/`))) {
      route.config = { ...route.config, public: true };
    }
    const { public: open, permission, platformAdmin } = route.config ?? {};
    if (!open && !permission && !platformAdmin) {
      throw new Error(
        `route ${String(route.method)} ${route.url} must set config.public, config.permission or config.platformAdmin`,
      );
    }
  });

  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    // Unknown routes answer 404 whoever asks; the OpenAPI document lists every route anyway.
    if (request.is404 || config.public) return;
    const secret = tokenFromRequest(request);
    if (secret === undefined) throw new UnauthorizedError(MISSING);
    const result = await tokens.verify(secret);
    if (!result.ok) throw new UnauthorizedError(result.message);
    const auth = result.context;
    if (config.platformAdmin && !auth.platformAdmin) {
      throw new ForbiddenError('this endpoint needs a platform admin token');
    }
    if (config.permission && !auth.permissions.has(config.permission)) {
      throw new ForbiddenError(`this token lacks the ${config.permission} permission`, {
        permission: config.permission,
      });
    }
    request.auth = auth;
  });
}
