#!/usr/bin/env node
import { Command } from 'commander';
import { addClientCommands } from '../cli/index.js';
import type { RunOptions } from '../services/runtime/index.js';

interface ServerFlags {
  config?: string;
  port?: string;
  dataDir?: string;
}

// The server is loaded only by the commands that run it: client commands start in a fraction of the time.
async function run(role: RunOptions['role'], flags: ServerFlags): Promise<void> {
  const { runServer } = await import('../services/runtime/index.js');
  const code = await runServer({
    role,
    ...(flags.config ? { configFile: flags.config } : {}),
    flags: { port: flags.port, dataDir: flags.dataDir },
  });
  // Exit explicitly: a clean shutdown has closed everything it owns, and nothing else may hold the process.
  process.exit(code);
}

function serverCommand(name: RunOptions['role'], description: string): Command {
  return new Command(name)
    .description(description)
    .option('-c, --config <path>', 'JSON config file (else WEIR_CONFIG)')
    .option('-p, --port <port>', 'HTTP port (else WEIR_PORT, default 8000)')
    .option('-d, --data-dir <dir>', 'data directory (else WEIR_DATA_DIR, default ./data)')
    .action((flags: ServerFlags) => run(name, flags));
}

const program = new Command('weir')
  .description('Weir: a multi-tenant lakehouse for time-series and operational data')
  .showHelpAfterError()
  .commandsGroup('Server commands:');

program.addCommand(
  serverCommand(
    'serve',
    'API and everything it needs on one machine (starts a private Redis when none is found)',
  ),
);
program.addCommand(
  serverCommand('api', 'API only, for fleets: needs a shared Redis (REDIS_URL or 127.0.0.1:6379)'),
);
program.addCommand(
  serverCommand('orchestrator', 'scheduler and run reconciler, for fleets (safe to run more than one)'),
);
program.addCommand(
  serverCommand('worker', 'task workers for every queue, for fleets (any number, any machine)'),
);
program.addCommand(
  new Command('config')
    .description('print the effective configuration (secrets masked), or with --docs the options table')
    .option('-c, --config <path>', 'JSON config file (else WEIR_CONFIG)')
    .option('--docs', 'print every option as a markdown table')
    .action(async (flags: { config?: string; docs?: boolean }) => {
      const { redactConfig, renderConfigTable } = await import('../services/config/index.js');
      const { loadConfigOrReport } = await import('../services/runtime/index.js');
      if (flags.docs) {
        process.stdout.write(`${renderConfigTable()}\n`);
        return;
      }
      const config = loadConfigOrReport(flags.config, {});
      if (!config) process.exit(1);
      process.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
    }),
);
program.commandsGroup('Client commands (--url, --token, --profile; see README "Command line"):');
addClientCommands(program);

await program.parseAsync();
