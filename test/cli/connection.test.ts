/**
 * Connection settings the client commands refuse before any request (cli/config.ts): a token no
 * header can carry and a URL holding a user name or password, each a usage error that repeats
 * neither the token nor the password.
 */
import { describe, expect, it } from 'vitest';
import { resolveConnection } from '../../cli/config.js';
import { UsageError } from '../../cli/errors.js';
import { hasStackTrace, runCli } from './cli.js';

const SECRET = 'weir_secret';
const NO_HOME = '/nonexistent';

function refusal(resolve: () => unknown): UsageError {
  let error: unknown;
  try {
    resolve();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe('resolveConnection', () => {
  it('refuses a token that is not printable ASCII without spaces, saying where it came from', () => {
    for (const token of [`${SECRET}\n`, `${SECRET} x`, `${SECRET}\u00e9`, `“${SECRET}”`]) {
      const fromFlag = refusal(() => resolveConnection({ token }, {}, NO_HOME));
      expect(fromFlag.message).toMatch(/^invalid token from --token: a token is printable ASCII/);
      expect(fromFlag.message).not.toContain(SECRET);
      const fromEnv = refusal(() => resolveConnection({}, { WEIR_TOKEN: token }, NO_HOME));
      expect(fromEnv.message).toMatch(/^invalid token from WEIR_TOKEN: /);
    }
  });

  it('refuses a URL with a user name or password without repeating them', () => {
    for (const url of ['http://admin:hunter2@weir.example:8000', 'https://hunter2@weir.example:8000/']) {
      const error = refusal(() => resolveConnection({ url, token: SECRET }, {}, NO_HOME));
      expect(error.message).toBe(
        'invalid server URL: the URL of weir.example:8000 holds a user name or password (user:password@): leave it out, the token is the credential',
      );
    }
  });
});

describe('weir with a token copied with a line break', () => {
  it('exits 2 with one error line that does not hold the token', async () => {
    const result = await runCli(['runs', '--url', 'http://127.0.0.1:1'], {
      WEIR_TOKEN: `${SECRET}\nsecond-line`,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: invalid token from WEIR_TOKEN: a token is printable ASCII without spaces or line breaks (was something copied with it?)\n',
    );
    expect(hasStackTrace(result.stderr)).toBe(false);
  });
});
