import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { run, withOutput } from '../command-kit.js';
import { asRoleAssignment } from '../output-models.js';
import type { Session } from '../session.js';

// coffer role assignment update: az 2.45's update_role_assignment. The
// assignment as JSON (or a file holding it), as `role assignment list`
// prints it: its scope and name say which, and a PUT of it replaces its
// description (and, coffer's, its end time: only when the JSON names
// `endDateTime`; the server keeps the end time a PUT leaves out).

interface Deps {
  /** An ARM URL of Microsoft.Authorization under `scope`. */
  authz(s: Session, scope: string, path: string): string;
  /** The argument's JSON object (text, or a file's path). */
  readJson(raw: string): Record<string, unknown>;
}

/** The fields az's RoleAssignment model reads and its PUT sends (authorization 2020-04-01-preview), by wire name. */
const SENT = ['scope', 'roleDefinitionId', 'principalId', 'principalType', 'canDelegate', 'description', 'condition', 'conditionVersion'] as const;

/**
 * A field as msrest's from_dict finds it: its wire name in any case at the
 * top (as list prints it), or under `properties` (as the service answers).
 */
function field(d: Record<string, unknown>, name: string): { found: boolean; value: unknown } {
  const lookIn = (o: unknown) => {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
    const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : { found: true, value: (o as Record<string, unknown>)[key] };
  };
  return lookIn(d) ?? lookIn(d.properties) ?? { found: false, value: undefined };
}

export function registerAssignmentUpdate(assignment: Command, deps: Deps): void {
  withOutput(assignment.command('update').description('Update a role assignment: its description (and coffer\'s endDateTime).'))
    .requiredOption('--role-assignment <assignment>', 'the assignment as JSON, or a file holding it (a path, or @path), as `role assignment list` prints it')
    .addHelpText('after', '\nExamples:\n  coffer role assignment list --assignee APP_ID --query [0] > a.json   # edit its description\n  coffer role assignment update --role-assignment a.json')
    .action(
      run<{ roleAssignment: string }>(async (o, s) => {
        const d = deps.readJson(o.roleAssignment);
        const scope = field(d, 'scope').value;
        const name = field(d, 'name').value;
        if (typeof scope !== 'string' || scope === '' || typeof name !== 'string' || name === '') {
          throw new CliError("usage error: the role assignment's JSON needs its 'scope' and 'name', as role assignment list prints them");
        }
        const url = deps.authz(s, scope, `roleAssignments/${encodeURIComponent(name)}`);
        // As az: the assignment as it is, for its checks.
        const original = await s.call<{ properties: Record<string, unknown> }>('GET', url, s.managementResource);
        const properties: Record<string, unknown> = {};
        for (const key of SENT) {
          const value = field(d, key).value;
          if (value !== undefined && value !== null) properties[key] = value;
        }
        const before = original.properties.conditionVersion;
        const after = properties.conditionVersion;
        if (typeof after === 'string' && typeof before === 'string' && before.startsWith('2.') && after.startsWith('1.')) {
          throw new CliError("Condition version cannot be downgraded to '1.X'.");
        }
        properties.principalType ??= original.properties.principalType;
        // coffer's end time travels only when the JSON names it (null removes it).
        const end = field(d, 'endDateTime');
        if (end.found) properties.endDateTime = end.value;
        return asRoleAssignment(await s.call('PUT', url, s.managementResource, { properties }));
      }),
    );
}
