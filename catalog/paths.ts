/**
 * The one module that builds storage keys (DESIGN.md §3). Every key of a tenant lives under
 * `tenants/{tenant}/`; system metadata under `_system/`. Each part is checked against the
 * naming rules before it is joined, so no caller can smuggle `..`, separators, encodings or
 * control characters into a key, and nothing built for one tenant can land under another.
 */
import { InvalidNameError } from './errors.js';

export const NAME_RULES = {
  tenant: /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
  database: /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
  table: /^[A-Za-z][A-Za-z0-9_-]{0,127}$/,
  column: /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/,
  /** File, batch and task-derived ids: lowercase-safe tokens, never path-like. */
  objectId: /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/,
} as const;

export type NameKind = keyof typeof NAME_RULES;

const NAME_LABELS: Record<NameKind, string> = {
  tenant: 'tenant',
  database: 'database name',
  table: 'table name',
  column: 'column name',
  objectId: 'object id',
};

/** Throws InvalidNameError naming the bad value when `value` breaks the rule for `kind`. */
export function assertName(kind: NameKind, value: unknown): string {
  if (typeof value !== 'string' || !NAME_RULES[kind].test(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 200)) : String(value);
    throw new InvalidNameError(
      `invalid ${NAME_LABELS[kind]} ${shown}: must match ${NAME_RULES[kind].source}`,
      {
        kind,
        value: typeof value === 'string' ? value.slice(0, 200) : null,
      },
    );
  }
  return value;
}

export function isValidName(kind: NameKind, value: unknown): value is string {
  return typeof value === 'string' && NAME_RULES[kind].test(value);
}

const MAX_KEY_LENGTH = 1024;
// Control characters, backslash and percent (encoded traversal such as %2e%2e or %2f).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const FORBIDDEN_KEY_CHARS = /[\u0000-\u001f\u007f\\%]/;

/**
 * Second wall used by the object-store backends: a key must be relative, '/'-separated,
 * with no empty, '.' or '..' segments, no control characters, backslashes or percent signs.
 */
export function assertSafeKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new InvalidNameError(`invalid storage key: ${JSON.stringify(String(key).slice(0, 200))}`);
  }
  if (key.startsWith('/') || FORBIDDEN_KEY_CHARS.test(key)) {
    throw new InvalidNameError(`invalid storage key: ${JSON.stringify(key.slice(0, 200))}`);
  }
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || segment.trim() !== segment) {
      throw new InvalidNameError(`invalid storage key: ${JSON.stringify(key.slice(0, 200))}`);
    }
  }
  return key;
}

