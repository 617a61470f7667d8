import { type ConfigOption, configOptions } from './options.js';
import type { WeirConfig } from './schema.js';

/** The README holds the generated table between these markers; a test keeps the two equal. */
export const README_MARKERS = {
  start: '<!-- config-table:start -->',
  end: '<!-- config-table:end -->',
} as const;

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (text: string): string => `\`${text}\``;

function typeOf(option: ConfigOption): string {
  if (option.enum) return option.enum.map(code).join(' | ');
  if (option.type !== 'integer') return option.type;
  if (option.minimum !== undefined && option.maximum !== undefined) {
    return `integer ${option.minimum}–${option.maximum}`;
  }
  return option.minimum !== undefined ? `integer ≥ ${option.minimum}` : 'integer';
}

/** Markdown table of every option: file key, environment variables, type, default, description. */
export function renderConfigTable(): string {
  const rows = configOptions().map((option) =>
    [
      code(option.key),
      option.env.map(code).join(', '),
      typeOf(option),
      option.default === undefined ? '' : code(String(option.default)),
      option.description,
    ]
      .map(cell)
      .join(' | '),
  );
  return [
    '| Option (config file) | Environment | Type | Default | Description |',
    '|---|---|---|---|---|',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

/**
 * The effective config with secrets masked, for `weir config` and startup logs: every option marked
 * secret, and the password of the Redis URL.
 */
export function redactConfig(config: WeirConfig): WeirConfig {
  const redacted = structuredClone(config);
  for (const option of configOptions()) {
    if (!option.secret) continue;
    const path = option.key.split('.');
    const name = path.pop()!;
    let parent: Record<string, unknown> | undefined = redacted as unknown as Record<string, unknown>;
    for (const part of path) parent = parent?.[part] as Record<string, unknown> | undefined;
    if (parent?.[name] !== undefined) parent[name] = '***';
  }
  if (redacted.redis.url) redacted.redis.url = redactUrl(redacted.redis.url);
  return redacted;
}

/**
 * Hides the password of a URL such as redis://user:secret@host. The password runs to the last `@`:
 * it may hold an unencoded `@`, `#` or `/`, and showing more is worse than hiding some of the host.
 * A password given as a query parameter (`?password=…`, which Redis clients also read) is hidden too.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#]*:).*@/is, '$1***@').replace(SECRET_PARAMETER, '$1***');
}

/** A query parameter whose name says it holds a secret (`password`, `X-Amz-Secret`, `api_key`…). */
const SECRET_PARAMETER = /([?&][a-z0-9_-]*(?:pass|pwd|secret|token|key)[a-z0-9_-]*=)[^&#]*/gi;
