/**
 * Child process for test/api/heap.test.ts: `node --expose-gc --import tsx heap-growth.ts <percent>`.
 * Tunes the heap, keeps ~30 MB alive, collects, then allocates old-generation garbage (arrays this
 * large go straight to the large-object space) until the next full collection, and prints how many
 * MB that took: the old generation's growth allowance after a full collection.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { tuneHeapGrowth } from '../../services/runtime/heap.js';

tuneHeapGrowth(Number(process.argv[2]));
let fullCollections = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
      fullCollections++;
}).observe({ entryTypes: ['gc'] });

const live = Array.from({ length: 1_000_000 }, (_, i) => ({ i }));
(globalThis as { gc?: () => void }).gc!();
await new Promise((resolve) => setTimeout(resolve, 10));
const before = fullCollections;
let mb = 0;
let checksum = 0;
for (let i = 0; i < 4000 && fullCollections === before; i++) {
  const garbage = new Array<number>(250_000).fill(i);
  checksum += garbage[i % garbage.length]!;
  mb += 2;
  // Let the observer's callbacks run.
  if (i % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
}
process.stdout.write(`${JSON.stringify({ mb, live: live.length, checksum })}\n`);
