import type { z } from 'zod';
import { CatalogRequestError } from '../errors.js';

/** Validates a commit's raw actions with a catalog's schema; the error names the first bad field. */
export function parseActionsWith<T>(schema: z.ZodType<T>, raw: unknown, catalog: string): T[] {
  const parsed = schema.array().min(1, 'a commit needs at least one action').safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CatalogRequestError(
      'INVALID_ACTION',
      `invalid ${catalog} action at ${issue.path.join('.') || 'actions'}: ${issue.message}`,
    );
  }
  return parsed.data;
}
