/** Continuous query definitions and runs (ARC-COMPAT.md "Continuous queries", ADR 0019). */
export {
  ContinuousQueries,
  type CqInput,
  type CqView,
  cqIdOf,
  durationMs,
  type ExecuteInput,
  type ExecuteOutcome,
} from './service.js';
