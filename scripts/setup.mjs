#!/usr/bin/env node
// Installs what `npm start` / `npm test` need on a fresh machine. Plain Node with no
// dependencies: it runs before `npm install`. Silent when everything is already there.
//
//   node scripts/setup.mjs --for=start|test
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const purpose = parsePurpose(process.argv.slice(2));

function parsePurpose(args) {
  const arg = args.find((a) => a.startsWith('--for='));
  const value = arg ? arg.slice('--for='.length) : 'start';
  if (value !== 'start' && value !== 'test') {
    fail(`unknown --for=${value} (use --for=start or --for=test)`);
  }
  return value;
}

function say(message) {
  process.stderr.write(`setup: ${message}\n`);
}

function fail(message) {
  say(`error: ${message}`);
  process.exit(1);
}

/** An executable named `name` on PATH (no process spawned: this is the fast path). */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function run(command, args, options = {}) {
  say(`running: ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  return result.status === 0;
}

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : undefined;
}

function ensureNodeModules() {
  const lock = join(root, 'package-lock.json');
  // npm rewrites node_modules/.package-lock.json on every install: its age is the install's age.
  const installed = mtime(join(root, 'node_modules', '.package-lock.json'));
  const locked = mtime(lock);
  if (installed !== undefined && (locked === undefined || installed >= locked)) return;
  // `npm ci` refuses a lock that lacks other platforms' optional binaries (npm/cli#4828, which
  // npm itself produces); `npm install` then installs the same locked versions for this platform.
  const ok =
    (locked !== undefined && run('npm', ['ci', '--no-audit', '--no-fund'])) ||
    run('npm', ['install', '--no-audit', '--no-fund']);
  if (!ok) fail('installing node modules failed (see npm output above)');
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function aptInstall(packageName) {
  if (!isRoot || !onPath('apt-get')) return false;
  say(`installing the OS package ${packageName}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  return (
    run('apt-get', ['update'], { env }) &&
    run('apt-get', ['install', '-y', '--no-install-recommends', packageName], { env })
  );
}

function ensureRedisServer() {
  if (onPath('redis-server')) return;
  if (aptInstall('redis-server') && onPath('redis-server')) return;
  const message =
    'redis-server is not installed and could not be installed here. Install the OS package ' +
    '`redis-server` (Debian/Ubuntu, as root: apt-get install -y redis-server)';
  // `weir serve` needs it only when there is no Redis to use; tests always start their own.
  if (purpose === 'start' && (process.env.REDIS_URL || process.env.WEIR_REDIS_URL || configFileRedisUrl())) {
    say(`warning: ${message}; continuing because a Redis URL is configured.`);
    return;
  }
  fail(`${message}, or set REDIS_URL (or redis.url in the WEIR_CONFIG file) to a Redis you run.`);
}

/** `redis.url` of the WEIR_CONFIG file `npm start` runs with; a bad file is weir's to report. */
function configFileRedisUrl() {
  if (!process.env.WEIR_CONFIG) return undefined;
  try {
    return JSON.parse(readFileSync(process.env.WEIR_CONFIG, 'utf8'))?.redis?.url;
  } catch {
    return undefined;
  }
}

function motoImportable() {
  return spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0;
}

function ensureMoto() {
  // Tests may use any S3 server instead (DESIGN §10); then moto is not needed.
  if (process.env.WEIR_TEST_S3_ENDPOINT || onPath('moto_server') || motoImportable()) return;
  say('moto (S3-compatible server for tests) is missing; installing moto[server] with pip');
  if (
    onPath('python3') &&
    run('python3', ['-m', 'pip', 'install', '--quiet', 'moto[server]']) &&
    motoImportable()
  ) {
    return;
  }
  fail(
    "moto is not installed and pip could not install it. Install python3 with pip, then `python3 -m pip install 'moto[server]'`, " +
      'or set WEIR_TEST_S3_ENDPOINT to an S3-compatible server.',
  );
}

/**
 * The Python of the Debian package python3-influxdb: `python3` on PATH, else the system's
 * /usr/bin/python3 (a pyenv or venv python3 first on PATH does not see Debian's dist-packages).
 * test/ingest/clients.test.ts looks for it the same way.
 */
function influxdbImportable() {
  return ['python3', '/usr/bin/python3'].some(
    (python) => spawnSync(python, ['-c', 'import influxdb'], { stdio: 'ignore' }).status === 0,
  );
}

function ensurePythonInfluxdb() {
  // test/ingest/clients.test.ts writes with InfluxDB's own 1.x Python client.
  if (influxdbImportable()) return;
  if (aptInstall('python3-influxdb') && influxdbImportable()) return;
  fail(
    'the Python module `influxdb` (InfluxDB 1.x client, used by the client compatibility tests) is not ' +
      'importable by python3 or /usr/bin/python3 and could not be installed here. Install the OS package ' +
      '`python3-influxdb` (Debian/Ubuntu, as root: apt-get install -y python3-influxdb).',
  );
}

function ensureChromium() {
  // The console's tests drive Chromium with playwright-core, which never downloads a browser.
  if (process.env.WEIR_TEST_CHROMIUM || existsSync('/usr/bin/chromium')) return;
  if (aptInstall('chromium') && existsSync('/usr/bin/chromium')) return;
  fail(
    'Chromium (for the browser console tests) is not at /usr/bin/chromium and could not be installed here. ' +
      'Install the OS package `chromium` (Debian/Ubuntu, as root: apt-get install -y chromium), or set ' +
      'WEIR_TEST_CHROMIUM to a Chromium or Chrome executable.',
  );
}

ensureNodeModules();
ensureRedisServer();
if (purpose === 'test') {
  ensureMoto();
  ensurePythonInfluxdb();
  ensureChromium();
}
