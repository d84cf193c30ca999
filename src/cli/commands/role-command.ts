import { Option, type Command } from 'commander';
import { roleAssignmentListTable, roleDefinitionListTable } from '../table-views.js';
import { CliError } from '../cli-error.js';
import { readJsonObject } from '../file-or-dict.js';
import { confirmed } from '../prompt.js';
import { run, withOutput } from '../command-kit.js';
import { withStatus } from '../status-notices.js';
import { GUID, resolvePrincipal } from '../principal-lookup.js';
import { odataString } from '../graph-query.js';
import { asRoleAssignment } from '../output-models.js';
import { registerAssignmentUpdate } from './role-assignment-update.js';
import type { Session } from '../session.js';

// coffer role assignment | definition | check-access: Azure RBAC with az's
// flags, plus coffer's --end-time (time-bound grants) and explain-why.

const API_VERSION = '2022-04-01';

interface RoleDefinition {
  id: string;
  name: string;
  properties: { roleName: string; type: string; description: string; permissions: unknown[]; assignableScopes: string[] };
}
interface RoleAssignment {
  id: string;
  name: string;
  type: string;
  properties: Record<string, unknown> & { roleDefinitionId: string; principalId: string; scope: string };
}

/** A role definition as az prints it. */
const definitionView = (r: RoleDefinition) => ({
  id: r.id,
  name: r.name,
  type: 'Microsoft.Authorization/roleDefinitions',
  roleName: r.properties.roleName,
  // The RoleDefinition model's order, as az prints it: description, then roleType.
  description: r.properties.description,
  roleType: r.properties.type,
  permissions: r.properties.permissions,
  assignableScopes: r.properties.assignableScopes,
});

/**
 * --role-definition as az reads it: a file (a path that exists, or @path) or JSON text, an object whose
 * property names may start upper-case (PowerShell's Name, Actions, ...) and are read as camel case.
 */
function readRoleDefinition(raw: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(readJsonObject(raw, 'role definition')).map(([k, v]) => [k.slice(0, 1).toLowerCase() + k.slice(1), v]));
}

const subScope = (s: Session) => `/subscriptions/${s.profile.subscriptionId}`;
/** az puts a scope or id into its URL template after a '/': one without its leading '/' works the same. */
export const withLeadingSlash = (id: string): string => (id.startsWith('/') ? id : `/${id}`);
export const authz = (s: Session, scope: string, path: string, query = '') =>
  `${s.profile.server}${scope === '/' ? '' : withLeadingSlash(scope)}/providers/Microsoft.Authorization/${path}?api-version=${API_VERSION}${query}`;

/**
 * The roles assignable at `scope` (default: the subscription); `andBelow` adds custom roles assignable only
 * below it (a vault, a secret), which naming an assignment needs (the service lists only the roles
 * assignable at a scope and above it).
 */
async function roleDefinitions(s: Session, andBelow = true, scope = subScope(s)): Promise<RoleDefinition[]> {
  const filter = andBelow ? `&$filter=${encodeURIComponent('atScopeAndBelow()')}` : '';
  return (await s.call<{ value: RoleDefinition[] }>('GET', authz(s, scope, 'roleDefinitions', filter), s.managementResource)).value;
}

/**
 * az's _resolve_role_id: a role definition id as it is, a GUID as the subscription's role of that id, a name
 * looked up at `scope` (so that whoever may assign roles only there, such as a vault's Key Vault Data
 * Access Administrator, need not read the subscription's roles). `roleName` is known only for a name.
 */
