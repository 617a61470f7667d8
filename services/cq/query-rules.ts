/**
 * What a continuous query's SQL must do for its windows to be right (ADR 0019, addendum "Session
 * 22"): read only tables of the CQ's database, its source among them, and bucket time so that every
 * bucket lies inside one window. Checked on the plan the query engine made of the SQL.
 */
import { WeirError } from '../../catalog/index.js';
import { constant } from '../query/guard.js';
import { nodesOf, type QueryPlan, type SqlNode, SqlParser } from '../query/index.js';

/** `3600000` → `1h`; a width of no whole minute in seconds (`90s`, `0.5s`). */
export function durationText(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}

/**
 * A CQ runs about one database: its ticks copy what its query reads into its destination, and its
 * runs' lineage names every file read, so a query reaching into another database would leak that
 * database to whoever may see this one. Its source is what makes late rows re-materialize windows,
 * so the query must read it. A query reading the CQ's destination would add a window's earlier
 * output to each new run of it. Throws CQ_READS_OTHER_DATABASE, CQ_SOURCE_NOT_READ or
 * CQ_READS_DESTINATION (400).
 */
export function assertReadsOwnTables(
  plan: Pick<QueryPlan, 'tables'>,
  database: string,
  source: string,
  /** The CQ's destination table, which its query must not read. */
  destination: string,
): void {
  const foreign = plan.tables.find((t) => t.database !== database);
  if (foreign) {
    const table = `${foreign.database}.${foreign.table}`;
    throw new WeirError(
      'CQ_READS_OTHER_DATABASE',
      `the query reads ${table}, which is outside the continuous query's database ${database}: a continuous query reads only tables of its own database`,
      400,
      { field: 'query', table, database },
    );
  }
  if (plan.tables.some((t) => t.table === destination)) {
    const table = `${database}.${destination}`;
    throw new WeirError(
      'CQ_READS_DESTINATION',
      `the query reads ${table}, the continuous query's own destination: each run of a window would add that window's earlier output again; read only the source and other tables`,
      400,
      { field: 'query', table },
    );
  }
  if (!plan.tables.some((t) => t.table === source)) {
    const read = [...new Set(plan.tables.map((t) => `${t.database}.${t.table}`))].join(', ');
    throw new WeirError(
      'CQ_SOURCE_NOT_READ',
      `source_measurement ${database}.${source} is not a table the query reads (it reads ${read || 'no table'}): new rows in the source are what re-materialize a window, so the query must read it`,
      400,
      { field: 'source_measurement', table: `${database}.${source}` },
    );
  }
}

const FEB_1970_US = 31 * 86_400_000_000;

function bucketError(code: string, message: string): WeirError {
  return new WeirError(code, message, 400, { field: 'query' });
}

/**
 * Each run covers one window `[edge, edge + interval)` (windows are multiples of the interval since
 * the epoch) and replaces that window's output, so a `time_bucket` of the query must start a bucket
 * at every window edge: a bucket wider than the window, or one straddling its edge, would be written
 * from part of its rows. Every call is checked, whatever it feeds: the query sees only the window's
 * rows, so any bucket crossing the window is partial. Each call is evaluated by DuckDB at two window
 * edges (with its own origin or offset), which also catches buckets of the right width that start
 * elsewhere (time_bucket's default origin is 2000-01-03, so 2-day and 7-day buckets do). A width
 * DuckDB cannot evaluate as a constant is refused, since nothing could be promised about it, and so
 * is one (or an origin or offset) with anything but constants, casts, operators and the query guard's
 * cheap functions, before anything is evaluated: the probes have no timeout. A query
 * with no time_bucket is left to the run's own check that answers stay inside the window.
 * Throws CQ_BUCKET_WIDER_THAN_INTERVAL, CQ_BUCKET_NOT_ALIGNED or CQ_BUCKET_UNKNOWN (400).
 */
