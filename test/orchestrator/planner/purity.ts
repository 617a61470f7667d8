/**
 * A static check of the planner's purity: which modules a source file imports, and whether it
 * uses anything that reads the clock, randomness, the environment, the locale or storage, or
 * that could wait on I/O. It reads the raw text (comments included), so it errs on the strict side.
 */

/** Bare or relative specifiers a planner file may import, besides its own `./x.js` siblings. */
export const ALLOWED_IMPORTS: readonly string[] = [
  'zod',
  '../../../catalog/index.js',
  '../../../proto/task-inputs.js',
];

export const FORBIDDEN: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /\bDate\.now\b/, why: 'reads the clock' },
  { pattern: /\bnew\s+Date\s*\(\s*\)/, why: 'reads the clock' },
  { pattern: /\bnew\s+Date\b(?!\s*\()/, why: 'reads the clock' },
  { pattern: /(?<!new\s+)(?<![.\w])Date\s*\(/, why: 'Date() reads the clock' },
  { pattern: /\bMath\.random\b/, why: 'randomness' },
  { pattern: /\bcrypto\b/, why: 'randomness (use sha256Hex from the catalog)' },
  { pattern: /\b(randomUUID|getRandomValues|randomBytes|randomInt)\b/, why: 'randomness' },
  { pattern: /\bprocess\s*[.[]/, why: 'reads the environment' },
  { pattern: /\bprocess\b(?!'s)/, why: 'reads the environment' },
  { pattern: /\bglobalThis\b/, why: 'reaches the environment' },
  { pattern: /\bperformance\b/, why: 'reads the clock' },
  { pattern: /\bhrtime\b/, why: 'reads the clock' },
  { pattern: /\bnode:/, why: 'Node built-in (I/O, clock, environment)' },
  { pattern: /\b(require|import)\s*\(/, why: 'dynamic import' },
  { pattern: /\bfetch\s*\(/, why: 'network I/O' },
  { pattern: /\b(async|await)\b/, why: 'the planner is synchronous: no I/O to wait for' },
  { pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/, why: 'timers' },
  {
    pattern: /\b(Intl|localeCompare|toLocale\w*|getTimezoneOffset)\b/,
    why: 'depends on the locale or time zone',
  },
  {
    pattern: /\.get(FullYear|Month|Date|Day|Hours|Minutes|Seconds|Milliseconds)\s*\(/,
    why: 'local-time getter (depends on the time zone; use getUTC*)',
  },
  { pattern: /\b(WeakRef|FinalizationRegistry)\b/, why: 'depends on garbage collection' },
  { pattern: /\beval\s*\(|\bnew\s+Function\b/, why: 'dynamic code' },
];

/** Module specifiers of static imports and re-exports (`import … from 'x'`, `import 'x'`, `export … from 'x'`). */
export function importSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  const fromRe = /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g;
  const bareRe = /\bimport\s*['"]([^'"]+)['"]/g;
  for (const re of [fromRe, bareRe]) for (const m of source.matchAll(re)) specifiers.push(m[1]!);
  return specifiers;
}

/**
 * Problems of one planner source file: imports outside the allow-list (sibling imports must
 * name a file in `siblings`, e.g. `plan.ts`) and forbidden tokens, with their line numbers.
 */
export function purityViolations(source: string, siblings: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const specifier of importSpecifiers(source)) {
    const sibling = /^\.\/([a-z][a-z0-9-]*)\.js$/.exec(specifier);
    if (sibling ? !siblings.has(`${sibling[1]}.ts`) : !ALLOWED_IMPORTS.includes(specifier))
      problems.push(`imports ${specifier}`);
  }
  const lines = source.split('\n');
  lines.forEach((line, i) => {
    for (const { pattern, why } of FORBIDDEN)
      if (pattern.test(line)) problems.push(`line ${i + 1}: ${pattern.source} (${why}): ${line.trim()}`);
  });
  return problems;
}
