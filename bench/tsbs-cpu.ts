/**
 * The data of the query benchmarks (DESIGN.md §7): TSBS's `cpu` shape. Tags are fixed per host;
 * fields are deterministic functions of (host, step): a slow sine per field plus a hashed jitter,
 * clamped to 0–100. One row per host every 10 s.
 */
import { sqlString } from '../services/query/index.js';
import { BASE_US, HOUR_US } from '../test/helpers/data-files.js';

export const INTERVAL_S = 10;
export const STEPS_PER_HOUR = 3600 / INTERVAL_S;

export const TAGS = [
  'hostname',
  'region',
  'datacenter',
  'rack',
  'os',
  'arch',
  'team',
  'service',
  'service_version',
  'service_environment',
] as const;
export const FIELDS = [
  'usage_user',
  'usage_system',
  'usage_idle',
  'usage_nice',
  'usage_iowait',
  'usage_irq',
  'usage_softirq',
  'usage_steal',
  'usage_guest',
  'usage_guest_nice',
] as const;

const REGIONS = [
  'us-east-1',
  'us-west-1',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'sa-east-1',
];
const list = (values: readonly string[]) => `[${values.map(sqlString).join(', ')}]`;
/** DuckDB lists are 1-based. */
const pick = (values: readonly string[], index: string) =>
  `${list(values)}[(${index}) % ${values.length} + 1]`;

/** The rows of one hour (hour index k since BASE_US) of `hosts` hosts, as SQL. */
export function hourRowsSql(k: number, hosts: number): string {
  const fields = FIELDS.map((name, j) => {
    // usage_user has a 2-hour period and reaches above 90 about 15% of the time (high-cpu).
    const omega = (2 * Math.PI) / (2 * STEPS_PER_HOUR * (1 + j * 0.37));
    return (
      `greatest(0.0, least(100.0, 50 + 45 * sin(n * ${omega} + h * 0.7 + ${j}) + ` +
      `10 * (((n * 7919 + h * 104729 + ${j * 31}) % 1000) / 1000.0 - 0.5))) AS ${name}`
    );
  });
  return `SELECT make_timestamp(${BASE_US + k * HOUR_US}::BIGINT + s * ${INTERVAL_S * 1_000_000}) AS time,
    'host_' || h AS hostname,
    ${pick(REGIONS, 'h')} AS region,
    ${pick(REGIONS, 'h')} || ${pick(['a', 'b', 'c'], 'h // 9')} AS datacenter,
    CAST((h * 37) % 100 AS VARCHAR) AS rack,
    ${pick(['Ubuntu16.10', 'Ubuntu16.04LTS', 'Ubuntu15.10'], 'h')} AS os,
    ${pick(['x64', 'x86'], 'h')} AS arch,
    ${pick(['SF', 'NYC', 'LON', 'CHI'], 'h')} AS team,
    CAST((h * 3) % 20 AS VARCHAR) AS service,
    CAST(h % 2 AS VARCHAR) AS service_version,
    ${pick(['production', 'staging', 'test'], 'h')} AS service_environment,
    ${fields.join(',\n    ')}
  FROM (SELECT i // ${STEPS_PER_HOUR} AS h, i % ${STEPS_PER_HOUR} AS s, ${k * STEPS_PER_HOUR} + i % ${STEPS_PER_HOUR} AS n
        FROM range(${hosts * STEPS_PER_HOUR}) t(i))`;
}

/** TSBS's high-cpu query for one host: its rows with usage_user above 90 in a time window. */
export const highCpuSql = (from: string, hostLiteral: string, timeCondition: string) =>
  `SELECT * FROM ${from} WHERE usage_user > 90.0 AND hostname = ${hostLiteral}
       AND ${timeCondition} ORDER BY time`;
