/**
 * Signed URLs of the local store over real HTTP (DESIGN.md §7, §8; ADR 0023): the exact bytes, the
 * three forms of single ranges and 416, HEAD, caching and CORS headers, preflight; every way a URL
 * can be wrong answers 403 (expired, altered signature, key or expiry, another tenant's object, a key
 * that is no data file, traversal) and a deleted object 404; the secret is shared through the store
 * and a configured one wins; the served bytes are counted exactly in /metrics.
 */
import { createHmac } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidNameError, LocalUrlSigner, paths, SigningSecret, unixSeconds } from '../../catalog/index.js';
import { requestLogView } from '../../services/api/auth.js';
import { parseRange } from '../../services/browser/index.js';
import { postSession, type SignedFixture, startSignedFixture } from './signed-fixture.js';

let fixture: SignedFixture;
/** A data file of acme, its bytes, and a URL for it minted by a session. */
let key: string;
let bytes: Buffer;
let signed: string;

const { systemKeys } = paths;
const fileKey = (tenant: string, hour: number) =>
  paths.dataKeys.file(tenant, 'metrics', 'cpu', { date: '2026-03-01', hour }, `h${hour}`);

beforeAll(async () => {
  fixture = await startSignedFixture();
  const session = await postSession(fixture.url, { tables: ['metrics.cpu'] }, fixture.tokens.acme);
  expect(session.status, JSON.stringify(session.body)).toBe(200);
  const file = session.body.tables[0]!.files.find((f) => f.partition === 'date=2026-03-01/hour=00')!;
  signed = file.url;
  key = fileKey('acme', 0);
  bytes = Buffer.from(await fixture.store.get(key));
  expect(file.bytes).toBe(bytes.length);
}, 120_000);

afterAll(async () => {
  await fixture?.close();
});

const get = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(`${fixture.url}${url}`, { method, headers });

async function expectRefused(url: string, code: 'SIGNATURE_INVALID' | 'URL_EXPIRED' = 'SIGNATURE_INVALID') {
  const res = await get(url);
  expect(res.status, url).toBe(403);
  expect(await res.json()).toMatchObject({ success: false, code });
  // A refusal is readable cross-origin (the console shows it) and never cached.
  expect(res.headers.get('access-control-allow-origin')).toBe('*');
  expect(res.headers.get('cache-control')).toBe('no-store');
}

/** `weir_signed_file_bytes_total` and the request counter of one status, from /metrics. */
async function counters(status = '200'): Promise<{ bytes: number; requests: number }> {
  const text = await (await fetch(`${fixture.url}/metrics`)).text();
  const value = (prefix: string) =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(prefix))
        ?.split(' ')[1] ?? 0,
    );
  return {
    bytes: value('weir_signed_file_bytes_total '),
    requests: value(`weir_signed_file_requests_total{status="${status}"}`),
  };
}

