import { randomUUID } from 'node:crypto';
import { createAccessIndex, type AccessIndex } from '../authorization/access-index.js';
import { createAuthorizer } from '../authorization/authorizer.js';
import { createCheckAccess } from '../authorization/check-access.js';
import { createRoleAssignmentService, roleIdOf } from '../authorization/role-assignment-service.js';
import { createRoleCatalog } from '../authorization/role-catalog.js';
import { createRoleDefinitionService } from '../authorization/role-definition-service.js';
import { subscriptionScope } from '../authorization/scopes.js';
import type { DirectoryService } from '../identity/directory-service.js';
import { StoreConflictError } from '../storage/store-errors.js';
import type { SettingsStore, Store } from '../storage/store-types.js';
import type { VaultService } from '../vaults/vault-service.js';
import type { Deployment } from './bootstrap.js';

// Composes the authorization domain: index, role catalog, authorizer and the
// services the routes call.

export async function createAccessControl(deps: { store: Pick<Store, 'roleAssignments' | 'groups' | 'roleDefinitions'>; directory: DirectoryService; vaults: VaultService; subscriptionId: string; tenantId: string }) {
  const index = await createAccessIndex({ assignments: deps.store.roleAssignments, groups: deps.store.groups });
  const catalog = await createRoleCatalog(deps.store.roleDefinitions);
  const authorizer = createAuthorizer({ index, catalog });
  const common = { subscriptionId: deps.subscriptionId, index, catalog, authorizer };
  return {
    index,
    catalog,
    authorizer,
    assignments: createRoleAssignmentService({ ...common, tenantId: deps.tenantId, directory: deps.directory, vaults: deps.vaults }),
    definitions: createRoleDefinitionService(common),
    checkAccess: createCheckAccess({ authorizer, index, directory: deps.directory, vaults: deps.vaults, subscriptionId: deps.subscriptionId }),
  };
}

const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';
const KEY_VAULT_ADMINISTRATOR = '00482a5a-887f-4fb3-b363-3b7fe8e74483';

/**
 * The deployment administrator (and dev mode's portal user) hold Owner and Key
 * Vault Administrator on the subscription, given once at first start (they can
 * be removed like any other).
 */
export async function grantAdministrator(index: AccessIndex, settings: SettingsStore, deployment: Deployment): Promise<void> {
  const holders = [
    { flag: 'administratorRolesGranted', principalId: deployment.adminObjectId, principalType: 'ServicePrincipal' as const, description: 'coffer deployment administrator' },
    ...(deployment.devUserObjectId ? [{ flag: 'devUserRolesGranted', principalId: deployment.devUserObjectId, principalType: 'User' as const, description: 'coffer dev portal user' }] : []),
  ];
  for (const holder of holders) {
    if ((await settings.get(holder.flag)) !== null) continue;
    const t = Math.floor(Date.now() / 1000);
    const scope = subscriptionScope(deployment.subscriptionId);
    for (const roleDefinitionId of [OWNER, KEY_VAULT_ADMINISTRATOR]) {
      // Granted already: by a start that stopped before its flag was set, or by another cluster member starting
      // with this one (the store refuses the twin, StoreConflictError).
      const unheld = async () => !index.atScope(holder.principalId, scope.toLowerCase()).some((a) => roleIdOf(a.roleDefinitionId) === roleDefinitionId);
      await index
        .addAssignment(
          {
            id: randomUUID(),
            scope,
            roleDefinitionId,
            principalId: holder.principalId,
            principalType: holder.principalType,
            description: holder.description,
            endTime: null,
            createdAt: t,
            updatedAt: t,
            createdBy: deployment.adminObjectId,
          },
          unheld,
        )
        .catch((err: unknown) => {
          if (!(err instanceof StoreConflictError && err.reason === 'exists')) throw err;
        });
    }
    await settings.set(holder.flag, new Date(t * 1000).toISOString());
  }
}
