/** The planner's errors: WeirErrors whose code and HTTP status routes pass on unchanged. */
import { WeirError } from '../../../catalog/index.js';

/** A trigger the planner refuses: malformed (400) or naming something absent at the version (404). */
export function invalidTrigger(message: string, status = 400, details?: Record<string, unknown>): WeirError {
  return new WeirError('PLAN_INVALID_TRIGGER', message, status, details);
}

export function policyNotFound(policyId: string, version: number): WeirError {
  return new WeirError(
    'POLICY_NOT_FOUND',
    `policy ${policyId} does not exist at catalog version ${version}`,
    404,
    { field: 'policyId', policyId, catalogVersion: version },
  );
}

/** A stored policy whose definition the planner cannot use. */
export function invalidPolicy(policyId: string, message: string, field?: string): WeirError {
  return new WeirError('PLAN_INVALID_POLICY', `policy ${policyId}: ${message}`, 400, { policyId, field });
}

/** Stored plan bytes that do not hold a plan whose ids match its content. */
export function corruptPlan(message: string): WeirError {
  return new WeirError('PLAN_CORRUPT', `stored plan is invalid: ${message}`, 500);
}