describe('GET /files with a valid signature', () => {
  it('answers the exact bytes, cacheable until the expiry, readable cross-origin', async () => {
    expect(signed).toMatch(
      /^\/files\/tenants\/acme\/data\/metrics\/cpu\/date=2026-03-01\/hour=00\/h0\.parquet\?exp=\d+&sig=[\w-]{43}$/,
    );
    const res = await get(signed, { origin: 'http://console.example' });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f-]+"$/);
    const maxAge = Number(/^public, max-age=(\d+), immutable$/.exec(res.headers.get('cache-control')!)?.[1]);
    expect(maxAge).toBeGreaterThan(290);
    expect(maxAge).toBeLessThanOrEqual(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const exposed = res.headers.get('access-control-expose-headers')!.toLowerCase();
    for (const header of ['content-range', 'content-length', 'accept-ranges', 'etag'])
      expect(exposed).toContain(header);
  });

  it('answers single ranges in all three forms with 206 and Content-Range', async () => {
    const size = bytes.length;
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=100-', 100, size - 1],
      ['bytes=-64', size - 64, size - 1],
      // An end past the file is cut to the file; a suffix longer than the file is all of it.
      [`bytes=10-${size + 1000}`, 10, size - 1],
      [`bytes=-${size * 2}`, 0, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await get(signed, { range });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers.get('content-length'), range).toBe(String(end - start + 1));
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1)), range).toBe(true);
    }
  });

  it('answers 416 for an unsatisfiable range and the whole file for ranges it does not serve', async () => {
    for (const range of [
      `bytes=${bytes.length}-`,
      `bytes=${bytes.length + 5}-${bytes.length + 9}`,
      'bytes=-0',
    ]) {
      const res = await get(signed, { range });
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
      expect(await res.json()).toMatchObject({ success: false, code: 'RANGE_NOT_SATISFIABLE' });
    }
    // Several ranges, other units, reversed or malformed ranges: RFC 9110 lets a server ignore them.
    for (const range of ['bytes=0-1,5-6', 'items=0-5', 'bytes=9-2', 'bytes=x-y']) {
      const res = await get(signed, { range });
      expect(res.status, range).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes), range).toBe(true);
    }
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const res = await get(signed, {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('etag')).toMatch(/^"/);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const ranged = await get(signed, { range: 'bytes=-8' }, 'HEAD');
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(
      `bytes ${bytes.length - 8}-${bytes.length - 1}/${bytes.length}`,
    );
  });

  it('answers the CORS preflight of a ranged GET', async () => {
    const res = await fetch(`${fixture.url}${signed}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://console.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'range',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, HEAD');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toBe('range');
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
  });

  it('counts exactly the body bytes it sent in /metrics', async () => {
    const before = await counters('200');
    const partial = await counters('206');
    let received = 0;
    const ranges: Record<string, string>[] = [
      {},
      { range: 'bytes=0-99' },
      { range: 'bytes=-10' },
      { range: 'bytes=50-' },
    ];
    for (const headers of ranges) received += (await (await get(signed, headers)).arrayBuffer()).byteLength;
    await get(signed, {}, 'HEAD');
    await get(signed.replace(/sig=./, 'sig=_'));
    const after = await counters('200');
    expect(after.bytes - before.bytes).toBe(received);
    expect(received).toBe(bytes.length + 100 + 10 + (bytes.length - 50));
    expect(after.requests - before.requests).toBe(2);
    expect((await counters('206')).requests - partial.requests).toBe(3);
  });
});

describe('GET /files refuses every URL it did not sign as is', () => {
  const params = () => new URLSearchParams(signed.split('?')[1]);

  it('an expired URL: 403 URL_EXPIRED', async () => {
    const past = await fixture.signer.sign('acme', key, unixSeconds() - 1);
    await expectRefused(past, 'URL_EXPIRED');
    const res = await get(past);
    expect(((await res.json()) as { error: string }).error).toContain('expired');
  });

  it('an altered signature, key or expiry, or missing parameters: 403 SIGNATURE_INVALID', async () => {
    const sig = params().get('sig')!;
    const exp = Number(params().get('exp'));
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    const file = signed.split('?')[0]!;
    await expectRefused(`${file}?exp=${exp}&sig=${flip(sig[0]!)}${sig.slice(1)}`);
    // The last character carries two unused bits: a string differing only there is refused too.
    await expectRefused(`${file}?exp=${exp}&sig=${sig.slice(0, -1)}${sig.at(-1) === 'A' ? 'B' : 'A'}`);
    await expectRefused(`${file}?exp=${exp + 3600}&sig=${sig}`);
    await expectRefused(
      `${file.replace('h0.parquet', 'h1.parquet').replace('hour=00', 'hour=01')}?exp=${exp}&sig=${sig}`,
    );
    await expectRefused(`${file}?exp=${exp}`);
    await expectRefused(`${file}?sig=${sig}`);
    await expectRefused(file);
    await expectRefused(`${file}?exp=soon&sig=${sig}`);
    await expectRefused(`${file}?exp=0${exp}&sig=${sig}`); // one URL, one spelling
    await expectRefused(`${file}?exp=${exp}&sig=${sig.slice(1)}`);
  });

  it('a URL of tenant A with the key edited to the same object of tenant B: 403', async () => {
    const theirs = signed.replace('/tenants/acme/', '/tenants/other/');
    expect(await fixture.store.head(fileKey('other', 0))).toBeDefined();
    await expectRefused(theirs);
  });

  it('never signs or serves a key that is no data file, even with a correct MAC', async () => {
    const exp = unixSeconds() + 300;
    const catalogKey = paths.catalogKeys.log(paths.tenantScope('acme'), 1);
    for (const notData of [catalogKey, systemKeys.urlSigningSecret, 'tenants/acme/staging/x.arrows'])
      await expect(fixture.signer.sign('acme', notData, exp)).rejects.toBeInstanceOf(InvalidNameError);
    // Another tenant's data file is not the caller's to sign.
    await expect(fixture.signer.sign('acme', fileKey('other', 0), exp)).rejects.toBeInstanceOf(
      InvalidNameError,
    );

    // Even a URL carrying the right HMAC for such a key (as if minted by a bug) is refused.
    const stored = JSON.parse(Buffer.from(await fixture.store.get(systemKeys.urlSigningSecret)).toString());
    const secret = Buffer.from(stored.secret, 'base64url');
    const forged = (tenant: string, k: string) =>
      `/files/${k}?exp=${exp}&sig=${createHmac('sha256', secret).update(`GET\n${tenant}\n${k}\n${exp}`).digest('base64url')}`;
    expect((await get(forged('acme', key))).status).toBe(200); // the recipe is right
    await expectRefused(forged('acme', catalogKey));
    await expectRefused(forged('acme', systemKeys.urlSigningSecret));
    // Traversal out of the data prefix, percent-encoded so the client does not resolve it.
    await expectRefused(
      `/files/tenants/acme/data/%2e%2e/catalog/log/00000000000000000001.json?exp=${exp}&sig=${'A'.repeat(43)}`,
    );
    await expectRefused(forged('acme', 'tenants/acme/data/../catalog/log/00000000000000000001.json'));
  });

  it('a URL whose object is gone: 404', async () => {
    const doomed = paths.dataKeys.file('acme', 'metrics', 'cpu', { date: '2026-03-02', hour: 1 }, 'doomed');
    await fixture.store.put(doomed, Buffer.from('PAR1'));
    const url = await fixture.signer.sign('acme', doomed, unixSeconds() + 60);
    expect((await get(url)).status).toBe(200);
    await fixture.store.delete(doomed);
    const res = await get(url);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ success: false, code: 'OBJECT_NOT_FOUND' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');

    // The longest names a key can hold still reach the route (no parameter length limit).
    const long = paths.dataKeys.file(
      'acme',
      `d${'b'.repeat(63)}`,
      `t${'a'.repeat(127)}`,
      { date: '2026-03-02', hour: 1 },
      `f${'x'.repeat(127)}`,
    );
    const longRes = await get(await fixture.signer.sign('acme', long, unixSeconds() + 60));
    expect(await longRes.json()).toMatchObject({ code: 'OBJECT_NOT_FOUND' });
  });

  it('other methods are no reads', async () => {
    const res = await fetch(`${fixture.url}${signed}`, { method: 'PUT', body: 'x' });
    expect(res.status).toBe(404);
  });
});

describe('the signing secret', () => {
  it('is created once in the store and shared by every node; a configured one wins', async () => {
    const stored = await fixture.store.get(systemKeys.urlSigningSecret);
    // A second API node over the same store verifies the first one's URLs.
    const node2 = new LocalUrlSigner(new SigningSecret(fixture.store));
    const [path, query] = signed.split('?') as [string, string];
    const q = new URLSearchParams(query);
    const request = { key: path.slice('/files/'.length), exp: q.get('exp')!, sig: q.get('sig')! };
    await expect(node2.verify(request)).resolves.toMatchObject({ tenant: 'acme', key });
    expect(Buffer.from(await fixture.store.get(systemKeys.urlSigningSecret)).equals(stored)).toBe(true);

    const configured = new LocalUrlSigner(new SigningSecret(fixture.store, 'x'.repeat(40)));
    await expect(configured.verify(request)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    const own = new URLSearchParams((await configured.sign('acme', key, unixSeconds() + 60)).split('?')[1]);
    await expect(
      configured.verify({ key, exp: own.get('exp')!, sig: own.get('sig')! }),
    ).resolves.toMatchObject({
      tenant: 'acme',
    });
    expect(() => new SigningSecret(fixture.store, 'short')).toThrow(/32 characters/);
  });
});

describe('logs', () => {
  it('never show a signature', () => {
    const request = { method: 'GET', url: `${signed}&p=token`, host: 'h', ip: '127.0.0.1' };
    const shown = requestLogView(request as unknown as FastifyRequest).url;
    expect(shown).toMatch(/\?exp=\d+&sig=\[redacted\]&p=\[redacted\]$/);
    expect(shown).not.toContain(new URLSearchParams(signed.split('?')[1]).get('sig'));
    // Names are masked as the server reads them, percent-encoded or not; other values stay.
    const encoded = {
      method: 'GET',
      url: '/files/k?exp=12&%73ig=SECRET1&%70=SECRET2&q=kept#x',
      host: 'h',
      ip: '::1',
    };
    expect(requestLogView(encoded as unknown as FastifyRequest).url).toBe(
      '/files/k?exp=12&%73ig=[redacted]&%70=[redacted]&q=kept#x',
    );
  });
});

describe('parseRange', () => {
  it('reads one range of the three forms and ignores the rest', () => {
    expect(parseRange(undefined, 10)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=2-4', 10)).toEqual({ kind: 'partial', start: 2, end: 4 });
    expect(parseRange('bytes=2-', 10)).toEqual({ kind: 'partial', start: 2, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ kind: 'partial', start: 7, end: 9 });
    expect(parseRange('bytes=9-9', 10)).toEqual({ kind: 'partial', start: 9, end: 9 });
    expect(parseRange('bytes=10-', 10)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-', 10)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=1-2, 4-5', 10)).toEqual({ kind: 'whole' });
  });
});
