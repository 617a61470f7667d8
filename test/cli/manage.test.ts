/**
 * The management commands of the real `weir` binary against a real `weir serve`: runs, replay and
 * lineage of real runs, tokens and tenants (each checked by its effect: a token that stops working,
 * a tenant whose token signs in), where the connection settings come from, and how errors show.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeirClient } from '../../sdk/index.js';
import { waitFor } from '../helpers/wait.js';
import { type SdkServer, startSdkServer } from '../sdk/server.js';
import { hasStackTrace, runCli } from './cli.js';

let server: SdkServer;
let client: WeirClient;
let env: Record<string, string>;
let dir: string;
/** Run of the continuous query that made `default.cpu_1h` from `default.cpu`. */
let cqRun: string;
const T0 = Date.UTC(2026, 2, 1);

beforeAll(async () => {
  server = await startSdkServer();
  client = server.client();
  env = { WEIR_URL: server.url, WEIR_TOKEN: server.token };
  dir = mkdtempSync(join(tmpdir(), 'weir-cli-manage-'));
  await client.writeColumnar({
    table: 'cpu',
    columns: {
      time: Array.from({ length: 60 }, (_, i) => T0 + i * 60_000),
      host: Array.from({ length: 60 }, (_, i) => `h${i % 3}`),
      usage: Array.from({ length: 60 }, (_, i) => i / 60),
    },
    tags: ['host'],
  });
  await waitFor(async () =>
    (await client.query('SELECT count(*) FROM cpu')).data[0]![0] === 60 ? true : undefined,
  );
  const cq = await client.continuousQueries.create({
    name: 'cpu-1h',
    database: 'default',
    source_measurement: 'cpu',
    destination_measurement: 'cpu_1h',
    interval: '1h',
    is_active: false,
    query:
      "SELECT time_bucket(INTERVAL '1 hour', time) AS time, host, avg(usage) AS usage FROM cpu " +
      "WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY ALL",
  });
  const hour = { start_time: new Date(T0).toISOString(), end_time: new Date(T0 + 3_600_000).toISOString() };
  cqRun = (await client.continuousQueries.execute(cq.id, hour)).execution_id!;
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('runs and lineage', () => {
  it('weir runs lists real runs, weir run shows one, weir replay replays it', async () => {
    const [json, table, run, replay] = await Promise.all([
      runCli(['runs', '--kind', 'flush', '--table', 'default.cpu', '--json'], env),
      runCli(['runs', '--limit', '5'], env),
      runCli(['run', cqRun], env),
      runCli(['replay', cqRun], env),
    ]);
    for (const result of [json, table, run, replay]) expect(result.code, result.stderr).toBe(0);
    const flushes = JSON.parse(json.stdout) as { kind: string; table: string; status: string }[];
    expect(flushes.length).toBeGreaterThan(0);
    expect(
      flushes.every((r) => r.kind === 'flush' && r.table === 'default.cpu' && r.status === 'succeeded'),
    ).toBe(true);
    expect(table.stdout).toMatch(new RegExp(`│ ${cqRun} │ cq\\s+│ succeeded │`));
    expect(run.stdout).toMatch(new RegExp(`│ run\\s+│ ${cqRun}\\s+│`));
    expect(run.stdout).toMatch(/│ kind\s+│ cq\s+│/);
    expect(run.stdout).toMatch(/│ status\s+│ succeeded\s+│/);
    // The task table: one task per window, with its attempts.
    expect(run.stdout).toMatch(/│ task\s+│ kind\s+│ status\s+│ attempts │ took\s+│ error │/);
    expect(run.stdout).toMatch(/│ tsk_[0-9a-f]{32} │ cq\s+│ succeeded │ 1\s+│/);
    expect(replay.stdout).toContain(`run ${cqRun} at catalog version`);
    expect(replay.stdout).toContain(': reproducible');
  });

  it('weir lineage walks from a table to what it was made from, and back', async () => {
    const [up, both] = await Promise.all([
      runCli(['lineage', 'default.cpu_1h', '--direction', 'up'], env),
      runCli(['lineage', 'default.cpu', '--json'], env),
    ]);
    for (const result of [up, both]) expect(result.code, result.stderr).toBe(0);
    expect(up.stdout).toContain('upstream of default.cpu_1h (table level):');
    const edge = `│ default\\.cpu\\s+│ default\\.cpu_1h │ 1\\s+│ cq\\s+│ ${cqRun} │`;
    expect(up.stdout).toMatch(new RegExp(edge));
    expect(up.stdout).not.toContain('downstream');
    const graphs = JSON.parse(both.stdout);
    expect(Object.keys(graphs)).toEqual(['upstream', 'downstream']);
    expect(graphs.upstream.edges).toEqual([]);
    expect(graphs.downstream.nodes.map((n: { id: string }) => n.id)).toEqual([
      'default.cpu',
      'default.cpu_1h',
    ]);
    expect(graphs.downstream.edges).toMatchObject([
      { from: 'default.cpu', to: 'default.cpu_1h', runId: cqRun },
    ]);
  });
});

describe('tokens and tenants', () => {
  it('creates, verifies, rotates and revokes a token, each with its effect on the server', async () => {
    const created = await runCli(
      ['tokens', 'create', 'grafana', '--permissions', 'read', '--expires-in', '30d'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^weir_\S+$/);
    expect(created.stderr).toMatch(/created token "grafana" \(id (tok_\w+)\)/);
    const id = /\(id (tok_\w+)\)/.exec(created.stderr)![1]!;

    const lp = join(dir, 'more.lp');
    writeFileSync(lp, `cpu,host=h9 usage=1 ${T0}000000\n`);
    const [verified, refused] = await Promise.all([
      runCli(['tokens', 'verify', secret], env),
      runCli(['import', lp], { ...env, WEIR_TOKEN: secret }),
    ]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/│ name\s+│ grafana\s+│/);
    expect(verified.stdout).toMatch(/│ permissions │ read\s+│/);
    // A read token may not write: the server's refusal with its code, and what became of the file.
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: the import of .+more\.lp stopped: .+ \(FORBIDDEN, HTTP 403\)\n/);
    expect(refused.stderr).toContain('  nothing of the file landed\n  1 row was not written\n');

    const rotated = await runCli(['tokens', 'rotate', id], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const next = rotated.stdout.trim();
    expect(next).toMatch(/^weir_\S+$/);
    const [oldOne, newOne] = await Promise.all([
      runCli(['tokens', 'verify', secret], env),
      runCli(['query', '-f', 'csv', 'SELECT count(*) AS n FROM cpu'], { ...env, WEIR_TOKEN: next }),
    ]);
    expect(oldOne.code).toBe(1);
    expect(oldOne.stderr).toBe('error: the token is not valid: invalid token\n');
    expect(newOne.stdout).toBe('n\n60\n');

    const revoked = await runCli(['tokens', 'revoke', id], env);
    expect(revoked.stdout).toBe(`revoked token ${id}\n`);
    const [after, list] = await Promise.all([
      runCli(['query', 'SELECT 1'], { ...env, WEIR_TOKEN: next }),
      runCli(['tokens', 'list', '--json'], env),
    ]);
    expect(after.code).toBe(1);
    expect(after.stderr).toBe(
      'error: token has been revoked (UNAUTHORIZED, HTTP 401)\nhint: the token came from WEIR_TOKEN\n',
    );
    expect(JSON.parse(list.stdout)).toContainEqual(
      expect.objectContaining({ id, name: 'grafana', permissions: ['read'], revoked: true }),
    );
  });

  it('creates a tenant whose admin token signs in as it, lists it, and deletes it only with --yes', async () => {
    const created = await runCli(['tenants', 'create', 'acme', '--display-name', 'Acme Inc'], env);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    const [verified, listed, unconfirmed] = await Promise.all([
      runCli(['tokens', 'verify'], { ...env, WEIR_TOKEN: secret }),
      runCli(['tenants', 'list'], env),
      runCli(['tenants', 'delete', 'acme'], env),
    ]);
    expect(verified.stdout).toMatch(/│ tenant\s+│ acme\s+│/);
    expect(verified.stdout).toMatch(/│ permissions │ admin\s+│/);
    expect(listed.stdout).toMatch(/│ acme\s+│ Acme Inc\s+│/);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('pass --yes to confirm');

    const deleted = await runCli(['tenants', 'delete', 'acme', '--yes'], env);
    expect(deleted.stdout).toBe('deleted tenant acme\n');
    expect((await client.tokens.verify(secret)).valid).toBe(false);
    expect((await client.tenants.list()).map((t) => t.id)).toEqual(['default']);
  });
});

describe('connection settings', () => {
  it('come from flags, else WEIR_URL / WEIR_TOKEN, else the profile file; a --profile beats the variables', async () => {
    const names = ['from-flag', 'from-env', 'from-profile', 'from-other'] as const;
    const tokens = Object.fromEntries(
      await Promise.all(names.map(async (name) => [name, (await client.tokens.create({ name })).token])),
    ) as Record<(typeof names)[number], string>;
    const unreachable = 'http://127.0.0.1:1';
    const profiles = {
      default: 'main',
      profiles: {
        main: { url: server.url, token: tokens['from-profile'] },
        other: { url: server.url, token: tokens['from-other'] },
        away: { url: unreachable, token: tokens['from-profile'] },
      },
    };
    const file = join(dir, 'profiles.json');
    writeFileSync(file, JSON.stringify(profiles));
    const home = join(dir, 'home');
    mkdirSync(join(home, '.config', 'weir'), { recursive: true });
    writeFileSync(join(home, '.config', 'weir', 'config.json'), JSON.stringify(profiles));
    const profile = { WEIR_CONFIG_PROFILE: file };

    const verify = (args: string[], settings: Record<string, string>) =>
      runCli(['tokens', 'verify', ...args], settings);
    const withEnvToken = { ...profile, WEIR_TOKEN: tokens['from-env'] };
    const [fromHome, fromEnv, fromFlag, named, envNamed, profileUrl, flagUrl, none] = await Promise.all([
      verify([], { HOME: home }),
      verify([], withEnvToken),
      verify(['--token', tokens['from-flag']], withEnvToken),
      // A profile named by flag beats WEIR_TOKEN; one named by WEIR_PROFILE does not.
      verify(['--profile', 'other'], withEnvToken),
      verify([], { ...withEnvToken, WEIR_PROFILE: 'other' }),
      // The profile's URL is unreachable: it beats WEIR_URL, and --url beats it.
      verify(['--profile', 'away'], { ...profile, WEIR_URL: server.url }),
      verify(['--profile', 'away', '--url', server.url], profile),
      verify([], {}),
    ]);
    const usedName = (result: { stdout: string }) => /│ name\s+│ (\S+)/.exec(result.stdout)?.[1];
    expect(usedName(fromHome)).toBe('from-profile');
    expect(usedName(fromEnv)).toBe('from-env');
    expect(usedName(fromFlag)).toBe('from-flag');
    expect(usedName(named)).toBe('from-other');
    expect(usedName(envNamed)).toBe('from-env');
    expect(profileUrl.code).toBe(1);
    expect(profileUrl.stderr).toMatch(
      /^error: connection to http:\/\/127\.0\.0\.1:1\/.+ \(CONNECTION_FAILED\)\n$/,
    );
    expect(usedName(flagUrl)).toBe('from-profile');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /^error: no token: pass --token, set WEIR_TOKEN, or add "token" to a profile in .+config\.json\n$/,
    );
  });

  it('refuses a profile that does not exist or a malformed file as usage errors (exit 2)', async () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ profiles: { main: { url: server.url, token: server.token } } }));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ profiles: { main: { url: server.url, tokn: 'x' } } }));
    const [unknownProfile, malformed] = await Promise.all([
      runCli(['runs', '--profile', 'nope'], { WEIR_CONFIG_PROFILE: good }),
      runCli(['runs'], { WEIR_CONFIG_PROFILE: broken }),
    ]);
    expect(unknownProfile.code).toBe(2);
    expect(unknownProfile.stderr).toBe(`error: no profile "nope" in ${good} (profiles: main)\n`);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('unknown key "tokn" in profile "main"');
  });
});

describe('usage errors', () => {
  it('exit 2 with a message and a pointer to --help, never a stack trace', async () => {
    const [badValue, notTable] = await Promise.all([
      runCli(['runs', '--limit', '0'], env),
      runCli(['lineage', 'cpu'], env),
    ]);
    expect([badValue.code, notTable.code]).toEqual([2, 2]);
    expect(badValue.stderr).toBe(
      "error: option '--limit <n>' argument '0' is invalid. a whole number of at least 1\n(add --help for usage)\n",
    );
    expect(notTable.stderr).toBe('error: "cpu" is not db.table\n');
    for (const result of [badValue, notTable]) expect(hasStackTrace(result.stderr)).toBe(false);
  });
});
