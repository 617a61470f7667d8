/** Tokens for tests: a TokenService over a store, with tenant `default` and its bootstrap admin token. */
import { type ObjectStore, SystemCatalog } from '../../catalog/index.js';
import { DEFAULT_TENANT, TokenService } from '../../services/auth/index.js';

export interface TestAuth {
  auth: TokenService;
  /** Admin and platform admin token of tenant `default`. */
  adminToken: string;
  /** `authorization: Bearer <adminToken>`. */
  headers: { authorization: string };
}

export async function bootstrapTestAuth(store: ObjectStore, cacheTtlMs = 5_000): Promise<TestAuth> {
  const auth = new TokenService(new SystemCatalog(store), { cacheTtlMs });
  const { secret } = await auth.bootstrap({ tenant: DEFAULT_TENANT });
  if (!secret) throw new Error('the store already holds tokens: bootstrap generated none');
  return { auth, adminToken: secret, headers: { authorization: `Bearer ${secret}` } };
}
