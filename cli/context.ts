/**
 * What every client command shares: the connection options, a WeirClient built from them, and the
 * wrapper that turns whatever the command throws into a message and an exit code (errors.ts).
 */
import { Command, type CommanderError } from 'commander';
import { WeirClient } from '../sdk/index.js';
import { type Connection, type ConnectionFlags, resolveConnection } from './config.js';
import { describeError } from './errors.js';
import { finishOutput } from './output.js';

export interface Session {
  connection: Connection;
  client: WeirClient;
}

/** The connection the command resolved, if any: the error report names where its token came from. */
let current: Connection | undefined;

export function connect(flags: ConnectionFlags): Session {
  const connection = resolveConnection(flags);
  current = connection;
  const client = new WeirClient({
    url: connection.url,
    token: connection.token,
    database: connection.database,
  });
  return { connection, client };
}

/**
 * A client command: its usage errors exit 2 (commander's own exit 1 would read as a failed run), and
 * `--url`, `--token`, `--profile` (and `--database` where it means something).
 */
export function clientCommand(name: string, options: { database?: boolean } = {}): Command {
  const command = new Command(name)
    .option('--url <url>', `Weir server (else WEIR_URL, the profile, or http://localhost:8000)`)
    .option('--token <token>', 'API token (else WEIR_TOKEN or the profile)')
    .option(
      '--profile <name>',
      'profile of the profile file, whose settings beat WEIR_URL/WEIR_TOKEN/WEIR_DATABASE (else WEIR_PROFILE or its default)',
    );
  if (options.database) {
    command.option('-D, --database <name>', 'database (else WEIR_DATABASE, the profile, or "default")');
  }
  return usageExits(command);
}

/** A command that only groups others (`weir tokens`); its usage errors exit 2 too. */
export function groupCommand(name: string, description: string): Command {
  return usageExits(new Command(name).description(description));
}

function usageExits(command: Command): Command {
  return command
    .showHelpAfterError('(add --help for usage)')
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : 2));
}

/** Runs a command's body, reports what it throws, and exits once everything printed is written. */
export function action<A extends unknown[]>(
  body: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let exitCode = 0;
    try {
      await body(...args);
    } catch (error) {
      const report = describeError(error, current?.tokenSource);
      process.stderr.write(report.text);
      exitCode = report.exitCode;
    }
    await finishOutput();
    // Exit explicitly: idle keep-alive sockets or timers must not hold a finished command.
    process.exit(exitCode);
  };
}
