import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');

/** MB of old-generation garbage a fresh process tuned to `percent` allocates before its next full collection. */
async function growthUntilFullGc(percent: number): Promise<number> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'test/helpers/heap-growth.ts', String(percent)],
    { cwd: repo },
  );
  return (JSON.parse(stdout) as { mb: number }).mb;
}

describe('tuneHeapGrowth', () => {
  it('sets how far the heap grows between full collections, after the process started', async () => {
    const small = await growthUntilFullGc(50);
    const large = await growthUntilFullGc(300);
    // 1.5× against 4× of the ~30 MB that survived: the larger factor allows several times the garbage.
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThanOrEqual(3 * small);
  }, 60_000);

  it('refuses a negative or fractional percent', async () => {
    const { tuneHeapGrowth } = await import('../../services/runtime/heap.js');
    expect(() => tuneHeapGrowth(-1)).toThrow(RangeError);
    expect(() => tuneHeapGrowth(1.5)).toThrow(RangeError);
  });
});
