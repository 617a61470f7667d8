/** `weir query "<sql>"`: one statement, its answer as a table, CSV, JSON or an Arrow IPC stream. */
import { type Command, Option } from 'commander';
import type { AsOf } from '../../sdk/index.js';
import type { ConnectionFlags } from '../config.js';
import { action, clientCommand, connect } from '../context.js';
import { UsageError } from '../errors.js';
import { readStdin } from '../input.js';
import { writeFileWhole } from '../output.js';
import { FORMATS, type Format, writeAnswer } from '../query/formats.js';

interface QueryFlags extends ConnectionFlags {
  format: Format;
  output?: string;
  asOf?: string;
}

export function queryCommand(): Command {
  return clientCommand('query', { database: true })
    .description('run one SQL statement and print its answer')
    .argument('[sql]', 'the statement; "-" or none reads it from stdin')
    .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS).default('table'))
    .option('-o, --output <file>', 'write the answer to this file instead of stdout')
    .option('--as-of <version|time>', 'read the catalog as it was at a version number or an RFC 3339 time')
    .addHelpText(
      'after',
      `
Bare table names are in --database; db.table reaches another database.
--format table and json read the JSON answer (int64 beyond 2^53 as strings), csv streams the
server's CSV (NULL as an empty field, an empty string as ""), arrow writes the Arrow IPC stream.

Examples:
  weir query "SELECT host, avg(usage) FROM cpu GROUP BY host"
  weir query -f csv "SELECT * FROM cpu WHERE time > now() - INTERVAL 1 HOUR" > cpu.csv
  weir query -f arrow -o cpu.arrows "SELECT * FROM cpu"
  weir query --as-of 42 "SELECT count(*) FROM cpu"`,
    )
    .action(
      action(async (sql: string | undefined, flags: QueryFlags) => {
        const statement =
          sql === undefined || sql === '-' ? new TextDecoder().decode(await readStdin('SQL')) : sql;
        if (statement.trim() === '') throw new UsageError('the SQL statement is empty');
        if (flags.format === 'arrow' && !flags.output && process.stdout.isTTY) {
          throw new UsageError('--format arrow writes binary: pass --output <file> or redirect stdout');
        }
        const asOf = flags.asOf === undefined ? undefined : parseAsOf(flags.asOf);
        const { client } = connect(flags);
        const answer = (out: NodeJS.WritableStream) =>
          writeAnswer(flags.format, { client, sql: statement, options: asOf ? { asOf } : {}, out });
        await (flags.output ? writeFileWhole(flags.output, answer) : answer(process.stdout));
      }),
    );
}

/** A catalog version (a whole number) or a point in time. */
function parseAsOf(text: string): AsOf {
  if (/^\d+$/.test(text)) return { version: Number(text) };
  if (Number.isNaN(Date.parse(text))) {
    throw new UsageError(
      `--as-of ${JSON.stringify(text)} is neither a catalog version nor a time such as 2026-03-01T12:00:00Z`,
    );
  }
  return { timestamp: text };
}
