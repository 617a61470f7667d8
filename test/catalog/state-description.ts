/** A canonical, order-independent description of a tenant state, for equality checks. */
import type { TenantState } from '../../catalog/index.js';

export function describeState(state: TenantState) {
  const sortBy = <T>(items: T[], key: (t: T) => string) =>
    items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return {
    version: state.version,
    timestamp: state.timestamp,
    databases: sortBy([...state.databases.values()], (d) => d.name),
    tables: sortBy([...state.tables.values()], (t) => `${t.database}.${t.name}`).map(
      ({ partitions, ...table }) => ({
        ...table,
        partitions: [...partitions.keys()].sort(),
        files: sortBy(
          [...partitions.values()].flatMap((files) => [...files.values()]),
          (f) => f.path,
        ),
      }),
    ),
    policies: sortBy([...state.policies.values()], (p) => p.id),
    tombstones: sortBy([...state.tombstones], (t) => `${t.removedVersion}/${t.path}`),
    history: [...state.history],
  };
}
