import type { RoleAssignmentRow } from '../storage/store-types.js';
import type { Role } from './role-catalog.js';

// Role assignments and definitions in ARM's JSON shape. coffer adds
// `endDateTime` to an assignment (null when it does not expire).

const iso = (t: number | null) => (t === null ? null : new Date(t * 1000).toISOString());

/** A role definition's id: under the subscription, or (null) at the root scope, where Azure shows built-in roles without one. */
export const roleDefinitionId = (subscriptionId: string | null, roleId: string) =>
  `${subscriptionId === null ? '' : `/subscriptions/${subscriptionId}`}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`;

export function roleAssignmentResource(a: RoleAssignmentRow, subscriptionId: string) {
  return {
    id: `${a.scope === '/' ? '' : a.scope}/providers/Microsoft.Authorization/roleAssignments/${a.id}`,
    name: a.id,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      roleDefinitionId: roleDefinitionId(subscriptionId, a.roleDefinitionId),
      principalId: a.principalId,
      principalType: a.principalType,
      scope: a.scope,
      condition: null,
      conditionVersion: null,
      description: a.description,
      endDateTime: iso(a.endTime),
      createdOn: iso(a.createdAt),
      updatedOn: iso(a.updatedAt),
      createdBy: a.createdBy,
      updatedBy: a.createdBy,
      delegatedManagedIdentityResourceId: null,
    },
  };
}

export function roleDefinitionResource(r: Role, subscriptionId: string | null) {
  return {
    id: roleDefinitionId(subscriptionId, r.id),
    name: r.id,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: r.roleName,
      type: r.type,
      description: r.description,
      assignableScopes: r.assignableScopes,
      permissions: r.permissions,
      createdOn: iso(r.createdAt),
      updatedOn: iso(r.updatedAt),
      createdBy: r.createdBy,
      updatedBy: r.createdBy,
    },
  };
}
