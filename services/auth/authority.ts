/** Rules that keep an admin token from handing out, or taking over, more than it holds itself. */
import type { AuthContext } from './context.js';
import { ForbiddenError } from './errors.js';

export interface Grant {
  readonly platformAdmin: boolean;
  /** null: every database. */
  readonly databases: readonly string[] | null;
}

/** Creating or widening a token: only what the acting token has itself. */
export function assertCanGrant(actor: AuthContext, grant: Grant): void {
  if (grant.platformAdmin && !actor.platformAdmin) {
    throw new ForbiddenError('only a platform admin token may grant platform admin');
  }
  if (actor.databases === null) return;
  if (grant.databases === null) {
    throw new ForbiddenError(
      'this token is limited to some databases and cannot grant access to all of them',
    );
  }
  const outside = grant.databases.filter((d) => !actor.databases!.includes(d));
  if (outside.length > 0) {
    throw new ForbiddenError(`this token has no access to database ${outside.join(', ')}`, {
      databases: outside,
    });
  }
}

/**
 * Updating, rotating, revoking or deleting a token needs authority over all it holds: rotating a
 * platform admin token would otherwise hand its power to whoever asked.
 */
export function assertCanManage(actor: AuthContext, token: Grant): void {
  assertCanGrant(actor, token);
}
