/** Databases and their tables (Arc calls tables measurements). */
import type { Transport } from '../http.js';

export interface Database {
  name: string;
  measurement_count: number;
  created_at: string;
}

export interface DatabaseDeleted {
  message: string;
  measurements_dropped: number;
  catalog_version: number;
}

export interface TableInfo {
  database: string;
  measurement: string;
  file_count: number;
  total_size_mb: number;
  storage_path: string;
}

export class Databases {
  constructor(private readonly transport: Transport) {}

  async list(): Promise<Database[]> {
    return (await this.transport.json<{ databases: Database[] }>('GET', '/api/v1/databases')).databases;
  }

  async create(name: string): Promise<Database> {
    const answer = await this.transport.json<{ database: Database }>('POST', '/api/v1/databases', {
      json: { name },
    });
    return answer.database;
  }

  /** Drops the database with its tables; the server refuses without `confirm: true`. */
  delete(name: string, options: { confirm?: boolean } = {}): Promise<DatabaseDeleted> {
    return this.transport.json('DELETE', `/api/v1/databases/${encodeURIComponent(name)}`, {
      query: { confirm: options.confirm },
    });
  }
}

export class Tables {
  constructor(private readonly transport: Transport) {}

  /** Tables with their file counts and sizes, of one database or of every database the token reads. */
  async list(options: { database?: string } = {}): Promise<TableInfo[]> {
    const answer = await this.transport.json<{ measurements: TableInfo[] }>('GET', '/api/v1/measurements', {
      query: { database: options.database },
    });
    return answer.measurements;
  }
}
