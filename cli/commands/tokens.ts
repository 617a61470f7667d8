/**
 * `weir tokens list|create|rotate|revoke|verify`. A new secret (create, rotate) is printed alone on
 * stdout, so `T=$(weir tokens create grafana)` captures it; what was done goes to stderr.
 */
import type { Command } from 'commander';
import type { Permission, TokenCreate, TokenInfo } from '../../sdk/index.js';
import { commaList } from '../arguments.js';
import type { ConnectionFlags } from '../config.js';
import { action, clientCommand, connect, groupCommand } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { note, renderPairs, renderTable, write } from '../output.js';

const PERMISSIONS: Permission[] = ['read', 'write', 'delete', 'admin'];

interface Connection extends ConnectionFlags {
  json?: boolean;
}

interface CreateFlags extends Connection {
  permissions?: string;
  databases?: string;
  allDatabases?: boolean;
  expiresIn?: string;
  description?: string;
  platformAdmin?: boolean;
}

export function tokensCommand(): Command {
  return groupCommand('tokens', "the tokens of your token's tenant (create, rotate and revoke need admin)")
    .addCommand(listCommand())
    .addCommand(createCommand())
    .addCommand(rotateCommand())
    .addCommand(revokeCommand())
    .addCommand(verifyCommand());
}

function listCommand(): Command {
  return clientCommand('list')
    .description('list tokens (never their secrets)')
    .option('--json', 'print the tokens as JSON')
    .action(
      action(async (flags: Connection) => {
        const tokens = await connect(flags).client.tokens.list();
        if (flags.json) return write(`${JSON.stringify(tokens, null, 2)}\n`);
        await write(
          renderTable(
            ['id', 'name', 'permissions', 'databases', 'state', 'expires at', 'last used at'],
            tokens.map((t) => [
              t.id,
              t.name,
              t.permissions.join(',') + (t.platform_admin ? ' +platform' : ''),
              t.databases?.join(',') ?? 'all',
              state(t),
              t.expires_at ?? '',
              t.last_used_at ?? '',
            ]),
          ),
        );
      }),
    );
}

function createCommand(): Command {
  return clientCommand('create')
    .description('create a token; its secret is printed once, alone on stdout')
    .argument('<name>', 'a name to know it by')
    .option('--permissions <list>', `comma-separated: ${PERMISSIONS.join(', ')} (default read,write)`)
    .option('--databases <list>', 'databases it may use (default: those of your token)')
    .option('--all-databases', 'it may use every database')
    .option('--expires-in <duration>', 'seconds, or 45s, 15m, 12h, 30d, 2w (default: never)')
    .option('--description <text>', 'what it is for')
    .option('--platform-admin', 'it may also manage tenants (needs a platform admin token)')
    .option('--json', "print the server's answer as JSON")
    .action(
      action(async (name: string, flags: CreateFlags) => {
        if (flags.databases && flags.allDatabases)
          throw new UsageError('--databases and --all-databases exclude each other');
        const request: TokenCreate = { name };
        if (flags.permissions) request.permissions = permissions(flags.permissions);
        if (flags.databases) request.databases = commaList(flags.databases);
        if (flags.allDatabases) request.databases = null;
        if (flags.expiresIn) request.expires_in = flags.expiresIn;
        if (flags.description) request.description = flags.description;
        if (flags.platformAdmin) request.platform_admin = true;
        const created = await connect(flags).client.tokens.create(request);
        if (flags.json) return write(`${JSON.stringify(created, null, 2)}\n`);
        await write(`${created.token}\n`);
        note(
          `created token ${JSON.stringify(name)} (id ${created.id}); its secret above is shown only this once`,
        );
      }),
    );
}

function rotateCommand(): Command {
  return clientCommand('rotate')
    .description('give a token a new secret, printed alone on stdout; the old one stops working')
    .argument('<id>', 'token id')
    .option('--json', "print the server's answer as JSON")
    .action(
      action(async (id: string, flags: Connection) => {
        const rotated = await connect(flags).client.tokens.rotate(id);
        if (flags.json) return write(`${JSON.stringify(rotated, null, 2)}\n`);
        await write(`${rotated.new_token}\n`);
        note(`rotated token ${id}; its new secret above is shown only this once`);
      }),
    );
}

function revokeCommand(): Command {
  return clientCommand('revoke')
    .description('revoke a token for good (it stays listed, revoked)')
    .argument('<id>', 'token id')
    .action(
      action(async (id: string, flags: Connection) => {
        await connect(flags).client.tokens.revoke(id);
        await write(`revoked token ${id}\n`);
      }),
    );
}

function verifyCommand(): Command {
  return clientCommand('verify')
    .description('check a token (default: the one this command uses); exits 1 when it is not valid')
    .argument('[token]', 'the secret to check')
    .option('--json', "print the server's answer as JSON")
    .action(
      action(async (token: string | undefined, flags: Connection) => {
        const verification = await connect(flags).client.tokens.verify(token);
        if (flags.json) await write(`${JSON.stringify(verification, null, 2)}\n`);
        if (!verification.valid)
          throw new CliError(`the token is not valid: ${verification.error ?? 'no reason given'}`);
        if (flags.json) return;
        const info = verification.token_info;
        await write(
          renderPairs([
            ['valid', 'yes'],
            ['tenant', verification.tenant ?? ''],
            ['name', info?.name ?? ''],
            ['id', info?.id ?? ''],
            ['permissions', (verification.permissions ?? []).join(',')],
            ['databases', verification.databases?.join(',') ?? 'all'],
            ['expires at', info?.expires_at ?? 'never'],
          ]),
        );
      }),
    );
}

function permissions(text: string): Permission[] {
  const list = commaList(text);
  for (const p of list) {
    if (!PERMISSIONS.includes(p as Permission)) {
      throw new UsageError(`unknown permission ${JSON.stringify(p)}: use ${PERMISSIONS.join(', ')}`);
    }
  }
  return list as Permission[];
}

function state(token: TokenInfo): string {
  if (token.revoked) return 'revoked';
  if (!token.enabled) return 'disabled';
  if (token.expires_at && Date.parse(token.expires_at) <= Date.now()) return 'expired';
  return 'active';
}
