/**
 * One DuckDB instance per tenant that is querying (DESIGN.md §7, second wall): each can open only
 * its tenant's data directory, loads no extension and has its configuration locked, so a statement
 * the guard wrongly let through still cannot read another tenant's files or the server's disk.
 * Instances are created on first use and the least recently used idle one is closed past the limit.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { lockDown } from './parser.js';

export interface EngineOptions {
  /** Threads per instance (DuckDB's default: one per core). */
  threads?: number;
  /** Memory limit per instance, e.g. '2GB'. */
  memoryLimit?: string;
  /** Most instances kept open at once. */
  maxInstances: number;
}

interface Engine {
  instance: Promise<DuckDBInstance>;
  active: number;
}

export class TenantEngines {
  /** In least-recently-used order. */
  private readonly engines = new Map<string, Engine>();

  constructor(
    private readonly options: EngineOptions,
    private readonly directories: (tenant: string) => string[],
  ) {}

  /** Runs `work` on a fresh connection of the tenant's instance (its temp views die with it). */
  async withConnection<T>(tenant: string, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    let engine = this.engines.get(tenant);
    if (!engine) {
      engine = { instance: this.open(tenant), active: 0 };
      engine.instance.catch(() => this.engines.delete(tenant));
    }
    this.engines.delete(tenant);
    this.engines.set(tenant, engine);
    engine.active++;
    try {
      const connection = await (await engine.instance).connect();
      try {
        return await work(connection);
      } finally {
        connection.closeSync();
      }
    } finally {
      engine.active--;
      this.evict();
    }
  }

  private async open(tenant: string): Promise<DuckDBInstance> {
    const config: Record<string, string> = {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    };
    if (this.options.threads !== undefined) config.threads = String(this.options.threads);
    if (this.options.memoryLimit !== undefined) config.memory_limit = this.options.memoryLimit;
    const instance = await DuckDBInstance.create(':memory:', config);
    const connection = await instance.connect();
    try {
      // Data files never change: their footers are read once per instance, not once per query.
      await connection.run('SET GLOBAL parquet_metadata_cache = true');
      await lockDown(connection, this.directories(tenant));
    } finally {
      connection.closeSync();
    }
    return instance;
  }

  private evict(): void {
    for (const [tenant, engine] of this.engines) {
      if (this.engines.size <= this.options.maxInstances) return;
      if (engine.active > 0) continue;
      this.engines.delete(tenant);
      void engine.instance.then((instance) => instance.closeSync()).catch(() => undefined);
    }
  }

  close(): void {
    for (const engine of this.engines.values())
      void engine.instance.then((instance) => instance.closeSync()).catch(() => undefined);
    this.engines.clear();
  }
}
