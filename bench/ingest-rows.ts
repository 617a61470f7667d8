/**
 * The rows the ingest benchmarks write: 200 hosts in 4 regions (200 series), 3 full-precision
 * floats, an int and a bool, one row per millisecond from 2026-03-01T00:00:00Z (so ≤ 3.6M rows
 * fall in one hour).
 */
const T0_MS = 1_772_323_200_000;
const HOSTS = Array.from({ length: 200 }, (_, i) => `host-${String(i).padStart(3, '0')}`);
const REGIONS = ['us-east-1', 'us-west-2', 'eu-central-1', 'ap-south-1'];

export const TAGS = ['host', 'region'];
export const host = (i: number) => HOSTS[i % HOSTS.length]!;
export const region = (i: number) => REGIONS[(i % HOSTS.length) % REGIONS.length]!;
export const usageUser = (i: number) => 50 + 40 * Math.sin(i * 0.000_71 + (i % 200));
export const usageSystem = (i: number) => 10 + 8 * Math.cos(i * 0.001_3 + (i % 200) * 0.5);
export const usageIdle = (i: number) => 100 - usageUser(i) - usageSystem(i);
export const procs = (i: number) => 100 + ((i * 7) % 300);
export const up = (i: number) => i % 17 !== 0;
export const timeMs = (i: number) => T0_MS + i;

export function range<T>(from: number, to: number, f: (i: number) => T): T[] {
  const out = new Array<T>(to - from);
  for (let i = from; i < to; i++) out[i - from] = f(i);
  return out;
}

/** Rows `from` to `to` as columns (times as bigint milliseconds). */
export function columnsOf(from: number, to: number) {
  return {
    time: range(from, to, (i) => BigInt(timeMs(i))),
    host: range(from, to, host),
    region: range(from, to, region),
    usage_user: range(from, to, usageUser),
    usage_system: range(from, to, usageSystem),
    usage_idle: range(from, to, usageIdle),
    procs: range(from, to, procs),
    up: range(from, to, up),
  };
}
