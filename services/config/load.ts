import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { redactUrl } from './docs.js';
import { type ConfigOption, configOptions } from './options.js';
import { configSchema, type WeirConfig } from './schema.js';

/** Invalid configuration; `problems` name each bad key, where its value came from, and why. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** JSON config file; when omitted, `WEIR_CONFIG` names it; when neither, there is none. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line values by option key (`port`, `dataDir`); they win over env, which wins over the file. */
  flags?: Readonly<Record<string, string | undefined>>;
  /** Base of a relative `dataDir`; default the working directory. */
  cwd?: string;
}

type Origin = { kind: 'file'; path: string } | { kind: 'env'; name: string } | { kind: 'flag'; name: string };

interface Provided {
  origin: Origin;
  value: unknown;
}

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function getPath(tree: Tree, key: string): unknown {
  let node: unknown = tree;
  for (const part of key.split('.')) {
    if (!isTree(node)) return undefined;
    node = node[part];
  }
  return node;
}

/** Sets a dotted key, creating groups; a group the file set to a non-object is left for the schema to reject. */
function setPath(tree: Tree, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = node[part] ?? {};
    if (!isTree(next)) return;
    node[part] = next;
    node = next;
  }
  node[parts.at(-1)!] = value;
}

/** Strings from env and flags become the option's type; a string that does not convert is left for zod to reject. */
function coerce(option: ConfigOption, text: string): unknown {
  if (option.type === 'integer') return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
  if (option.type === 'boolean') {
    const lower = text.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(lower)) return true;
    if (['false', '0', 'no', 'off'].includes(lower)) return false;
  }
  return text;
}

function readConfigFile(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read config file ${path}: ${(error as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`config file ${path} is not valid JSON: ${(error as Error).message}`]);
  }
  if (!isTree(parsed)) throw new ConfigError([`config file ${path} must hold a JSON object`]);
  return parsed;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function describeOrigin(origin: Origin): string {
  if (origin.kind === 'file') return `config file ${origin.path}`;
  return origin.kind === 'env' ? `env ${origin.name}` : `flag ${origin.name}`;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  provided: ReadonlyMap<string, Provided>,
  file?: string,
): string[] {
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((name) => `unknown key "${key ? `${key}.${name}` : name}" in config file ${file}`);
  }
  const option = configOptions().find((o) => o.key === key);
  const given = provided.get(key);
  if (!given) {
    const where = option?.env.length ? ` (set ${option.env[0]} or "${key}" in the config file)` : '';
    return [`${key || 'config'}${where}: ${issue.message}`];
  }
  const value = typeof given.value === 'string' ? redactUrl(given.value) : given.value;
  const shown = option?.secret ? '"***"' : JSON.stringify(value);
  return [`${key} = ${shown} (from ${describeOrigin(given.origin)}): ${issue.message}`];
}

/**
 * `WEIR_*` variables read outside this config: the config file, the CLI's connection and profile,
 * the parent of worker processes, and the test helpers (`WEIR_TEST_*`, the moto shim's marker).
 */
const OTHER_WEIR_VARIABLES = new Set([
  'WEIR_CONFIG',
  'WEIR_URL',
  'WEIR_TOKEN',
  'WEIR_DATABASE',
  'WEIR_PROFILE',
  'WEIR_CONFIG_PROFILE',
  'WEIR_WORKER_PARENT_PID',
  'WEIR_MOTO_SHIM_MARKER',
]);
const TEST_VARIABLE_PREFIX = 'WEIR_TEST_';

/** Levenshtein distance: the number of one-character edits that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * A misspelled `WEIR_*` variable would be ignored without a word (the config file refuses unknown
 * keys for the same reason), so each unknown one is a problem naming the nearest known name.
 */
function unknownVariables(env: NodeJS.ProcessEnv): string[] {
  const known = [...configOptions().flatMap((option) => option.env), ...OTHER_WEIR_VARIABLES];
  return Object.keys(env)
    .filter(
      (name) => name.startsWith('WEIR_') && !name.startsWith(TEST_VARIABLE_PREFIX) && !known.includes(name),
    )
    .sort()
    .map((name) => {
      const nearest = known.reduce((best, candidate) =>
        editDistance(name, candidate) < editDistance(name, best) ? candidate : best,
      );
      return `unknown environment variable ${name} (did you mean ${nearest}?)`;
    });
}

/**
 * Loads the configuration: schema defaults, then the JSON config file, then `WEIR_*` environment
 * variables, then command-line flags. Throws ConfigError naming every bad key and its value.
 */
export function loadConfig(options: LoadConfigOptions = {}): WeirConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? (env.WEIR_CONFIG || undefined);
  const raw: Tree = file ? readConfigFile(file) : {};
  const provided = new Map<string, Provided>();

  for (const option of configOptions()) {
    const fromFile = getPath(raw, option.key);
    if (file && fromFile !== undefined)
      provided.set(option.key, { origin: { kind: 'file', path: file }, value: fromFile });

    // An empty variable counts as unset, as in most .env conventions.
    const envName = option.env.find((name) => env[name]);
    const flag = options.flags?.[option.key];
    const text = flag ?? (envName ? env[envName] : undefined);
    if (text === undefined) continue;
    const origin: Origin =
      flag !== undefined ? { kind: 'flag', name: `--${kebab(option.key)}` } : { kind: 'env', name: envName! };
    provided.set(option.key, { origin, value: text });
    setPath(raw, option.key, coerce(option, text));
  }

  const problems = unknownVariables(env);
  const result = configSchema.safeParse(raw);
  if (!result.success)
    problems.push(...result.error.issues.flatMap((issue) => describeIssue(issue, provided, file)));
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  return { ...result.data, dataDir: resolve(options.cwd ?? process.cwd(), result.data.dataDir) };
}
