/**
 * One DuckDB instance per tenant that is querying (DESIGN.md §7, second wall): each can open only
 * its tenant's data directory, loads no extension and has its configuration locked, so a statement
 * the guard wrongly let through still cannot read another tenant's files or the server's disk.
 * Instances are created on first use and the least recently used idle one is closed past the limit.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { lockDown } from './parser.js';

export interface EngineOptions {
  /** Threads per instance (DuckDB's default: one per core). */
  threads?: number;
  /** Memory limit per instance, e.g. '2GB' (default: `defaultEngineMemoryLimit`). */
  memoryLimit?: string;
  /** Most instances kept open at once. */
  maxInstances: number;
  /** Where each instance gets a spill directory of its own (default: the OS temp directory). */
  spillDir?: string;
}

interface Engine {
  instance: Promise<{ instance: DuckDBInstance; spill: string }>;
  active: number;
  /** Connections a finished query left, for the next (queries leave no state on them). */
  idle: DuckDBConnection[];
}

/**
 * An engine's memory limit when none is configured: an equal share, among the most engines open
 * at once, of half the machine's memory. DuckDB's own default is 80% of the memory for each
 * instance, so two tenants' heavy queries together could take the host; past its limit DuckDB
 * spills to its directory, or fails that query alone.
 */
export function defaultEngineMemoryLimit(maxInstances: number): string {
  return `${Math.max(1, Math.floor(totalmem() / 2 / maxInstances / 2 ** 20))}MiB`;
}

/** Idle connections kept per engine: enough for the queries that run at once on two cores. */
const MAX_IDLE_CONNECTIONS = 4;

export class TenantEngines {
  /** In least-recently-used order. */
  private readonly engines = new Map<string, Engine>();

  constructor(
    private readonly options: EngineOptions,
    private readonly directories: (tenant: string) => string[],
  ) {}

  /**
   * Runs `work` on a connection of the tenant's instance. Work must leave no state on it (the
   * guard lets no statement create any); a connection whose work failed is closed, not reused.
   */
  async withConnection<T>(tenant: string, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    let engine = this.engines.get(tenant);
    if (!engine) {
      engine = { instance: this.open(tenant), active: 0, idle: [] };
      engine.instance.catch(() => this.engines.delete(tenant));
    }
    this.engines.delete(tenant);
    this.engines.set(tenant, engine);
    engine.active++;
    try {
      const connection = engine.idle.pop() ?? (await (await engine.instance).instance.connect());
      let reusable = false;
      try {
        const value = await work(connection);
        reusable = true;
        return value;
      } finally {
        if (reusable && engine.idle.length < MAX_IDLE_CONNECTIONS && this.engines.get(tenant) === engine)
          engine.idle.push(connection);
        else connection.closeSync();
      }
    } finally {
      engine.active--;
      this.evict();
    }
  }

  private async open(tenant: string): Promise<{ instance: DuckDBInstance; spill: string }> {
    // DuckDB lets an instance open its spill directory whatever allowed_directories says: one per
    // instance, so no tenant's engine can open another's spilled data (DuckDB's default, ./.tmp,
    // would be shared by all).
    const root = this.options.spillDir ?? tmpdir();
    await mkdir(root, { recursive: true });
    const spill = await mkdtemp(join(root, `weir-spill-${tenant}-`));
    const config: Record<string, string> = {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      temp_directory: spill,
    };
    if (this.options.threads !== undefined) config.threads = String(this.options.threads);
    config.memory_limit = this.options.memoryLimit ?? defaultEngineMemoryLimit(this.options.maxInstances);
    const instance = await DuckDBInstance.create(':memory:', config).catch(async (error: unknown) => {
      await rm(spill, { recursive: true, force: true });
      throw error;
    });
    try {
      const connection = await instance.connect();
      try {
        // Data files never change: their footers are read once per instance, not once per query.
        await connection.run('SET GLOBAL parquet_metadata_cache = true');
        await lockDown(connection, this.directories(tenant));
      } finally {
        connection.closeSync();
      }
    } catch (error) {
      instance.closeSync();
      await rm(spill, { recursive: true, force: true });
      throw error;
    }
    return { instance, spill };
  }

  private evict(): void {
    for (const [tenant, engine] of this.engines) {
      if (this.engines.size <= this.options.maxInstances) return;
      if (engine.active > 0) continue;
      this.engines.delete(tenant);
      shut(engine);
    }
  }

  close(): void {
    for (const engine of this.engines.values()) shut(engine);
    this.engines.clear();
  }
}

function shut(engine: Engine): void {
  for (const connection of engine.idle.splice(0)) connection.closeSync();
  void engine.instance
    .then(({ instance, spill }) => {
      instance.closeSync();
      return rm(spill, { recursive: true, force: true });
    })
    .catch(() => undefined);
}
