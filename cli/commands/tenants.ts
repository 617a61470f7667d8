/** `weir tenants list|create|delete` (platform admin tokens only). */
import type { Command } from 'commander';
import type { ConnectionFlags } from '../config.js';
import { action, clientCommand, connect, groupCommand } from '../context.js';
import { UsageError } from '../errors.js';
import { note, renderTable, write } from '../output.js';

interface Connection extends ConnectionFlags {
  json?: boolean;
}

export function tenantsCommand(): Command {
  return groupCommand('tenants', 'tenants of this Weir (needs a platform admin token)')
    .addCommand(listCommand())
    .addCommand(createCommand())
    .addCommand(deleteCommand());
}

function listCommand(): Command {
  return clientCommand('list')
    .description('list tenants')
    .option('--json', 'print the tenants as JSON')
    .action(
      action(async (flags: Connection) => {
        const tenants = await connect(flags).client.tenants.list();
        if (flags.json) return write(`${JSON.stringify(tenants, null, 2)}\n`);
        await write(
          renderTable(
            ['id', 'display name', 'created at'],
            tenants.map((t) => [t.id, t.display_name, t.created_at]),
          ),
        );
      }),
    );
}

function createCommand(): Command {
  return clientCommand('create')
    .description("create a tenant; its first admin token's secret is printed once, alone on stdout")
    .argument('<id>', 'tenant id (a letter, then letters, digits, _ or -)')
    .option('--display-name <name>', 'a name for people')
    .option('--json', "print the server's answer as JSON")
    .action(
      action(async (id: string, flags: Connection & { displayName?: string }) => {
        const created = await connect(flags).client.tenants.create({
          id,
          ...(flags.displayName ? { display_name: flags.displayName } : {}),
        });
        if (flags.json) return write(`${JSON.stringify(created, null, 2)}\n`);
        await write(`${created.token}\n`);
        note(
          `created tenant ${id} with admin token ${created.token_id}; its secret above is shown only this once`,
        );
      }),
    );
}

function deleteCommand(): Command {
  return clientCommand('delete')
    .description("delete a tenant's tokens (its data stays, and its id cannot be reused while it does)")
    .argument('<id>', 'tenant id')
    .option('--yes', 'confirm: the tenant can no longer sign in')
    .action(
      action(async (id: string, flags: Connection & { yes?: boolean }) => {
        if (!flags.yes)
          throw new UsageError(`deleting tenant ${id} revokes every token it has: pass --yes to confirm`);
        await connect(flags).client.tenants.delete(id, { confirm: true });
        await write(`deleted tenant ${id}\n`);
      }),
    );
}
