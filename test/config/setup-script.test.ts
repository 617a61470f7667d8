import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'weir-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `npm start`'s set-up on a machine without redis-server: PATH is an empty directory (no apt-get either). */
function setUpStart(env: Record<string, string>) {
  return spawnSync(process.execPath, ['scripts/setup.mjs', '--for=start'], {
    cwd: resolve(import.meta.dirname, '../..'),
    env: { PATH: dir, ...env },
    encoding: 'utf8',
  });
}

describe('npm start set-up without redis-server', () => {
  it('goes on when the WEIR_CONFIG file names a Redis, as when REDIS_URL does', () => {
    const file = join(dir, 'weir.json');
    writeFileSync(file, JSON.stringify({ redis: { url: 'redis://127.0.0.1:6390' } }));
    const envs: Record<string, string>[] = [{ WEIR_CONFIG: file }, { REDIS_URL: 'redis://127.0.0.1:6390' }];
    for (const env of envs) {
      const result = setUpStart(env);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toContain('continuing because a Redis URL is configured');
    }
  });

  it('stops when no Redis is configured', () => {
    const file = join(dir, 'no-redis.json');
    writeFileSync(file, JSON.stringify({ port: 8001 }));
    const result = setUpStart({ WEIR_CONFIG: file });
    expect(result.stderr).toContain('or set REDIS_URL (or redis.url in the WEIR_CONFIG file)');
    expect(result.status).toBe(1);
  });
});
