/** Tenancy and API tokens (DESIGN.md §8, ADR 0012). */
export { assertCanGrant, assertCanManage, type Grant } from './authority.js';
export { type AuthContext, hasDatabaseAccess } from './context.js';
export { ForbiddenError, UnauthorizedError } from './errors.js';
export type { CreateTokenInput, IssuedToken, TokenInfo } from './records.js';
export type { TenantService } from './tenants.js';
export {
  type BootstrapResult,
  TokenService,
  type TokenServiceOptions,
  type UpdateTokenInput,
  type VerifyFailure,
  type VerifyResult,
} from './tokens.js';

/** The tenant `weir serve` creates on first start, with the bootstrap admin token. */
export const DEFAULT_TENANT = 'default';
