import type { Grant, RoleDefinition } from '../api/types';

// Words for scopes and grants, shared by the IAM tabs and the wizard.

/** "This resource", "Subscription (Inherited)", ... for an assignment's scope seen from `here`. */
export function describeScope(scope: string, here: string): string {
  const s = scope.toLowerCase();
  if (s === here.toLowerCase()) return 'This resource';
  if (/\/secrets\//i.test(s)) return 'Secret';
  if (/\/providers\/microsoft\.keyvault\/vaults\//i.test(s)) return 'Key vault (Inherited)';
  if (/\/resourcegroups\/[^/]+$/i.test(s)) return 'Resource group (Inherited)';
  if (/^\/subscriptions\/[^/]+$/i.test(s)) return 'Subscription (Inherited)';
  if (s === '/') return 'Root (Inherited)';
  return scope;
}

export function describeGrant(g: Grant, here: string): string {
  const via = g.via.kind === 'group' ? ` through group ${g.via.groupName ?? g.via.groupId}` : '';
  const app = g.applicationId ? `, only through application ${g.applicationId}` : '';
  if (g.type === 'accessPolicy') return `Access policy (${(g.secretPermissions ?? []).join(', ') || 'no secret permissions'})${app}${via}`;
  return `${g.roleName} at ${describeScope(g.scope ?? '', here)}${g.endDateTime ? `, until ${new Date(g.endDateTime).toLocaleString()}` : ''}${via}`;
}

/** Built-in roles the Azure portal lists under "Privileged administrator roles". */
const PRIVILEGED_ROLES = new Set(['Owner', 'Contributor', 'User Access Administrator', 'Role Based Access Control Administrator']);

/**
 * The actions that make a custom role a privileged administrator role, as the Azure portal lists them (the
 * bare wildcard, and the wildcard on every write or every delete, among them): a role is privileged when one
 * of its actions, wildcards and all, covers one of these. What it grants decides, not its name, which a custom role can make look like a
 * built-in one's; `Microsoft.Authorization/*` covers role assignments as much as their exact action does.
 */
const PRIVILEGED_ACTIONS = [
  'Microsoft.Authorization/denyAssignments/delete',
  'Microsoft.Authorization/denyAssignments/write',
  'Microsoft.Authorization/roleAssignments/delete',
  'Microsoft.Authorization/roleAssignments/write',
  'Microsoft.Authorization/roleDefinitions/delete',
  'Microsoft.Authorization/roleDefinitions/write',
];

/** Whether an action pattern (`*` matching anything) covers `action`, case-insensitively, as the server matches them. */
const covers = (pattern: string, action: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`, 'i').test(action);

/** Whether a role belongs under "Privileged administrator roles": those built-in ones, and custom roles granting such actions. */
export const isPrivileged = (r: RoleDefinition): boolean =>
  r.properties.type === 'BuiltInRole'
    ? PRIVILEGED_ROLES.has(r.properties.roleName)
    : r.properties.permissions.some((p) => p.actions.some((a) => PRIVILEGED_ACTIONS.some((privileged) => covers(a, privileged))));
