import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBody } from '../../../services/ingest/decode/index.js';
import { expectError } from './helpers.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
// Made once with the zstd CLI: `zstd -19 lines.txt` (content size known) and
// `zstd -3 -c < lines.txt > lines.stream.zst` (streamed: no size, a 2 MB window, a checksum).
const plain = fixture('lines.txt');
const limits = { maxDecompressedBytes: 1 << 20 };

const MiB = 1 << 20;

/** A zstd frame of `blocks` RLE blocks of 128 KiB zeros: 4 bytes per block, the cheapest bomb there is. */
function zstdRleBomb(blocks: number, header = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]): Buffer {
  const parts = [Buffer.from(header)];
  for (let i = 0; i < blocks; i++) {
    const h = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (131072 << 3);
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0]));
  }
  return Buffer.concat(parts);
}

describe('decodeBody', () => {
  it('passes plain bodies through', () => {
    expect(decodeBody(plain, limits)).toBe(plain);
  });

  it('inflates gzip, concatenated members included, whatever Content-Encoding says', () => {
    expect(decodeBody(gzipSync(plain), limits).equals(plain)).toBe(true);
    expect(decodeBody(gzipSync(plain), { ...limits, contentEncoding: 'identity' }).equals(plain)).toBe(true);
    const two = Buffer.concat([gzipSync('hello '), gzipSync('world')]);
    expect(decodeBody(two, limits).toString()).toBe('hello world');
  });

  it('decompresses zstd frames with and without a content size, and concatenated frames', () => {
    expect(decodeBody(fixture('lines.txt.zst'), limits).equals(plain)).toBe(true);
    expect(decodeBody(fixture('lines.stream.zst'), limits).equals(plain)).toBe(true);
    const both = Buffer.concat([fixture('lines.txt.zst'), fixture('lines.stream.zst')]);
    expect(decodeBody(both, limits).equals(Buffer.concat([plain, plain]))).toBe(true);
  });

  it('refuses a 1 GiB gzip bomb at the limit, without inflating it', () => {
    // 1024 gzip members of 1 MiB of zeros each: about 1 MiB on the wire, 1 GiB inflated.
    const member = gzipSync(Buffer.alloc(MiB));
    const bomb = Buffer.concat(Array.from({ length: 1024 }, () => member));
    const started = performance.now();
    expectError(() => decodeBody(bomb, { maxDecompressedBytes: 8 * MiB }), {
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      names: ['8388608 bytes'],
    });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('refuses a 1 GiB zstd bomb at the limit, without decompressing it', () => {
    const bomb = zstdRleBomb(8192); // 32 KiB on the wire
    const started = performance.now();
    expectError(() => decodeBody(bomb, { maxDecompressedBytes: 8 * MiB }), {
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      names: ['8388608 bytes'],
    });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('refuses zstd frames that declare a size or window past the limit before allocating', () => {
    // Single segment, 4-byte content size of 1 GiB: fzstd would allocate it all at once.
    const declared = zstdRleBomb(1, [0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x00, 0x00, 0x00, 0x40]);
    expectError(() => decodeBody(declared, limits), {
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      names: ['1048576'],
    });
    // A 2 GiB window with no content size.
    const window = zstdRleBomb(1, [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8]);
    expectError(() => decodeBody(window, limits), {
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      names: ['1048576'],
    });
  });
});
