import type { Caller } from '../identity/identity-types.js';
import type { VaultRow } from '../storage/store-types.js';
import { errors } from '../server/errors.js';
import { vaultPolicy } from '../vaults/vault-types.js';
import type { AccessIndex, IndexedAssignment } from './access-index.js';
import { matchPolicies, policiesOf, type PolicyMatch } from './access-policies.js';
import { roleGrants, type ActionKind, type Role, type RoleCatalog } from './role-catalog.js';
import { secretScope, vaultScope } from './scopes.js';
import type { SecretOperation } from './secret-operations.js';

// The single authorization hook. Data plane: the vault's model decides
// (enableRbacAuthorization: Azure RBAC data actions; otherwise access
// policies). Management plane: always RBAC. Deny by default.

export interface DataRequest {
  caller: Caller;
  vault: VaultRow;
  operation: SecretOperation;
  /** The secret the operation names, if any (a narrower RBAC scope). */
  secretName?: string;
}

export interface RbacGrant {
  assignment: IndexedAssignment;
  role: Role;
}

export interface Decision {
  model: 'rbac' | 'accessPolicy';
  allowed: boolean;
  rbac: RbacGrant | null;
  policy: PolicyMatch | null;
}

export interface Authorizer {
  /** Returns the granting decision or throws Azure's 403. */
  authorizeData(req: DataRequest): Promise<Decision>;
  /** Management plane: throws AuthorizationFailed unless `action` is granted at `scope`. */
  authorizeManagement(caller: Caller, action: string, scope: string): Promise<RbacGrant>;
  /** The first grant of an action at a scope to a principal (with its groups), or null. */
  rbacGrant(principalId: string, action: string, kind: ActionKind, scope: string): RbacGrant | null;
  /** Every grant of an action at a scope, for explanations. */
  rbacGrants(principalId: string, action: string, kind: ActionKind, scope: string): RbacGrant[];
  accessPolicyMatch(principalId: string, appId: string, vault: VaultRow, permission: string): PolicyMatch | null;
  /** Every matching access policy entry; appId null matches entries of any application. */
  accessPolicyMatches(principalId: string, appId: string | null, vault: VaultRow, permission: string): PolicyMatch[];
}

export const callerLabel = (c: Caller): string => `appid=${c.appId};oid=${c.objectId};iss=${c.issuer}`;

export function createAuthorizer(deps: { index: AccessIndex; catalog: RoleCatalog; now?: () => number }): Authorizer {
  const { index, catalog } = deps;
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));

  function rbacGrants(principalId: string, action: string, kind: ActionKind, scope: string, first = false): RbacGrant[] {
    const scopeKey = scope.replace(/\/+$/, '').toLowerCase();
    const out: RbacGrant[] = [];
    for (const assignment of index.applicable(index.identities(principalId), scopeKey, now())) {
      const role = catalog.get(assignment.roleDefinitionId);
      if (role && roleGrants(role, action, kind)) {
        out.push({ assignment, role });
        if (first) break;
      }
    }
    return out;
  }
  const rbacGrant = (principalId: string, action: string, kind: ActionKind, scope: string) => rbacGrants(principalId, action, kind, scope, true)[0] ?? null;

  function accessPolicyMatches(principalId: string, appId: string | null, vault: VaultRow, permission: string): PolicyMatch[] {
    const tenantId = String(vault.properties.tenantId ?? '').toLowerCase();
    return matchPolicies(policiesOf(vault.properties), index.identities(principalId), appId, tenantId, permission);
  }
  const accessPolicyMatch = (principalId: string, appId: string, vault: VaultRow, permission: string) => accessPolicyMatches(principalId, appId, vault, permission)[0] ?? null;

  return {
    rbacGrant,
    rbacGrants: (p, a, k, s) => rbacGrants(p, a, k, s),
    accessPolicyMatch,
    accessPolicyMatches,
    async authorizeData({ caller, vault, operation, secretName }) {
      const vaultPath = vaultScope(vault.subscriptionId, vault.resourceGroup, vault.name);
      const resource = secretName ? secretScope(vault.subscriptionId, vault.resourceGroup, vault.name, secretName) : vaultPath;
      if (vaultPolicy(vault).rbac) {
        const grant = rbacGrant(caller.objectId, operation.dataAction, 'data', resource);
        if (grant) return { model: 'rbac', allowed: true, rbac: grant, policy: null };
        throw errors.forbiddenByRbac(callerLabel(caller), operation.dataAction, resource, vault);
      }
      const match = accessPolicyMatch(caller.objectId, caller.appId, vault, operation.permission);
      if (match) return { model: 'accessPolicy', allowed: true, rbac: null, policy: match };
      throw errors.forbidden(
        `The user, group or application '${callerLabel(caller)}' does not have secrets ${operation.permission} permission on key vault '${vault.name};location=${vault.location}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        'ForbiddenByPolicy',
      );
    },
    async authorizeManagement(caller, action, scope) {
      const grant = rbacGrant(caller.objectId, action, 'control', scope);
      if (!grant) throw errors.authorizationFailed(caller, action, scope);
      return grant;
    },
  };
}
