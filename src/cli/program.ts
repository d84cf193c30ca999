import type { Command } from 'commander';
import { registerAdCommands } from './commands/ad-command.js';
import { registerAdminCommands } from './commands/admin-command.js';
import { registerAuditCommands } from './commands/audit-command.js';
import { registerConnectorCommands } from './commands/connector-command.js';
import { addExamples } from './examples.js';
import { useAzArgTypes } from './arg-types.js';
import { rootProgram } from './root-program.js';
import { registerGroupCommands } from './commands/group-command.js';
import { registerHostsCommand } from './commands/hosts-command.js';
import { registerKeyvaultCommands } from './commands/keyvault-command.js';
import { registerAccountCommands } from './commands/account-command.js';
import { registerLoginCommands } from './commands/login-command.js';
import { registerSecretCommands } from './commands/secret-command.js';
import { registerNetworkRuleCommands } from './commands/network-rule-command.js';
import { registerPolicyCommands } from './commands/policy-command.js';
import { registerRoleCommands } from './commands/role-command.js';
import { registerServerCommand } from './commands/server-command.js';

// Every command: `coffer server` runs the vault; every other command is a
// client that accepts az's command lines.
export function buildProgram(): Command {
  const program = rootProgram();
  registerServerCommand(program);
  registerLoginCommands(program);
  registerAccountCommands(program);
  registerGroupCommands(program);
  const keyvault = registerKeyvaultCommands(program);
  registerSecretCommands(keyvault);
  registerPolicyCommands(keyvault);
  registerNetworkRuleCommands(keyvault);
  registerRoleCommands(program);
  registerAdCommands(program);
  registerHostsCommand(program);
  registerAdminCommands(program);
  registerAuditCommands(program);
  registerConnectorCommands(program);
  addExamples(program);
  useAzArgTypes(program);
  return program;
}
