/** `weir runs`, `weir run <id>`, `weir replay <id>`: the orchestrator's run history. */
import { type Command, Option } from 'commander';
import type { Run, RunFilter, RunStatus } from '../../sdk/index.js';
import { wholeNumber } from '../arguments.js';
import type { ConnectionFlags } from '../config.js';
import { action, clientCommand, connect } from '../context.js';
import { CliError } from '../errors.js';
import { cell, formatCount, renderPairs, renderTable, write } from '../output.js';

const STATUSES: RunStatus[] = ['planned', 'running', 'succeeded', 'failed', 'cancelled'];

interface Connection extends ConnectionFlags {
  json?: boolean;
}

interface RunsFlags extends Connection {
  kind?: string;
  status?: RunStatus;
  table?: string;
  since?: string;
  until?: string;
  limit: number;
  json?: boolean;
}

export function runsCommand(): Command {
  return clientCommand('runs')
    .description('list runs (flushes, compactions, retention, continuous queries, deletes…), newest first')
    .option('--kind <kind>', 'only runs of this kind (flush, compaction, retention, cq, delete, …)')
    .addOption(new Option('--status <status>', 'only runs in this state').choices(STATUSES))
    .option('--table <db.table>', 'only runs of this table')
    .option('--since <time>', 'planned at or after (RFC 3339 or epoch ms)')
    .option('--until <time>', 'planned before (RFC 3339 or epoch ms)')
    .option('--limit <n>', 'most runs to list', wholeNumber(), 20)
    .option('--json', 'print the runs as JSON')
    .action(
      action(async (flags: RunsFlags) => {
        const filter: RunFilter = { limit: flags.limit };
        if (flags.kind) filter.kind = flags.kind;
        if (flags.status) filter.status = flags.status;
        if (flags.table) filter.table = flags.table;
        if (flags.since) filter.since = flags.since;
        if (flags.until) filter.until = flags.until;
        const runs = await connect(flags).client.runs.list(filter);
        if (flags.json) return write(`${JSON.stringify(runs, null, 2)}\n`);
        if (runs.length === 0) return write('no runs\n');
        await write(
          renderTable(
            ['run', 'kind', 'status', 'table', 'planned at', 'took', 'tasks'],
            runs.map((run) => [
              run.runId,
              run.kind,
              run.status,
              run.table ?? '',
              run.plannedAt,
              took(run.startedAt, run.finishedAt),
              String(run.task_count ?? ''),
            ]),
          ),
        );
      }),
    );
}

export function runCommand(): Command {
  return clientCommand('run')
    .description('one run: its trigger, tasks, attempts, timings and errors')
    .argument('<id>', 'run id (run_…)')
    .option('--json', 'print the run as JSON')
    .action(
      action(async (id: string, flags: Connection) => {
        const run = await connect(flags).client.runs.get(id);
        if (flags.json) return write(`${JSON.stringify(run, null, 2)}\n`);
        await write(renderPairs(runPairs(run)));
        const tasks = run.tasks ?? [];
        if (tasks.length === 0) return;
        await write(
          renderTable(
            ['task', 'kind', 'status', 'attempts', 'took', 'error'],
            tasks.map((task) => [
              cell(task.taskId),
              cell(task.kind),
              cell(task.status),
              String((task.attempts as unknown[] | undefined)?.length ?? 0),
              took(task.startedAt as string | undefined, task.finishedAt as string | undefined),
              errorText(task.error),
            ]),
          ),
        );
      }),
    );
}

export function replayCommand(): Command {
  return clientCommand('replay')
    .description('re-execute a succeeded run into scratch and compare its outputs (commits nothing)')
    .argument('<id>', 'run id (run_…)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExits 1 when the replay differs from the recorded outputs.')
    .action(
      action(async (id: string, flags: Connection) => {
        const report = await connect(flags).client.runs.replay(id);
        if (flags.json) await write(`${JSON.stringify(report, null, 2)}\n`);
        else {
          await write(
            `run ${report.runId} at catalog version ${report.catalogVersion}: ${report.reproducible ? 'reproducible' : 'NOT reproducible'}\n`,
          );
          await write(
            renderTable(
              ['task', 'kind', 'reproducible', 'note'],
              report.tasks.map((task) => [
                cell(task.taskId),
                cell(task.kind),
                cell(task.reproducible),
                task.skipped === undefined ? '' : cell(task.skipped),
              ]),
            ),
          );
          for (const difference of report.differences)
            await write(`difference: ${JSON.stringify(difference)}\n`);
        }
        if (!report.reproducible) {
          throw new CliError(
            `the replay of ${id} differs from the recorded run (${formatCount(report.differences.length)} differences)`,
          );
        }
      }),
    );
}

function runPairs(run: Run): [string, string][] {
  const pairs: [string, string][] = [
    ['run', run.runId],
    ['kind', run.kind],
    ['status', run.status],
    ['table', run.table ?? ''],
    ['catalog version', String(run.catalogVersion)],
    ['logical time', run.logicalTime],
    ['planned at', run.plannedAt],
    ['started at', run.startedAt ?? ''],
    ['finished at', run.finishedAt ?? ''],
    ['took', took(run.startedAt, run.finishedAt)],
    ['dry run', String(run.dryRun)],
    ['trigger', JSON.stringify(run.trigger)],
    ['summary', JSON.stringify(run.summary)],
  ];
  if (run.error) pairs.push(['error', `${run.error.message} (${run.error.code})`]);
  return pairs;
}

function errorText(error: unknown): string {
  if (error === undefined || error === null) return '';
  const { message, code } = error as { message?: string; code?: string };
  return message ? `${message}${code ? ` (${code})` : ''}` : JSON.stringify(error);
}

function took(start: string | undefined, end: string | undefined): string {
  if (!start || !end) return '';
  const ms = Date.parse(end) - Date.parse(start);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
