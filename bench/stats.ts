/** Small helpers for benchmarks: percentiles, timing and aligned output. */
import { performance } from 'node:perf_hooks';

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor((p / 100) * sortedMs.length))]!;
}

export async function timeEach(count: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await fn(i);
    samples.push(performance.now() - start);
  }
  return samples.sort((a, b) => a - b);
}

export async function timeOnce<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export function report(rows: [string, string, string?][]): void {
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value, note] of rows)
    console.log(`${name.padEnd(width)}  ${value}${note ? `   (${note})` : ''}`);
}

export const fmt = {
  ms: (v: number) => `${v.toFixed(2)} ms`,
  rate: (v: number, unit: string) => `${Math.round(v).toLocaleString('en-US')} ${unit}/s`,
  ratio: (v: number) => `${v.toFixed(2)}×`,
};
