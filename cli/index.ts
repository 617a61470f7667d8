/** The client commands of `weir` (query, write, import, runs, lineage, tokens, tenants), built on the SDK. */
import type { Command } from 'commander';
import { importCommand, writeCommand } from './commands/import.js';
import { lineageCommand } from './commands/lineage.js';
import { queryCommand } from './commands/query.js';
import { replayCommand, runCommand, runsCommand } from './commands/runs.js';
import { tenantsCommand } from './commands/tenants.js';
import { tokensCommand } from './commands/tokens.js';

export function addClientCommands(program: Command): void {
  for (const command of [
    queryCommand(),
    writeCommand(),
    importCommand(),
    runsCommand(),
    runCommand(),
    replayCommand(),
    lineageCommand(),
    tokensCommand(),
    tenantsCommand(),
  ]) {
    program.addCommand(command);
  }
}
