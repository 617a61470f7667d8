/** `weir lineage <db.table>`: what a table (or one of its partitions) was made from, and what it feeds. */
import { type Command, Option } from 'commander';
import type { LineageGraph } from '../../sdk/index.js';
import { wholeNumber } from '../arguments.js';
import type { ConnectionFlags } from '../config.js';
import { action, clientCommand, connect } from '../context.js';
import { UsageError } from '../errors.js';
import { renderTable, write } from '../output.js';

const DIRECTIONS = { up: ['upstream'], down: ['downstream'], both: ['upstream', 'downstream'] } as const;

interface LineageFlags extends ConnectionFlags {
  direction: keyof typeof DIRECTIONS;
  depth?: number;
  partition?: string;
  json?: boolean;
}

export function lineageCommand(): Command {
  return clientCommand('lineage')
    .description(
      'the tables (or partitions) a table was made from, and those made from it, by the runs that did it',
    )
    .argument('<db.table>', 'the table, with its database')
    .addOption(
      new Option('--direction <direction>', 'which way to walk')
        .choices(Object.keys(DIRECTIONS))
        .default('both'),
    )
    .option('--depth <n>', 'how many steps to walk', wholeNumber())
    .option('--partition <partition>', 'one partition of the table, e.g. date=2026-03-01/hour=00')
    .option('--json', 'print the graph as JSON')
    .action(
      action(async (table: string, flags: LineageFlags) => {
        if (!/^[^.]+\.[^.]+$/.test(table)) throw new UsageError(`${JSON.stringify(table)} is not db.table`);
        const { client } = connect(flags);
        const graphs: LineageGraph[] = [];
        for (const direction of DIRECTIONS[flags.direction]) {
          graphs.push(
            await client.lineage({
              table,
              direction,
              ...(flags.partition ? { partition: flags.partition } : {}),
              ...(flags.depth !== undefined ? { depth: flags.depth } : {}),
            }),
          );
        }
        if (flags.json) {
          return write(
            `${JSON.stringify(Object.fromEntries(graphs.map((g) => [g.direction, g])), null, 2)}\n`,
          );
        }
        for (const graph of graphs) await write(describe(graph));
      }),
    );
}

function describe(graph: LineageGraph): string {
  const title = `${graph.direction} of ${graph.root} (${graph.level} level)`;
  if (graph.edges.length === 0) return `${title}: nothing\n`;
  const depth = new Map(graph.nodes.map((node) => [node.id, node.depth]));
  const rows = graph.edges.map((edge) => [
    edge.from,
    edge.to,
    String(depth.get(graph.direction === 'upstream' ? edge.from : edge.to) ?? ''),
    edge.kind,
    edge.runId,
  ]);
  return `${title}:\n${renderTable(['from', 'to', 'depth', 'kind', 'run'], rows)}`;
}
