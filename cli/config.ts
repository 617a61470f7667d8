/**
 * Where the client commands find their server, token and database. Each setting is taken from, in
 * this order: its flag, its environment variable, the chosen profile of the profile file, a default
 * — except that a profile named by `--profile` beats the environment variables, as with the AWS
 * CLI: an exported WEIR_TOKEN must not be sent to the server of the profile asked for by name.
 * The profile file (`WEIR_CONFIG_PROFILE`, else `~/.config/weir/config.json`) is read only when a
 * flag or variable leaves something unset, or a profile is named.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { tokenProblem, urlProblem } from '../sdk/http.js';
import { UsageError } from './errors.js';

export interface ConnectionFlags {
  url?: string;
  token?: string;
  profile?: string;
  database?: string;
}

export interface Connection {
  url: string;
  token: string;
  database: string;
  /** Where the token came from, for the hint shown when the server refuses it. */
  tokenSource: string;
}

/** No token anywhere: the one setting without a default. */
export class NoTokenError extends UsageError {}

const DEFAULT_URL = 'http://localhost:8000';

interface Profile {
  url?: string;
  token?: string;
  database?: string;
}

interface ProfileFile {
  /** Profile used when neither --profile nor WEIR_PROFILE names one. */
  default?: string;
  profiles: Record<string, Profile>;
}

const PROFILE_KEYS = new Set(['url', 'token', 'database']);
const FILE_SHAPE = '{"default"?: "name", "profiles": {"name": {"url"?, "token"?, "database"?}}}';

function profilePath(env: NodeJS.ProcessEnv, home: string): string {
  return nonEmpty(env.WEIR_CONFIG_PROFILE) ?? join(home, '.config', 'weir', 'config.json');
}

type Setting = keyof Profile;

/** Where settings come from, in the order they are tried, each with the name it is reported by. */
interface Layer {
  source: string;
  values: Profile;
}

export function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): Connection {
  const fromFlags: Layer = {
    source: '--token',
    values: { url: nonEmpty(flags.url), token: nonEmpty(flags.token), database: nonEmpty(flags.database) },
  };
  const fromEnv: Layer = {
    source: 'WEIR_TOKEN',
    values: {
      url: nonEmpty(env.WEIR_URL),
      token: nonEmpty(env.WEIR_TOKEN),
      database: nonEmpty(env.WEIR_DATABASE),
    },
  };
  const flagProfile = nonEmpty(flags.profile);
  const named = flagProfile ?? nonEmpty(env.WEIR_PROFILE);
  const path = profilePath(env, home);
  const unset = (key: Setting) => !fromFlags.values[key] && !fromEnv.values[key];
  const profile =
    named || unset('url') || unset('token') || unset('database') ? loadProfile(path, named) : undefined;
  const fromProfile: Layer | undefined = profile && {
    source: `profile "${profile.name}" in ${path}`,
    values: profile.values,
  };
  const layers = [fromFlags, ...(flagProfile ? [fromProfile, fromEnv] : [fromEnv, fromProfile])].filter(
    (layer): layer is Layer => layer !== undefined,
  );
  const pick = (key: Setting) => layers.find((layer) => layer.values[key]);

  const tokenLayer = pick('token');
  if (!tokenLayer) {
    throw new NoTokenError(`no token: pass --token, set WEIR_TOKEN, or add "token" to a profile in ${path}`);
  }
  const token = tokenLayer.values.token!;
  // Never echoed: the token is a secret, and a mangled one is mostly right.
  const tokenIssue = tokenProblem(token);
  if (tokenIssue) throw new UsageError(`invalid token from ${tokenLayer.source}: ${tokenIssue}`);
  return {
    url: checkUrl(pick('url')?.values.url ?? DEFAULT_URL),
    token,
    database: pick('database')?.values.database ?? 'default',
    tokenSource: tokenLayer.source,
  };
}

/**
 * The profile to use: the one named (which must exist), else the file's `default`, else the one
 * called `default`. A missing file is no error unless a profile was named; a malformed one always is.
 */
function loadProfile(path: string, named: string | undefined): { name: string; values: Profile } | undefined {
  if (!existsSync(path)) {
    if (named) throw new UsageError(`profile "${named}" named, but there is no profile file at ${path}`);
    return undefined;
  }
  let parsed: ProfileFile;
  try {
    parsed = checkFile(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    throw new UsageError(
      `invalid profile file ${path}: ${(error as Error).message} (expected ${FILE_SHAPE})`,
    );
  }
  const name = named ?? parsed.default ?? 'default';
  const values = parsed.profiles[name];
  if (!values) {
    if (named || parsed.default) {
      const known = Object.keys(parsed.profiles).join(', ') || 'none';
      throw new UsageError(`no profile "${name}" in ${path} (profiles: ${known})`);
    }
    return undefined;
  }
  return { name, values };
}

/** The file's JSON, checked to have the expected shape; throws naming the first thing wrong. */
function checkFile(json: unknown): ProfileFile {
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject(json)) throw new Error('not a JSON object');
  for (const key of Object.keys(json)) {
    if (key !== 'default' && key !== 'profiles') throw new Error(`unknown key "${key}"`);
  }
  if (json.default !== undefined && typeof json.default !== 'string')
    throw new Error('"default" is not a string');
  if (!isObject(json.profiles)) throw new Error('"profiles" is not an object');
  for (const [name, profile] of Object.entries(json.profiles)) {
    if (!isObject(profile)) throw new Error(`profile "${name}" is not an object`);
    for (const [key, value] of Object.entries(profile)) {
      if (!PROFILE_KEYS.has(key)) throw new Error(`unknown key "${key}" in profile "${name}"`);
      if (typeof value !== 'string') throw new Error(`"${key}" of profile "${name}" is not a string`);
    }
  }
  return json as unknown as ProfileFile;
}

/** The SDK's rule (sdk/http.ts): an http(s) URL without a user name or password, never echoed. */
function checkUrl(url: string): string {
  const issue = urlProblem(url);
  if (issue) throw new UsageError(`invalid server URL: ${issue}`);
  return url;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
