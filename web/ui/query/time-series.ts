/**
 * Whether an answer is a time series, and its data in uPlot's shape: one timestamp column for x,
 * one series per numeric column, rows in time order (uPlot needs x ascending).
 */
import { numberOf, type QueryResult, timeMs } from './result.js';

export interface TimeSeries {
  readonly timeColumn: string;
  /** Seconds since the epoch (uPlot's time scale), ascending. */
  readonly x: number[];
  readonly series: readonly { readonly name: string; readonly values: (number | null)[] }[];
}

export function timeSeriesOf(result: QueryResult): TimeSeries | undefined {
  const { columns, rows } = result;
  const times = columns.map((c, i) => ({ ...c, index: i })).filter((c) => c.kind === 'time');
  // Prefer the column named `time` (the lake's own) when an answer has several.
  const time = times.find((c) => c.name === 'time') ?? times[0];
  const numeric = columns.map((c, i) => ({ ...c, index: i })).filter((c) => c.kind === 'number');
  if (!time || numeric.length === 0 || rows.length === 0) return undefined;

  const points = rows
    .map((row) => ({ ms: timeMs(row[time.index]), row }))
    .filter((p): p is { ms: number; row: readonly unknown[] } => p.ms !== null)
    .sort((a, b) => a.ms - b.ms);
  if (points.length === 0) return undefined;
  return {
    timeColumn: time.name,
    x: points.map((p) => p.ms / 1000),
    series: numeric.map((c) => ({ name: c.name, values: points.map((p) => numberOf(p.row[c.index])) })),
  };
}
