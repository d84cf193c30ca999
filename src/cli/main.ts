import { Command, CommanderError } from 'commander';
import { CliError, formatCliError } from './cli-error.js';
import { registerAdCommands } from './commands/ad-command.js';
import { registerAdminCommands } from './commands/admin-command.js';
import { registerAuditCommands } from './commands/audit-command.js';
import { registerConnectorCommands } from './commands/connector-command.js';
import { addExamples } from './examples.js';
import { registerGroupCommands } from './commands/group-command.js';
import { registerHostsCommand } from './commands/hosts-command.js';
import { registerKeyvaultCommands } from './commands/keyvault-command.js';
import { registerLoginCommands } from './commands/login-command.js';
import { registerSecretCommands } from './commands/secret-command.js';
import { registerPolicyCommands } from './commands/policy-command.js';
import { registerRoleCommands } from './commands/role-command.js';
import { registerServerCommand } from './commands/server-command.js';

// The coffer executable: `coffer server` runs the vault; every other command
// is a client that accepts az's command lines.

export function buildProgram(): Command {
  const program = new Command('coffer')
    .description('coffer: a self-hosted secrets vault that speaks Azure Key Vault.')
    .version('0.1.0')
    // Root options only before the subcommand: `secret show --version` is the secret's.
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ outputError: (text, write) => write(`ERROR: ${text.replace(/^error: /, '')}`) });
  registerServerCommand(program);
  registerLoginCommands(program);
  registerGroupCommands(program);
  const keyvault = registerKeyvaultCommands(program);
  registerSecretCommands(keyvault);
  registerPolicyCommands(keyvault);
  registerRoleCommands(program);
  registerAdCommands(program);
  registerHostsCommand(program);
  registerAdminCommands(program);
  registerAuditCommands(program);
  registerConnectorCommands(program);
  addExamples(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(formatCliError(err) + '\n');
      process.exitCode = err.exitCode;
      return;
    }
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`ERROR: ${e.code === 'ECONNREFUSED' ? `cannot reach the coffer server (${e.message})` : e.message}\n`);
    process.exitCode = 1;
  }
}
