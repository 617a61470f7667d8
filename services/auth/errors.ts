import { WeirError } from '../../catalog/index.js';

/** A valid token that may not do what the request asks (permission, database, authority). */
export class ForbiddenError extends WeirError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('FORBIDDEN', message, 403, details);
  }
}

/** No token, or one that is unknown, revoked, disabled or expired. */
export class UnauthorizedError extends WeirError {
  constructor(message: string) {
    super('UNAUTHORIZED', message, 401);
  }
}