/** Whether `assertSafeKey` accepts the key. */
export function isSafeKey(key: unknown): boolean {
  try {
    assertSafeKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Like assertSafeKey for a listing prefix, which may end with '/' or be a partial segment. */
export function assertSafePrefix(prefix: unknown): string {
  if (prefix === '') return prefix;
  if (typeof prefix !== 'string') throw new InvalidNameError(`invalid storage prefix: ${String(prefix)}`);
  assertSafeKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

function pad20(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new InvalidNameError(`invalid catalog version: ${version}`);
  }
  return String(version).padStart(20, '0');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Where a catalog's metadata lives: one per tenant, plus the `_system` catalog of tenants. */
export type CatalogScope = { kind: 'tenant'; tenant: string } | { kind: 'system' };

export const SYSTEM_SCOPE: CatalogScope = { kind: 'system' };

/** Everything of the platform that belongs to no tenant: the `_system` catalog, the URL signing secret. */
export const SYSTEM_PREFIX = '_system/';

export function tenantScope(tenant: string): CatalogScope {
  return { kind: 'tenant', tenant: assertName('tenant', tenant) };
}

export function tenantPrefix(tenant: string): string {
  return `tenants/${assertName('tenant', tenant)}/`;
}

function catalogRoot(scope: CatalogScope): string {
  return scope.kind === 'system' ? `${SYSTEM_PREFIX}catalog/` : `${tenantPrefix(scope.tenant)}catalog/`;
}

export function scopeLabel(scope: CatalogScope): string {
  return scope.kind === 'system' ? '_system' : scope.tenant;
}

export const catalogKeys = {
  logPrefix(scope: CatalogScope): string {
    return `${catalogRoot(scope)}log/`;
  },
  log(scope: CatalogScope, version: number): string {
    return `${catalogRoot(scope)}log/${pad20(version)}.json`;
  },
  /** Parses a key from `logPrefix` back to its version; undefined for anything else. */
  parseLogVersion(scope: CatalogScope, key: string): number | undefined {
    const prefix = `${catalogRoot(scope)}log/`;
    if (!key.startsWith(prefix)) return undefined;
    const match = /^(\d{20})\.json$/.exec(key.slice(prefix.length));
    return match ? Number(match[1]) : undefined;
  },
  checkpointsPrefix(scope: CatalogScope): string {
    return `${catalogRoot(scope)}checkpoints/`;
  },
  /**
   * Named by its content, so a second writer of the same version (a retried task, a newer
   * encoding after a deploy) never overwrites the files a manifest already names.
   */
  checkpointFile(scope: CatalogScope, version: number, table: string, sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256))
      throw new RangeError(`checkpoint file digest ${sha256} is not a sha256`);
    return `${catalogRoot(scope)}checkpoints/${pad20(version)}/${assertName('table', table)}-${sha256.slice(0, 16)}.parquet`;
  },
  checkpointManifest(scope: CatalogScope, version: number): string {
    return `${catalogRoot(scope)}checkpoints/${pad20(version)}/_manifest.json`;
  },
  /** Parses a checkpoint manifest key back to its version; undefined for anything else. */
  parseCheckpointManifestVersion(scope: CatalogScope, key: string): number | undefined {
    const prefix = `${catalogRoot(scope)}checkpoints/`;
    if (!key.startsWith(prefix)) return undefined;
    const match = /^(\d{20})\/_manifest\.json$/.exec(key.slice(prefix.length));
    return match ? Number(match[1]) : undefined;
  },
  /** A hint naming the newest complete checkpoint; readers verify it and fall back to listing. */
  lastCheckpoint(scope: CatalogScope): string {
    return `${catalogRoot(scope)}_last_checkpoint.json`;
  },
};

/** An hour (or day) partition of a table, derived from `time` in UTC. */
export interface PartitionRef {
  /** YYYY-MM-DD */
  date: string;
  /** 0–23, or undefined for day partitioning. */
  hour?: number;
}

const DATE_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export function assertPartition(partition: PartitionRef): PartitionRef {
  if (!DATE_RE.test(partition.date)) throw new InvalidNameError(`invalid partition date: ${partition.date}`);
  if (
    partition.hour !== undefined &&
    !(Number.isInteger(partition.hour) && partition.hour >= 0 && partition.hour < 24)
  ) {
    throw new InvalidNameError(`invalid partition hour: ${partition.hour}`);
  }
  return partition;
}

/** The partition's canonical text form, `date=YYYY-MM-DD/hour=HH` or `date=YYYY-MM-DD`. */
export function partitionPath(partition: PartitionRef): string {
  assertPartition(partition);
  return partition.hour === undefined
    ? `date=${partition.date}`
    : `date=${partition.date}/hour=${pad2(partition.hour)}`;
}

const PARTITION_PATH_RE = /^date=(\d{4}-\d{2}-\d{2})(?:\/hour=(\d{2}))?$/;

export function parsePartitionPath(text: string): PartitionRef {
  const match = PARTITION_PATH_RE.exec(text);
  if (!match) throw new InvalidNameError(`invalid partition: ${JSON.stringify(text.slice(0, 100))}`);
  const partition: PartitionRef = { date: match[1]! };
  if (match[2] !== undefined) partition.hour = Number(match[2]);
  return assertPartition(partition);
}

export const dataKeys = {
  /** Where every data file of the tenant lives. */
  prefix(tenant: string): string {
    return `${tenantPrefix(tenant)}data/`;
  },
  tablePrefix(tenant: string, database: string, table: string): string {
    return `${tenantPrefix(tenant)}data/${assertName('database', database)}/${assertName('table', table)}/`;
  },
  file(tenant: string, database: string, table: string, partition: PartitionRef, fileId: string): string {
    return `${dataKeys.tablePrefix(tenant, database, table)}${partitionPath(partition)}/${assertName('objectId', fileId)}.parquet`;
  },
  /**
   * `key` when it is a safe key under the tenant's data prefix (what a query may open and a signed
   * URL may name); InvalidNameError for any other key, the tenant's catalog and staging included.
   */
  assertOfTenant(tenant: string, key: string): string {
    if (typeof key !== 'string' || !key.startsWith(dataKeys.prefix(tenant)))
      throw new InvalidNameError(`${String(key).slice(0, 200)} is not a data file of tenant ${tenant}`);
    return assertSafeKey(key);
  },
  /** The tenant of a data file key (`tenants/{tenant}/data/…`); undefined for any other key. */
  tenantOf(key: string): string | undefined {
    const tenant = /^tenants\/([^/]+)\/data\//.exec(key)?.[1];
    if (tenant === undefined || !isValidName('tenant', tenant)) return undefined;
    try {
      dataKeys.assertOfTenant(tenant, key);
      return tenant;
    } catch {
      return undefined;
    }
  },
};

/** Keys of the `_system` prefix outside its catalog. */
export const systemKeys = {
  /**
   * The HMAC secret of the local store's signed URLs (ADR 0023), created once with put-if-absent
   * so every API node of a fleet signs and verifies with the same one. Never a data key: no
   * signed URL can name it.
   */
  urlSigningSecret: `${SYSTEM_PREFIX}signing/url-secret.json`,
  /** The deployment's id, created once with put-if-absent: the processes sharing this store. */
  deployment: `${SYSTEM_PREFIX}deployment.json`,
};

export const stagingKeys = {
  prefix(tenant: string): string {
    return `${tenantPrefix(tenant)}staging/`;
  },
  batch(tenant: string, batchId: string): string {
    return `${tenantPrefix(tenant)}staging/${assertName('objectId', batchId)}.arrows`;
  },
};

export const EVENT_PROJECTIONS = ['runs', 'tasks', 'lineage_edges', 'ingest_stats'] as const;
export type EventProjection = (typeof EVENT_PROJECTIONS)[number];

export const eventKeys = {
  prefix(tenant: string): string {
    return `${tenantPrefix(tenant)}events/`;
  },
  /** Batches live under their hour; the ULID orders them within it. */
  batch(tenant: string, occurredAtMs: number, batchUlid: string): string {
    const d = new Date(occurredAtMs);
    if (Number.isNaN(d.getTime())) throw new InvalidNameError(`invalid event time: ${occurredAtMs}`);
    const path = `${d.getUTCFullYear()}/${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())}/${pad2(d.getUTCHours())}`;
    return `${tenantPrefix(tenant)}events/${path}/${assertName('objectId', batchUlid)}.ndjson`;
  },
  /** Batch keys sort by hour then ULID, so a key works as a listing watermark. */
  isBatch(tenant: string, key: string): boolean {
    const rest = key.startsWith(eventKeys.prefix(tenant)) ? key.slice(eventKeys.prefix(tenant).length) : '';
    return /^\d{4}\/\d{2}\/\d{2}\/\d{2}\/[A-Za-z0-9_-]+\.ndjson$/.test(rest);
  },
  compactedPrefix(tenant: string): string {
    return `${tenantPrefix(tenant)}events/compacted/`;
  },
  compactedFile(tenant: string, projection: EventProjection, fileId: string): string {
    if (!EVENT_PROJECTIONS.includes(projection))
      throw new InvalidNameError(`unknown projection: ${projection}`);
    return `${tenantPrefix(tenant)}events/compacted/${projection}/${assertName('objectId', fileId)}.parquet`;
  },
  /** Manifests are numbered; the newest one names the watermark and the live projection files. */
  compactedManifest(tenant: string, generation: number): string {
    return `${tenantPrefix(tenant)}events/compacted/manifests/${pad20(generation)}.json`;
  },
  compactedManifestPrefix(tenant: string): string {
    return `${tenantPrefix(tenant)}events/compacted/manifests/`;
  },
  parseCompactedManifestGeneration(tenant: string, key: string): number | undefined {
    const prefix = eventKeys.compactedManifestPrefix(tenant);
    if (!key.startsWith(prefix)) return undefined;
    const match = /^(\d{20})\.json$/.exec(key.slice(prefix.length));
    return match ? Number(match[1]) : undefined;
  },
};

/** Recorded plans: written once with put-if-absent, which is what makes one trigger one run. */
export const runKeys = {
  prefix(tenant: string): string {
    return `${tenantPrefix(tenant)}runs/`;
  },
  plan(tenant: string, runId: string): string {
    return `${tenantPrefix(tenant)}runs/${assertName('objectId', runId)}/plan.json`;
  },
};

/**
 * Replay scratch space (DESIGN.md §6): a replay re-executes a run's tasks into
 * `tenants/{tenant}/scratch/{replayId}/`, and every key there mirrors the tenant-relative key
 * the task writes for real (`data/{db}/{table}/{partition}/{file}.parquet`, `catalog/…`), so a
 * replayed output and the original share their relative path. Nothing under scratch is committed.
 */
export const scratchKeys = {
  prefix(tenant: string, replayId: string): string {
    return `${tenantPrefix(tenant)}scratch/${assertName('objectId', replayId)}/`;
  },
  /** The replay id of a prefix built by `prefix` for `tenant`; InvalidNameError for anything else. */
  parsePrefix(tenant: string, prefix: string): string {
    const root = `${tenantPrefix(tenant)}scratch/`;
    const replayId = prefix.startsWith(root) && prefix.endsWith('/') ? prefix.slice(root.length, -1) : '';
    if (!isValidName('objectId', replayId)) {
      throw new InvalidNameError(
        `invalid scratch prefix ${JSON.stringify(prefix.slice(0, 200))}: expected ${root}{replay-id}/`,
      );
    }
    return replayId;
  },
  /** A key of `tenant` (outside scratch) mirrored under the replay's scratch prefix. */
  mirror(tenant: string, replayId: string, key: string): string {
    const root = tenantPrefix(tenant);
    const rest = assertSafeKey(key).startsWith(root) ? key.slice(root.length) : '';
    if (rest === '' || rest.startsWith('scratch/')) {
      throw new InvalidNameError(
        `cannot mirror ${JSON.stringify(key.slice(0, 200))} into scratch: not a key of tenant ${tenant}`,
      );
    }
    return assertSafeKey(`${scratchKeys.prefix(tenant, replayId)}${rest}`);
  },
  /** Where a replay writes the data file that `dataKeys.file` names for the real run. */
  dataFile(
    tenant: string,
    replayId: string,
    database: string,
    table: string,
    partition: PartitionRef,
    fileId: string,
  ): string {
    return scratchKeys.mirror(tenant, replayId, dataKeys.file(tenant, database, table, partition, fileId));
  },
};
