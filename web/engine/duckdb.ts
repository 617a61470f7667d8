/**
 * DuckDB-WASM, started once per page from files on our own origin (DESIGN.md §10: it cannot
 * download extensions here, so autoloading is off and Parquet is read by parquet-wasm instead).
 */
import * as duckdb from '@duckdb/duckdb-wasm';

const asset = (name: string) => new URL(`./assets/${name}`, import.meta.url).href;

const BUNDLES: duckdb.DuckDBBundles = {
  mvp: { mainModule: asset('duckdb-mvp.wasm'), mainWorker: asset('duckdb-browser-mvp.worker.js') },
  eh: { mainModule: asset('duckdb-eh.wasm'), mainWorker: asset('duckdb-browser-eh.worker.js') },
};

let started: Promise<duckdb.AsyncDuckDB> | undefined;

async function start(): Promise<duckdb.AsyncDuckDB> {
  const bundle = await duckdb.selectBundle(BUNDLES);
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), new Worker(bundle.mainWorker!));
  await db.instantiate(bundle.mainModule, bundle.pthreadWorker);
  await db.open({ query: { castBigIntToDouble: false, castTimestampToDate: false } });
  const connection = await db.connect();
  try {
    await connection.query('SET autoinstall_known_extensions = false');
    await connection.query('SET autoload_known_extensions = false');
  } finally {
    await connection.close();
  }
  return db;
}

/** The page's one database (started on first use). */
export function browserDuckDB(): Promise<duckdb.AsyncDuckDB> {
  started ??= start().catch((error: unknown) => {
    started = undefined;
    throw error;
  });
  return started;
}