export async function resolveRoleAt(s: Session, role: string, scope: string): Promise<{ id: string; guid: string; roleName?: string }> {
  if (/^\/subscriptions\/.+\/providers\/Microsoft\.Authorization\/roleDefinitions\//i.test(role)) return { id: role, guid: role.split('/').pop()! };
  if (GUID.test(role)) return { id: `${subScope(s)}/providers/Microsoft.Authorization/roleDefinitions/${role}`, guid: role };
  const filter = `&$filter=${encodeURIComponent(`roleName eq '${odataString(role)}'`)}`;
  const found = (await s.call<{ value: RoleDefinition[] }>('GET', authz(s, scope, 'roleDefinitions', filter), s.managementResource)).value;
  // az's CLIError: no code in the message.
  if (found.length === 0) throw new CliError(`Role '${role}' doesn't exist.`);
  if (found.length > 1) throw new CliError(`More than one role matches the given name '${role}'. Please pick a value from '[${found.map((r) => `'${r.id}'`).join(', ')}]'`);
  return { id: found[0]!.id, guid: found[0]!.name, roleName: found[0]!.properties.roleName };
}

/**
 * What az shows as an assignment's principalName: a user's UPN, a service
 * principal's first servicePrincipalName (its appId), else the display name.
 * As in az, a directory that cannot answer leaves the names out, not the list.
 */
async function principalNames(s: Session, ids: string[]): Promise<Map<string, string>> {
  type Stub = { id: string; userPrincipalName?: string | null; servicePrincipalNames?: string[]; displayName?: string | null };
  const names = new Map<string, string>();
  const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
  try {
    for (let i = 0; i < unique.length; i += 1000) {
      const ids = unique.slice(i, i + 1000);
      const found = await s.call<{ value: Stub[] }>('POST', `${s.profile.server}/v1.0/directoryObjects/getByIds`, s.managementResource, { ids, types: ['user', 'group', 'servicePrincipal'] });
      for (const o of found.value) names.set(o.id.toLowerCase(), o.userPrincipalName ?? o.servicePrincipalNames?.[0] ?? o.displayName ?? '');
    }
  } catch (err) {
    s.log(`could not name the principals: ${(err as Error).message}`);
  }
  return names;
}

interface Search {
  scope: string;
  principalId?: string;
  roleName?: string;
  includeGroups?: boolean;
  includeInherited?: boolean;
  all?: boolean;
}

/** az's _search_role_assignments and list_role_assignments: exactly at the scope unless --include-inherited (or --all), named. */
async function searchAssignments(s: Session, q: Search) {
  const filters: string[] = [];
  if (!q.all) filters.push('atScope()');
  if (q.principalId) filters.push(q.includeGroups ? `assignedTo('${q.principalId}')` : `principalId eq '${q.principalId}'`);
  const query = filters.length ? `&$filter=${encodeURIComponent(filters.join(' and '))}` : '';
  const scope = q.scope.toLowerCase();
  const list = (await s.call<{ value: RoleAssignment[] }>('GET', authz(s, q.scope, 'roleAssignments', query), s.managementResource)).value.filter((a) => {
    if (q.all) return true;
    const at = a.properties.scope.toLowerCase();
    // az: re.match(assignment scope, scope): an assignment above the scope (a prefix of it) is inherited.
    return at === scope || (q.includeInherited === true && scope.startsWith(at));
  });
  const wanted = q.roleName?.toLowerCase();
  const matching = list.filter((a) => wanted === undefined || a.properties.roleDefinitionId.split('/').pop()!.toLowerCase() === wanted);
  if (matching.length === 0) return [];
  // At the scope asked about, which its caller may read (the whole subscription's, with --all).
  const defs = new Map((await roleDefinitions(s, true, q.scope)).map((d) => [d.name.toLowerCase(), d.properties.roleName]));
  const names = await principalNames(s, matching.map((a) => a.properties.principalId));
  return matching.map((a) =>
    azAssignment(a, { role: defs.get(a.properties.roleDefinitionId.split('/').pop()!.toLowerCase()), principal: names.get(a.properties.principalId.toLowerCase()) ?? '' }),
  );
}

/** az's _build_role_scope: --scope, or the resource group's, or the subscription. */
function roleScope(s: Session, o: { scope?: string; resourceGroup?: string }): string {
  if (o.scope && o.resourceGroup) throw new CliError(`Resource group "${o.resourceGroup}" is redundant because scope is supplied`);
  if (o.scope) return withLeadingSlash(o.scope);
  return o.resourceGroup ? `${subScope(s)}/resourceGroups/${o.resourceGroup}` : subScope(s);
}

/** az's listed role assignment (its model, then the names list_role_assignments adds), with coffer's endDateTime. */
function azAssignment(a: RoleAssignment, names: { role?: string; principal?: string }) {
  // resourceGroup comes from the id, as az's global transform adds it (none at a subscription's scope).
  // Only for a time-bound one: az's columns (-o tsv) and keys stay as az has them for every other.
  const end = a.properties.endDateTime != null ? { endDateTime: a.properties.endDateTime } : {};
  return { ...asRoleAssignment(a), ...end, roleDefinitionName: names.role ?? null, principalName: names.principal ?? null };
}

/**
 * What az 2.45's role assignment create prints: the RoleAssignment model the service answered with
 * (authorization 2020-04-01-preview), so no roleDefinitionName or principalName (only list adds those)
 * and no coffer endDateTime (a property that model does not have).
 */
const createdAssignment = (a: RoleAssignment) => asRoleAssignment(a);

/** Graph's @odata.type of a directory object, as a role assignment's principalType. */
const TYPES: Record<string, string> = { '#microsoft.graph.user': 'User', '#microsoft.graph.servicePrincipal': 'ServicePrincipal', '#microsoft.graph.group': 'Group' };

/**
 * az's _get_principal_type_from_object_id, for --assignee-object-id without
 * --assignee-principal-type: its warning, then the object's type from
 * Graph's getByIds (none if it is not found; a Graph error is a warning).
 */
async function principalTypeOf(s: Session, objectId: string): Promise<string | undefined> {
  s.warn('RBAC service might reject creating role assignment without --assignee-principal-type in the future. Better to specify --assignee-principal-type manually.');
  try {
    const body = { ids: [objectId], types: ['user', 'group', 'servicePrincipal', 'directoryObjectPartnerReference'] };
    const found = await s.call<{ value: Array<{ '@odata.type'?: string }> }>('POST', `${s.profile.server}/v1.0/directoryObjects/getByIds`, s.managementResource, body);
    return TYPES[found.value[0]?.['@odata.type'] ?? ''];
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    s.warn(`Failed to query --assignee-principal-type for --assignee-object-id ${objectId} by invoking Graph API.`);
    return undefined;
  }
}

interface CreateOptions {
  role: string;
  assignee?: string;
  assigneeObjectId?: string;
  assigneePrincipalType?: string;
  scope?: string;
  resourceGroup?: string;
  name?: string;
  description?: string;
  condition?: string;
  conditionVersion?: string;
  endTime?: string;
}

export function registerRoleCommands(program: Command): void {
  const role = program.command('role').description('Manage Azure RBAC: role assignments and definitions.');
  const assignment = role.command('assignment').description('Role assignments.');

  const create = withOutput(assignment.command('create').description('Assign a role to a user, group or service principal at a scope.'))
    .requiredOption('--role <role>', 'role name (e.g. "Key Vault Secrets User") or id')
    .option('--assignee <who>', 'appId, UPN, object id or display name')
    .option('--assignee-object-id <id>', 'object id (no directory lookup)')
    // az's own enum (role/_params.py), without the REST spec's internal values.
    .addOption(new Option('--assignee-principal-type <type>', 'the type of --assignee-object-id').choices(['User', 'Group', 'ServicePrincipal', 'ForeignGroup']))
    .option('--scope <scope>', 'scope: a subscription, resource group, vault or secret resource id (default: the resource group given with -g, else the subscription)')
    .option('-g, --resource-group <group>', "the resource group's scope")
    .option('-n, --name <guid>', "the assignment's name, a GUID (default: a new one); ARM refuses any other")
    .option('--description <text>', 'description (preview in az)')
    .option('--condition <condition>', 'ABAC condition (preview in az); coffer does not evaluate conditions, and its server refuses an assignment with one')
    .option('--condition-version <version>', "the condition's syntax version (default with --condition: 2.0)")
    .option('--end-time <iso8601>', "coffer: the assignment stops granting at this time and is removed")
    .addHelpText('after', '\nExamples:\n  coffer role assignment create --role "Key Vault Secrets User" --assignee APP_ID \\\n    --scope /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/V/secrets/apono-mysql-user\n  coffer role assignment create --role "Key Vault Secrets User" --assignee APP_ID --scope SCOPE --end-time 2026-12-31T00:00:00Z')
    .action(
      run<CreateOptions>(async (o, s) => {
        // az's checks in the command itself (CLIError: exit 1).
        if (!o.assignee === !o.assigneeObjectId) throw new CliError('usage error: --assignee STRING | --assignee-object-id GUID');
        if (o.assigneePrincipalType && !o.assigneeObjectId) throw new CliError('usage error: --assignee-object-id GUID --assignee-principal-type TYPE');
        // As az: a condition's version defaults to 2.0, and a version needs a condition.
        const conditionVersion = o.conditionVersion || (o.condition ? '2.0' : undefined);
        if (conditionVersion && !o.condition) throw new CliError('usage error: When --condition-version is set, --condition must be set as well.');
        const principal = o.assignee ? await resolvePrincipal(s, o.assignee) : { id: o.assigneeObjectId!, kind: o.assigneePrincipalType ?? (await principalTypeOf(s, o.assigneeObjectId!)) };
        const scope = roleScope(s, o);
        const def = await resolveRoleAt(s, o.role, scope);
        // As az's SDK call: empty values are not sent. A condition is sent as given, for the server to refuse (coffer evaluates none): never dropped.
        const properties: Record<string, unknown> = { roleDefinitionId: def.id, principalId: principal.id, endDateTime: o.endTime };
        if (principal.kind) properties.principalType = principal.kind;
        if (o.description) properties.description = o.description;
        if (o.condition) Object.assign(properties, { condition: o.condition, conditionVersion });
        // az's --name is the assignment's name as it is (the SDK quotes it into the path; ARM checks it is a GUID).
        const name = o.name || crypto.randomUUID();
        try {
          const created = await s.call<RoleAssignment>('PUT', authz(s, scope, `roleAssignments/${encodeURIComponent(name)}`), s.managementResource, { properties });
          return createdAssignment(created);
        } catch (err) {
          // As az: the same role for the same principal at the same scope is there already: show it (exit 0).
          if (!(err instanceof CliError) || err.code !== 'RoleAssignmentExists') throw err;
          const existing = await searchAssignments(s, { scope, principalId: principal.id, roleName: def.guid });
          if (existing.length === 0) throw err;
          return existing[0];
        }
      }),
    );
  // az's preview arguments: their notices (status-notices.ts).
  withStatus(create, 'preview', '--description', '--condition', '--condition-version');

  withOutput(assignment.command('list').description('List role assignments.'))
    .option('--scope <scope>', 'scope (default: the subscription); only assignments exactly at it, unless --include-inherited')
    .option('-g, --resource-group <group>', "the resource group's scope")
    .option('--assignee <who>', 'only this principal (and, with --include-groups, its groups)')
    .option('--role <role>', 'only this role')
    .option('--include-inherited', 'also the assignments at the scopes above (the subscription, the resource group...)')
    .option('--all', 'every assignment in the subscription, at any scope')
    .option('--include-groups', "include assignments of the assignee's groups")
    // az adds the subscription's co-administrators (classicAdministrators); coffer has none, so it adds nothing.
    .option('--include-classic-administrators [bool]', 'also the classic administrators (coffer has none)')
    .action(
      run<{ scope?: string; resourceGroup?: string; assignee?: string; role?: string; all?: boolean; includeInherited?: boolean; includeGroups?: boolean }>(async (o, s) => {
        if (o.all && (o.scope || o.resourceGroup)) throw new CliError('group or scope are not required when --all is used');
        const scope = roleScope(s, o);
        const principalId = o.assignee ? (await resolvePrincipal(s, o.assignee)).id : undefined;
        const roleName = o.role ? (await resolveRoleAt(s, o.role, scope)).guid : undefined;
        return searchAssignments(s, { scope, principalId, roleName, includeGroups: o.includeGroups, includeInherited: o.includeInherited, all: o.all });
      }, roleAssignmentListTable),
    );

  withOutput(assignment.command('delete').description('Delete role assignments by id, or by assignee, role and scope.'))
    .option('--ids <ids...>', 'role assignment resource ids')
    .option('--assignee <who>', 'principal')
    .option('--role <role>', 'role')
    .option('--scope <scope>', 'scope (default: the subscription)')
    .option('-g, --resource-group <group>', "the resource group's scope")
    .option('--include-inherited', 'also the matching assignments at the scopes above --scope')
    .option('-y, --yes', 'do not ask before deleting every assignment at the subscription')
    .action(
      run<{ ids?: string[]; assignee?: string; role?: string; scope?: string; resourceGroup?: string; includeInherited?: boolean; yes?: boolean }>(async (o, s) => {
        let ids = o.ids ?? [];
        if (ids.length > 0) {
          // As az: --ids wins, and it says what it ignores.
          for (const [given, flag] of [[o.assignee, '--assignee'], [o.role, '--role'], [o.resourceGroup, '--resource-group'], [o.scope, '--scope'], [o.includeInherited, '--include-inherited']] as const) {
            if (given) s.warn(`option '${flag}' will be ignored due to use of '--ids'.`);
          }
        } else {
          // az's delete_role_assignments: nothing to narrow it down means every assignment at the subscription, once confirmed.
          if (!o.assignee && !o.role && !o.resourceGroup && !o.scope && !(await confirmed(o.yes, 'This will delete all role assignments under the subscription. Are you sure?'))) return undefined;
          const scope = roleScope(s, o);
          const principalId = o.assignee ? (await resolvePrincipal(s, o.assignee)).id : null;
          const roleId = o.role ? (await resolveRoleAt(s, o.role, scope)).guid.toLowerCase() : null;
          const list = (await s.call<{ value: RoleAssignment[] }>('GET', authz(s, scope, 'roleAssignments', `&$filter=${encodeURIComponent('atScope()')}`), s.managementResource)).value;
          const at = scope.toLowerCase();
          // With --include-inherited also those above the scope (az: the assignment's scope is a prefix of it).
          const inScope = (a: RoleAssignment) => {
            const their = a.properties.scope.toLowerCase();
            return their === at || (o.includeInherited === true && (their === '/' || at.startsWith(`${their}/`)));
          };
          ids = list
            .filter(inScope)
            .filter((a) => principalId === null || a.properties.principalId === principalId)
            .filter((a) => roleId === null || a.properties.roleDefinitionId.toLowerCase().endsWith(roleId))
            .map((a) => a.id);
          if (ids.length === 0) throw new CliError('No matched assignments were found to delete');
        }
        for (const id of ids) await s.call('DELETE', `${s.profile.server}${withLeadingSlash(id)}?api-version=${API_VERSION}`, s.managementResource);
        return undefined;
      }),
    );

  registerAssignmentUpdate(assignment, { authz, readJson: (raw) => readJsonObject(raw, 'role assignment') });

  const definition = role.command('definition').description('Role definitions.');
  withOutput(definition.command('list').description('List role definitions.'))
    .option('-n, --name <name>', 'role name or id (exact)')
    .option('-g, --resource-group <group>', 'list the roles at this resource group')
    .option('--scope <scope>', 'list the roles at this scope')
    .option('--custom-role-only [bool]', 'only custom roles (bare or true)')
    .action(
      run<{ name?: string; resourceGroup?: string; scope?: string; customRoleOnly?: boolean }>(async (o, s) => {
        // az's _search_role_definitions: the roles at the scope, matched exactly by name (id) or roleName; none is [].
        const customOnly = o.customRoleOnly ?? false;
        const all = await roleDefinitions(s, false, roleScope(s, o));
        return all
          .filter((r) => o.name === undefined || r.name === o.name || r.properties.roleName === o.name)
          .filter((r) => !customOnly || r.properties.type === 'CustomRole')
          .map(definitionView);
      }, roleDefinitionListTable),
    );

  // az's create_role_definition / update_role_definition (_create_update_role_definition).
  const writeDefinition = (forUpdate: boolean) =>
    run<{ roleDefinition: string }>(async (o, s) => {
      const d = readRoleDefinition(o.roleDefinition);
      let roleName = d.name;
      if (typeof roleName !== 'string' || roleName === '') throw new CliError('please provide role name');
      let roleId: string = crypto.randomUUID();
      const scopes = Array.isArray(d.assignableScopes) ? (d.assignableScopes as unknown[]) : undefined;
      if (forUpdate) {
        const scope = typeof scopes?.[0] === 'string' ? scopes[0] : subScope(s);
        const matched = (await roleDefinitions(s, false, scope)).filter((r) => r.name === roleName || r.properties.roleName === roleName);
        if (matched.length > 1) throw new CliError(`More than 1 role definition are found with name: ${roleName}`);
        if (matched.length === 0) throw new CliError(`No role definition is found with name: ${roleName}`);
        roleId = matched[0]!.name;
        roleName = matched[0]!.properties.roleName;
      } else if (scopes === undefined) throw new CliError("please provide 'assignableScopes'");
      const permission = { actions: d.actions ?? null, notActions: d.notActions ?? null, dataActions: d.dataActions ?? null, notDataActions: d.notDataActions ?? null };
      const properties = { roleName, description: d.description ?? null, type: 'CustomRole', assignableScopes: scopes ?? [], permissions: [permission] };
      const at = typeof scopes?.[0] === 'string' ? scopes[0] : subScope(s);
      return definitionView(await s.call<RoleDefinition>('PUT', authz(s, at, `roleDefinitions/${roleId}`), s.managementResource, { name: roleId, properties }));
    });
  const roleDefinitionHelp = 'the role as JSON, or a file holding it (a path, or @path): Name, Description, Actions, NotActions, DataActions, NotDataActions, AssignableScopes';
  withOutput(definition.command('create').description('Create a custom role definition.')).requiredOption('--role-definition <definition>', roleDefinitionHelp).action(writeDefinition(false));
  withOutput(definition.command('update').description('Update a custom role definition (found by its name or id).')).requiredOption('--role-definition <definition>', roleDefinitionHelp).action(writeDefinition(true));
  withOutput(definition.command('delete').description('Delete custom role definitions (by name or id).'))
    .requiredOption('-n, --name <name>', 'role name or id')
    .option('-g, --resource-group <group>', 'the roles at this resource group')
    .option('--scope <scope>', 'the roles at this scope')
    .option('--custom-role-only [bool]', 'only custom roles (bare or true)')
    .action(
      run<{ name: string; resourceGroup?: string; scope?: string; customRoleOnly?: boolean }>(async (o, s) => {
        // az's delete_role_definition: every role at the scope of that name or id (none: nothing), no output.
        const customOnly = o.customRoleOnly ?? false;
        const scope = roleScope(s, o);
        const matched = (await roleDefinitions(s, false, scope)).filter((r) => (r.name === o.name || r.properties.roleName === o.name) && (!customOnly || r.properties.type === 'CustomRole'));
        for (const r of matched) await s.call('DELETE', authz(s, scope, `roleDefinitions/${r.name}`), s.managementResource);
        return undefined;
      }),
    );

  withOutput(role.command('check-access').description('coffer: what may a principal do at a scope, and which grant allows it.'))
    .requiredOption('--assignee <who>', 'appId, UPN, object id or display name')
    .requiredOption('--scope <scope>', 'scope, e.g. a vault or a secret resource id')
    .addHelpText('after', '\nExamples:\n  coffer role check-access --assignee apono-connector --scope /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/V/secrets/S -o table --query "data[].{op:operation, allowed:allowed}"')
    .action(
      run<{ assignee: string; scope: string }>(async (o, s) => {
        const principal = await resolvePrincipal(s, o.assignee);
        return s.call('POST', `${s.profile.server}/coffer/check-access`, s.managementResource, { principalId: principal.id, scope: o.scope });
      }),
    );
}
