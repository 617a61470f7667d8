import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ZodError, z } from 'zod';
import { WeirError } from '../../catalog/errors.js';

/** The one error shape of every route (DESIGN §8). */
export const errorBodySchema = z
  .object({
    success: z.literal(false),
    error: z.string().describe('What went wrong and why.'),
    code: z.string().describe('Machine-readable code, e.g. VALIDATION_ERROR, NOT_FOUND.'),
  })
  .meta({ id: 'Error' });

export type ErrorBody = z.infer<typeof errorBodySchema>;

interface Mapped {
  status: number;
  body: ErrorBody;
}

const body = (code: string, error: string): ErrorBody => ({ success: false, error, code });

function zodMessage(error: ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`).join('; ');
}

/** Maps any thrown value to a status and body; only 4xx errors say what happened, 5xx stay generic. */
export function mapError(error: FastifyError | Error): Mapped {
  if (hasZodFastifySchemaValidationErrors(error)) {
    return { status: 400, body: body('VALIDATION_ERROR', error.message) };
  }
  if (error instanceof ZodError) return { status: 400, body: body('VALIDATION_ERROR', zodMessage(error)) };
  if (error instanceof WeirError) return { status: error.httpStatus, body: body(error.code, error.message) };
  // fastify's own client errors (bad JSON, unsupported media type, body too large) keep their status.
  const status = 'statusCode' in error ? error.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    const code = 'code' in error && typeof error.code === 'string' ? error.code : 'BAD_REQUEST';
    return { status, body: body(code, error.message) };
  }
  return { status: 500, body: body('INTERNAL_ERROR', 'internal server error') };
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body } = mapError(error);
    // Backpressure says when to come back (429 + Retry-After, DESIGN.md §5).
    const retryAfter = error instanceof WeirError ? error.details?.retryAfterSeconds : undefined;
    if (typeof retryAfter === 'number') void reply.header('Retry-After', String(retryAfter));
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.code, status }, body.error);
    return reply.status(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const url = request.url.length > 200 ? `${request.url.slice(0, 200)}…` : request.url;
    return reply.status(404).send(body('NOT_FOUND', `no route ${request.method} ${url}`));
  });
}
