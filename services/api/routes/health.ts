import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

export interface ReadinessCheck {
  /** Key in the /ready answer, e.g. `redis`, `object_store`. */
  name: string;
  /** Resolves when the dependency is usable; rejects with the reason otherwise. */
  check(): Promise<void>;
}

export interface HealthRoutesOptions {
  readiness: readonly ReadinessCheck[];
  /** Longest one check may take before it counts as failed. */
  checkTimeoutMs: number;
}

const healthSchema = z.object({
  status: z.literal('ok'),
  time: z.string().describe('Server time, RFC 3339.'),
  uptime: z.string().describe('Process uptime, e.g. "1h2m3s".'),
  uptime_sec: z.number().describe('Process uptime in seconds.'),
});

const checkSchema = z.object({
  ok: z.boolean(),
  latency_ms: z.number(),
  error: z.string().optional().describe('Why the dependency is not usable.'),
});

const readySchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), checkSchema).describe('One entry per dependency: object store, Redis.'),
});

/** The InfluxDB version whose write API Weir's line-protocol endpoints follow. */
const INFLUX_COMPAT_VERSION = '1.8.10';

/** Uptime as Arc prints it (Go's duration format, whole seconds). */
function formatUptime(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${m}m${s % 60}s`;
  return m > 0 ? `${m}m${s % 60}s` : `${s % 60}s`;
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<z.infer<typeof checkSchema>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check.check(), timeout]);
    return { ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      ok: false,
      latency_ms: Math.round(performance.now() - started),
      error: (error as Error).message,
    };
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, options) => {
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness: the process is up',
        tags: ['operations'],
        response: { 200: healthSchema },
      },
    },
    async () => {
      const uptime = process.uptime();
      return {
        status: 'ok' as const,
        time: new Date().toISOString(),
        uptime: formatUptime(uptime),
        uptime_sec: Math.floor(uptime),
      };
    },
  );

  // InfluxDB clients and Telegraf probe /ping before writing (204 and a version header).
  app.route({
    method: ['GET', 'HEAD'],
    url: '/ping',
    config: { public: true },
    schema: {
      summary: 'InfluxDB-compatible liveness probe',
      tags: ['operations'],
      response: { 204: z.null() },
    },
    handler: async (_request, reply) =>
      reply
        .status(204)
        .header('x-influxdb-version', INFLUX_COMPAT_VERSION)
        .header('x-influxdb-build', 'Weir')
        .send(null),
  });

  app.get(
    '/ready',
    {
      config: { public: true },
      schema: {
        summary: 'Readiness: the object store and Redis answer',
        tags: ['operations'],
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const results = await Promise.all(options.readiness.map((c) => runCheck(c, options.checkTimeoutMs)));
      const checks = Object.fromEntries(options.readiness.map((c, i) => [c.name, results[i]!]));
      const ready = results.every((r) => r.ok);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );
};
