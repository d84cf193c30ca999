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
 * Actions that make a custom role a privileged administrator role, as the Azure portal lists them: what it
 * grants decides, not its name, which a custom role can make look like a built-in one's.
 */
const PRIVILEGED_ACTIONS = new Set(
  [
    '*',
    '*/delete',
    '*/write',
    'Microsoft.Authorization/denyAssignments/delete',
    'Microsoft.Authorization/denyAssignments/write',
    'Microsoft.Authorization/roleAssignments/delete',
    'Microsoft.Authorization/roleAssignments/write',
    'Microsoft.Authorization/roleDefinitions/delete',
    'Microsoft.Authorization/roleDefinitions/write',
  ].map((a) => a.toLowerCase()),
);

/** Whether a role belongs under "Privileged administrator roles": those built-in ones, and custom roles granting such actions. */
export const isPrivileged = (r: RoleDefinition): boolean =>
  r.properties.type === 'BuiltInRole' ? PRIVILEGED_ROLES.has(r.properties.roleName) : r.properties.permissions.some((p) => p.actions.some((a) => PRIVILEGED_ACTIONS.has(a.toLowerCase())));
