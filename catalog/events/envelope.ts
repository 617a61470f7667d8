/**
 * Tier 2 event records (DESIGN.md §4): run and task transitions, lineage observations,
 * ingest and query statistics. Each type belongs to one projection by its prefix.
 */
import { z } from 'zod';
import { EVENT_PROJECTIONS, type EventProjection, NAME_RULES } from '../paths.js';

const PROJECTION_BY_PREFIX: Record<string, EventProjection> = {
  run: 'runs',
  task: 'tasks',
  lineage: 'lineage_edges',
  ingest: 'ingest_stats',
};

export const eventEnvelopeSchema = z
  .object({
    /** `run.started`, `task.succeeded`, `lineage.edge`, `ingest.batch`… */
    type: z
      .string()
      .regex(
        /^(run|task|lineage|ingest)\.[a-z][a-z0-9_.-]{0,63}$/,
        'event type must start with run., task., lineage. or ingest.',
      ),
    /** Schema version of this event type's payload. */
    version: z.number().int().min(1).max(1000).default(1),
    tenant: z.string().regex(NAME_RULES.tenant, 'invalid tenant'),
    /** Events with equal keys are one event: readers and compaction fold them once. */
    idempotencyKey: z.string().min(1).max(512),
    /** Milliseconds since the epoch. */
    occurredAt: z.number().int().min(0),
    /** Component that observed it (`orchestrator`, `worker:host:pid`, `api`…). */
    source: z.string().min(1).max(200),
    payload: z.record(z.string(), z.unknown()),
  })
  .strict();

export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;
export type EventInput = z.input<typeof eventEnvelopeSchema>;

export function projectionOf(type: string): EventProjection {
  const projection = PROJECTION_BY_PREFIX[type.slice(0, type.indexOf('.'))];
  if (!projection) throw new Error(`event type ${type} belongs to no projection`);
  return projection;
}

export { EVENT_PROJECTIONS, type EventProjection };
