import type { DirectoryService } from '../identity/directory-service.js';
import { errors } from '../server/errors.js';
import type { VaultRow } from '../storage/store-types.js';
import type { VaultService } from '../vaults/vault-service.js';
import { vaultPolicy } from '../vaults/vault-types.js';
import type { AccessIndex } from './access-index.js';
import type { PolicyMatch } from './access-policies.js';
import type { Authorizer, RbacGrant } from './authorizer.js';
import { requireScope, vaultScope } from './scopes.js';
import { SECRET_OPERATIONS } from './secret-operations.js';

// "What may principal P do at scope S, and why": every secret operation and
// the main management actions, each with the grants that allow it and the
// path they take (direct or through a group, at the scope or inherited).

const MANAGEMENT_ACTIONS = [
  'Microsoft.KeyVault/vaults/read',
  'Microsoft.KeyVault/vaults/write',
  'Microsoft.KeyVault/vaults/delete',
  'Microsoft.KeyVault/vaults/accessPolicies/write',
  'Microsoft.Authorization/roleAssignments/write',
  'Microsoft.Authorization/roleAssignments/read',
];

/** The secret operations the data plane authorizes at the vault, not at a secret (GetSecrets, GetDeletedSecrets, RestoreSecret). */
const VAULT_OPERATIONS: ReadonlySet<string> = new Set<keyof typeof SECRET_OPERATIONS>(['list', 'listDeleted', 'restore']);

export function createCheckAccess(deps: { authorizer: Authorizer; index: AccessIndex; directory: DirectoryService; vaults: VaultService; subscriptionId: string }) {
  const { authorizer, directory } = deps;

  /** `names`: whether the answer may name directory objects (checkAccess's option). */
  async function via(principalId: string, holder: string, names: boolean) {
    if (holder === principalId) return { kind: 'direct' as const };
    const group = names ? await directory.get(holder) : null;
    return { kind: 'group' as const, groupId: holder, groupName: group?.displayName ?? null };
  }

  async function describeRbac(principalId: string, scopeKey: string, g: RbacGrant, names: boolean) {
    return {
      type: 'roleAssignment',
      roleAssignmentId: g.assignment.id,
      roleDefinitionId: g.role.id,
      roleName: g.role.roleName,
      // The scope as it was written (the index keeps only its key).
      scope: (await deps.index.row(g.assignment))?.scope ?? g.assignment.scopeKey,
      inherited: g.assignment.scopeKey !== scopeKey,
      endDateTime: g.assignment.endTime === null ? null : new Date(g.assignment.endTime * 1000).toISOString(),
      via: await via(principalId, g.assignment.principalId, names),
    };
  }

  async function describePolicy(principalId: string, m: PolicyMatch, names: boolean) {
    return {
      type: 'accessPolicy',
      index: m.index,
      objectId: m.entry.objectId,
      applicationId: m.entry.applicationId ?? null,
      secretPermissions: m.entry.permissions.secrets ?? [],
      via: await via(principalId, m.via, names),
    };
  }

  /**
   * `names: false` leaves out what only the directory tells (the principal's display name, appId and UPN, its
   * groups' names): for a caller who may not read the directory (an app-only token), which must learn no more of
   * another principal here than a role assignment list shows (its id and type).
   */
  return async function checkAccess(principalId: string, scopeRaw: string, { names = true }: { names?: boolean } = {}) {
    const scope = requireScope(scopeRaw);
    const principal = await directory.get(principalId.toLowerCase());
    if (!principal) throw errors.invalidArm(`Principal '${principalId.slice(0, 64)}' does not exist in the directory.`);
    let vault: VaultRow | null = null;
    if (scope.vault) {
      vault = await deps.vaults.get(deps.subscriptionId, scope.resourceGroup!, scope.vault);
      // Its access policies decide nothing unless their seal matches, as on the data plane.
      deps.vaults.assertIntact(vault);
    }
    const id = principal.objectId;
    const ownApp = principal.kind === 'ServicePrincipal' ? (principal.appId?.toLowerCase() ?? null) : null;

    const management = [];
    for (const action of MANAGEMENT_ACTIONS) {
      const grants = authorizer.rbacGrants(id, action, 'control', scope.path);
      management.push({ action, allowed: grants.length > 0, grants: await Promise.all(grants.map((g) => describeRbac(id, scope.key, g, names))) });
    }

    const data = [];
    const model = vault ? (vaultPolicy(vault).rbac ? 'rbac' : 'accessPolicy') : 'rbac';
    // Listing, listing deleted secrets and restoring are the vault's operations: the data plane
    // checks them at the vault's scope, so a secret's scope is answered for them from its vault's.
    const vaultPath = scope.kind === 'secret' && vault ? vaultScope(vault.subscriptionId, vault.resourceGroup, vault.name) : null;
    for (const [key, op] of Object.entries(SECRET_OPERATIONS)) {
      const at = vaultPath !== null && VAULT_OPERATIONS.has(key) ? { path: vaultPath } : scope;
      const rbac = await Promise.all(authorizer.rbacGrants(id, op.dataAction, 'data', at.path).map((g) => describeRbac(id, scope.key, g, names)));
      const matches = vault ? authorizer.accessPolicyMatches(id, null, vault, op.permission) : [];
      // A compound identity's entry (applicationId) grants only through that application, which a service
      // principal's own token names and a user's names only when they sign in through it: not the principal alone.
      const alone = matches.filter((m) => !m.entry.applicationId || m.entry.applicationId === ownApp);
      const policies = await Promise.all(alone.map((m) => describePolicy(id, m, names)));
      const throughApp = await Promise.all(matches.filter((m) => !alone.includes(m)).map((m) => describePolicy(id, m, names)));
      const effective = model === 'rbac' ? rbac : policies;
      data.push({
        operation: op.name,
        dataAction: op.dataAction,
        permission: op.permission,
        allowed: effective.length > 0,
        grants: effective,
        // Grants of the model the vault does not use: they exist but do not count.
        // and compound-identity policies, which need their application.
        ignoredGrants: model === 'rbac' ? [...policies, ...throughApp] : [...rbac, ...throughApp],
      });
    }
    const memberOf = deps.index.identities(id).filter((g) => g !== id);
    // To a caller who may not read the directory, only the groups a grant shown here comes through: the rest of
    // the principal's memberships is what Graph's getMemberGroups refuses it (directory-access.ts).
    const throughGroups = new Set<string>();
    for (const grant of [...management.flatMap((m) => m.grants), ...data.flatMap((d) => [...d.grants, ...d.ignoredGrants])]) {
      if (grant.via.kind === 'group') throughGroups.add(grant.via.groupId);
    }
    return {
      principal: names ? { id, type: principal.kind, displayName: principal.displayName, appId: principal.appId, userPrincipalName: principal.upn } : { id, type: principal.kind, displayName: null, appId: null, userPrincipalName: null },
      scope: scope.path,
      vault: vault ? { name: vault.name, id: vaultScope(vault.subscriptionId, vault.resourceGroup, vault.name), permissionModel: model } : null,
      groups: names ? memberOf : memberOf.filter((g) => throughGroups.has(g)),
      data,
      management,
    };
  };
}

export type CheckAccess = ReturnType<typeof createCheckAccess>;
