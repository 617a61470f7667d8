import type { ObjectStore } from '../store/index.js';
import { TenantCatalog, type TenantCatalogOptions } from './catalog.js';

/** One TenantCatalog per tenant in this process, created on first use. */
export class TenantCatalogs {
  private readonly catalogs = new Map<string, TenantCatalog>();

  constructor(
    private readonly store: ObjectStore,
    private readonly options: TenantCatalogOptions = {},
  ) {}

  forTenant(tenant: string): TenantCatalog {
    let catalog = this.catalogs.get(tenant);
    if (!catalog) {
      catalog = new TenantCatalog(this.store, tenant, this.options);
      this.catalogs.set(tenant, catalog);
    }
    return catalog;
  }
}
