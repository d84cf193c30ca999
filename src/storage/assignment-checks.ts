import { StoreConflictError, StoreParentGoneError } from './store-errors.js';
import type { RoleAssignmentRow } from './store-types.js';

// What a role assignment's insert checks in its own transaction, where another cluster member's write
// cannot slip in between (the service checks its index first, which that member's change may not have
// reached): one grant (principal, scope, role) is stored once, under one name (Azure answers a second one
// 409 RoleAssignmentExists); a custom role it names is stored, and is not deleted while assigned; the
// resource group and vault it is at (or under) are stored.

export interface AssignmentChecks {
  /** Which stored rows count as a twin: by default all; the sealed store leaves out rows that fail their seal (they grant nothing). */
  twinCounts?: (row: RoleAssignmentRow) => boolean;
  /** The role is a custom one, which must be stored (built-in roles are not). */
  customRole?: boolean;
  /**
   * The resource group the assignment is at or under, and the vault when it is at a vault or one of its secrets:
   * each must be stored (the vault live or soft-deleted). On PostgreSQL their rows are locked until the insert
   * commits, so that the group's deletion or the vault's purge (through another cluster member) waits for it,
   * and then finds the assignment to remove with them.
   */
  scope?: { subscriptionId: string; resourceGroup: string; vault?: string };
}

/** The twin search in a store's dialect (`p(n)` names the n-th parameter); its parameters are twinParams(row). */
export const twinSql = (columns: string, p: (n: number) => string): string =>
  `SELECT ${columns} FROM role_assignments WHERE principal_id = ${p(1)} AND lower(scope) = lower(${p(2)})` +
  ` AND (lower(role_definition_id) = ${p(3)} OR lower(role_definition_id) LIKE ${p(4)}) AND id <> ${p(5)}`;

/** The scope is lowered by the database on both sides: its lower() and JavaScript's differ beyond ASCII. */
export const twinParams = (r: RoleAssignmentRow): [string, string, string, string, string] => [r.principalId.toLowerCase(), r.scope, ...roleParams(r.roleDefinitionId), r.id.toLowerCase()];

/** Throws StoreConflictError('exists'), naming the twin, if one of `found` counts. */
export function refuseTwin(r: RoleAssignmentRow, found: readonly RoleAssignmentRow[], counts: AssignmentChecks['twinCounts'] = () => true): void {
  const twin = found.find(counts);
  if (twin) throw new StoreConflictError('exists', `role assignment ${r.id} grants what role assignment ${twin.id} grants`, twin.id);
}

/** Whether a custom role has an assignment stored (its deletion is refused); parameters: roleParams(id). */
export const roleAssignedSql = (p: (n: number) => string): string =>
  `SELECT 1 AS one FROM role_assignments WHERE lower(role_definition_id) = ${p(1)} OR lower(role_definition_id) LIKE ${p(2)} LIMIT 1`;

/** Role ids are stored as the role's GUID; a full role definition id (an older row) ends with it. */
export const roleParams = (roleId: string): [string, string] => {
  const role = roleId.split('/').pop()!.toLowerCase();
  return [role, `%/${role}`];
};

/** A custom role's deletion meets an assignment of it (stored through another cluster member, say). */
export const roleAssigned = (roleId: string) => new StoreConflictError('changed', `custom role ${roleId} is assigned`);

/** An assignment of a custom role meets the role gone (deleted through another cluster member, say). */
export const roleGone = (r: RoleAssignmentRow) => new StoreParentGoneError(`role assignment ${r.id} names custom role ${r.roleDefinitionId}, which is gone`);

/** An assignment meets its resource group or vault gone (deleted or purged through another cluster member, say). */
export const scopeGone = (r: RoleAssignmentRow) => new StoreParentGoneError(`role assignment ${r.id} is at ${r.scope}, which is gone`);
