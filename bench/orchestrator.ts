/**
 * Orchestrator benchmark (issue: orchestrator and worker fleet). Prints figures; never passes
 * or fails on time.   npm run bench:orchestrator
 * Targets on 2 cores: plan time for 10K partitions ≤ 500 ms; ≥ 1,000 no-op tasks/s with 2 worker
 * processes; compaction ≥ 2M rows/s, next to a plain DuckDB COPY … ORDER BY baseline.
 */
import { benchCompaction } from './orchestrator-compaction.js';
import { benchDispatch } from './orchestrator-dispatch.js';
import { benchPlanning } from './orchestrator-plan.js';
import { report } from './stats.js';

const rows = [...(await benchPlanning()), ...(await benchDispatch()), ...(await benchCompaction())];
console.log(
  `\nWeir orchestrator benchmark — ${new Date().toISOString().slice(0, 10)}, node ${process.version}\n`,
);
report(rows);