export async function assertBucketsFitWindows(
  tree: SqlNode,
  intervalMs: number,
  /** A window edge (µs): the CQ's start. */
  edgeUs: number,
): Promise<void> {
  const calls = [...nodesOf(tree)].filter(
    (node) =>
      node.class === 'FUNCTION' &&
      String(node.function_name).toLowerCase() === 'time_bucket' &&
      Array.isArray(node.children) &&
      node.children.length >= 2,
  );
  if (calls.length === 0) return;
  const interval = durationText(intervalMs);
  const unknown = () =>
    bucketError(
      'CQ_BUCKET_UNKNOWN',
      `the query's time_bucket width cannot be evaluated as a constant, so it cannot be checked against the interval ${interval}: write the width (and any origin or offset) as constants, e.g. time_bucket(INTERVAL '15 minutes', time)`,
    );
  // The probes below run the width and origin with no timeout: only constants, casts, operators and
  // a fixed list of cheap functions get that far (a scalar subquery over range() would not end).
  for (const call of calls) {
    const [width, , ...rest] = call.children as SqlNode[];
    if (!constant(width) || !rest.every(constant)) throw unknown();
  }
  const intervalUs = intervalMs * 1000;
  // The query engine's parser is private to it; a parser of our own evaluates the probes (~20 ms).
  const parser = await SqlParser.open();
  try {
    // Expressions to splice the calls into, written by DuckDB rather than by hand.
    const [afterJan, afterFeb, edge, nextEdge] = (
      await parser.parse(
        `SELECT TIMESTAMP '1970-01-01' + CAST(NULL AS INTERVAL), TIMESTAMP '1970-02-01' + CAST(NULL AS INTERVAL), make_timestamp(${edgeUs}), make_timestamp(${edgeUs + intervalUs})`,
      )
    ).select_list as SqlNode[];
    const plus = (base: SqlNode | undefined, width: SqlNode): SqlNode => {
      const [start, cast] = base!.children as SqlNode[];
      return { ...base!, children: [start, { ...cast!, child: width }] };
    };
    for (const call of calls) {
      const [width, , ...rest] = call.children as SqlNode[];
      const values = await parser.timestampsMicros([
        plus(afterJan, width!),
        plus(afterFeb, width!),
        { ...call, children: [width, edge, ...rest] },
        { ...call, children: [width, nextEdge, ...rest] },
      ]);
      const [jan, feb, first, next] = values.map((v) => (v === undefined ? undefined : Number(v)));
      if (jan === undefined || feb === undefined) throw unknown();
      // From 1970-01-01, the epoch. One month moves that date 31 days and 1970-02-01 28; widths of
      // more months are wider than any interval, whichever the count.
      const widthUs = jan;
      if (widthUs !== feb - FEB_1970_US) {
        throw bucketError(
          'CQ_BUCKET_NOT_ALIGNED',
          `the query's time_bucket width is in months, which vary in length, while the interval ${interval} is fixed: buckets would straddle window edges; bucket by days or less`,
        );
      }
      const bucket = durationText(widthUs / 1000);
      if (widthUs > intervalUs) {
        throw bucketError(
          'CQ_BUCKET_WIDER_THAN_INTERVAL',
          `the query's time_bucket width ${bucket} is wider than the interval ${interval}: each run covers one window of ${interval} and replaces that window's output, so every bucket would be written from part of its rows; use an interval that is a whole multiple of ${bucket}, or a narrower bucket`,
        );
      }
      if (widthUs > 0 && intervalUs % widthUs !== 0) {
        throw bucketError(
          'CQ_BUCKET_NOT_ALIGNED',
          `the interval ${interval} is not a whole multiple of the query's time_bucket width ${bucket}: buckets would straddle window edges and each window would write part of them; use an interval that is a whole multiple of ${bucket}`,
        );
      }
      if (first === undefined || next === undefined) throw unknown();
      if (first !== edgeUs || next !== edgeUs + intervalUs) {
        const at = first !== edgeUs ? edgeUs : edgeUs + intervalUs;
        throw bucketError(
          'CQ_BUCKET_NOT_ALIGNED',
          `the query's time_bucket buckets of ${bucket} do not start at the window edge ${new Date(at / 1000).toISOString()}: windows are multiples of the interval ${interval} since 1970-01-01T00:00:00Z, so give time_bucket that origin, e.g. time_bucket(INTERVAL '${bucket}', time, TIMESTAMP '1970-01-01')`,
        );
      }
    }
  } finally {
    parser.close();
  }
}
