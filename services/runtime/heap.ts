/**
 * JS heap sizing for server processes (ADR 0025). Under sustained ingest V8 ran a full collection
 * about every 80 ms on a ~50 MB heap, and its concurrent marking threads took CPU the API's event
 * loop needed. A larger growth factor after each full collection spaces them out. V8 reads this flag each time it sets the next limit, so it takes
 * effect when set at start, unlike the heap size flags, which only the command line can set.
 */
import { setFlagsFromString } from 'node:v8';

/** Sets V8's old-generation growth factor to 1 + percent/100 (0: V8's own heuristic). */
export function tuneHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growing percent ${percent}`);
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
