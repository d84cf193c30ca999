import type { Caller } from '../identity/identity-types.js';
import type { VaultRow } from '../storage/store-types.js';
import { errors } from '../server/errors.js';
import type { SecretOperation } from './secret-operations.js';

// The single authorization hook. Every data-plane and management request
// passes through it. For now the deployment's administrator and a vault's
// creator hold every right; everyone else is denied (deny by default). The
// access-control work replaces the decision, not the call sites.

export interface DataRequest {
  caller: Caller;
  vault: VaultRow;
  operation: SecretOperation;
  /** The secret the operation names, if any (a narrower RBAC scope). */
  secretName?: string;
}

export interface Authorizer {
  /** Throws Azure's 403 when the caller may not perform the operation. */
  authorizeData(req: DataRequest): Promise<void>;
  /** Management plane: action (e.g. Microsoft.KeyVault/vaults/write) on an ARM scope. */
  authorizeManagement(caller: Caller, action: string, scope: string, vault?: VaultRow | null): Promise<void>;
}

export const callerLabel = (c: Caller): string => `appid=${c.appId};oid=${c.objectId};iss=${c.issuer}`;

export function createOwnerAuthorizer(deps: { adminObjectId: string }): Authorizer {
  const isOwner = (caller: Caller, vault?: VaultRow | null) =>
    caller.objectId === deps.adminObjectId || (vault != null && vault.createdBy === caller.objectId);
  return {
    async authorizeData({ caller, vault, operation }) {
      if (isOwner(caller, vault)) return;
      const region = vault.location;
      throw errors.forbidden(
        `The user, group or application '${callerLabel(caller)}' does not have secrets ${operation.permission} permission on key vault '${vault.name};location=${region}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        'AccessDenied',
      );
    },
    async authorizeManagement(caller, action, scope, vault) {
      // Creating a vault or resource group makes the caller its owner; any
      // principal of the tenant may do so until role assignments arrive.
      const creates = vault === null && (action.endsWith('/vaults/write') || action.endsWith('/resourceGroups/write'));
      const reads = action.endsWith('/read') && vault === undefined;
      if (creates || reads || isOwner(caller, vault)) return;
      throw errors.authorizationFailed(caller.objectId, action, scope);
    },
  };
}
