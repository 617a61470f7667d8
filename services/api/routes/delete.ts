/** Deletes by WHERE in Arc's shape (ARC-COMPAT.md "Delete"): dry run, confirm, thresholds. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DeleteService } from '../../deletes/index.js';
import { assertDatabaseAccess } from '../auth.js';
import { errorBodySchema } from '../errors.js';
import { tenantOf } from '../tenant.js';

export interface DeleteRoutesOptions {
  deletes: DeleteService;
}

const deleteBody = z.strictObject({
  database: z.string().min(1).max(64),
  measurement: z.string().min(1).max(128).describe('The table rows are deleted from.'),
  where: z
    .string()
    .max(100_000)
    .default('')
    .describe('A SQL condition on the table’s columns; empty matches every row (needs confirm).'),
  dry_run: z.boolean().default(false).describe('Count what would be deleted; change nothing.'),
  confirm: z.boolean().default(false).describe('Required for any delete that is not a dry run.'),
});

const deleteAnswer = z.object({
  success: z.literal(true),
  deleted_count: z.number(),
  affected_files: z.number(),
  rewritten_files: z.number(),
  removed_files: z.number(),
  files_scanned: z.number(),
  execution_time_ms: z.number(),
  dry_run: z.boolean(),
  run_id: z.string().nullable(),
  catalog_version: z.number().describe('Version the matches were counted at.'),
  commit_version: z.number().nullable().describe('Version of the delete’s commit.'),
});

export const deleteRoutes: FastifyPluginAsyncZod<DeleteRoutesOptions> = async (app, { deletes }) => {
  app.post(
    '/api/v1/delete',
    {
      config: { permission: 'delete' },
      schema: {
        tags: ['delete'],
        summary: 'Delete the rows of a table that match a WHERE (rewrites their files in one commit)',
        body: deleteBody,
        response: {
          200: deleteAnswer,
          400: errorBodySchema,
          403: errorBodySchema,
          404: errorBodySchema,
          408: errorBodySchema,
          409: errorBodySchema,
          504: errorBodySchema,
        },
      },
    },
    async (request) => {
      const started = performance.now();
      const body = request.body;
      assertDatabaseAccess(request, body.database);
      const outcome = await deletes.delete({
        tenant: tenantOf(request),
        database: body.database,
        table: body.measurement,
        where: body.where,
        dryRun: body.dry_run,
        confirm: body.confirm,
        authorize: (database) => assertDatabaseAccess(request, database),
      });
      return {
        success: true as const,
        deleted_count: outcome.deletedRows,
        affected_files: outcome.affectedFiles,
        rewritten_files: outcome.rewrittenFiles,
        removed_files: outcome.removedFiles,
        files_scanned: outcome.scannedFiles,
        execution_time_ms: Math.round((performance.now() - started) * 100) / 100,
        dry_run: outcome.dryRun,
        run_id: outcome.runId,
        catalog_version: outcome.catalogVersion,
        commit_version: outcome.commitVersion ?? null,
      };
    },
  );

  app.get(
    '/api/v1/delete/config',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['delete'],
        summary: 'How deletes are confirmed and limited',
        response: {
          200: z.object({
            success: z.literal(true),
            enabled: z.literal(true),
            confirmation_threshold: z.number(),
            max_rows_per_delete: z.number(),
            implementation: z.string(),
          }),
        },
      },
    },
    async () => ({
      success: true as const,
      enabled: true as const,
      confirmation_threshold: deletes.limits.confirmationThreshold,
      max_rows_per_delete: deletes.limits.maxRows,
      implementation:
        'rewrite: affected files are rewritten without the matching rows and swapped in one commit',
    }),
  );
};
