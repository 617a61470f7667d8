/** Tenants, for platform admins: create one with its first admin token, list them, drop one. */
import { CatalogConflictError, paths, type TenantRecord } from '../../catalog/index.js';
import { type IssuedToken, tokenAction, tokenInfo } from './records.js';
import type { SystemView } from './view.js';

export class TenantService {
  constructor(
    private readonly view: SystemView,
    private readonly now: () => number,
  ) {}

  /** The tenant and an admin token for it, in one commit: a new tenant is never left without one. */
  async create(
    id: string,
    displayName: string | undefined,
    author?: string,
  ): Promise<IssuedToken & { tenant: TenantRecord }> {
    // A dropped tenant's objects stay in storage; a new tenant under its id would read them.
    const { objects } = await this.view.system.log.store.list(paths.tenantPrefix(id), { maxKeys: 1 });
    if (objects.length > 0) {
      throw new CatalogConflictError(
        'TENANT_DATA_EXISTS',
        `tenant id ${id} was used before and its data is still stored: choose another id`,
        { tenant: id },
      );
    }
    const { secret, action } = tokenAction(
      id,
      { name: 'admin', description: `first admin token of tenant ${id}`, permissions: ['admin'] },
      this.now(),
    );
    const state = await this.view.commit([{ op: 'createTenant', tenant: id, displayName }, action], {
      operation: 'create-tenant',
      author,
    });
    return {
      tenant: state.tenants.get(id)!,
      token: secret,
      record: tokenInfo(state.tokens.get(action.id)!, null),
    };
  }

  async list(): Promise<TenantRecord[]> {
    return [...(await this.view.fresh()).tenants.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Drops the tenant and, in the same commit, every token of it. Its stored data stays. */
  async drop(id: string, author?: string): Promise<void> {
    await this.view.commit([{ op: 'dropTenant', tenant: id }], { operation: 'drop-tenant', author });
  }
}
