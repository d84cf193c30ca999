// Every secrets data-plane operation with the access-policy permission and the
// RBAC data action it needs, as Azure Key Vault defines them.

export type SecretPermission = 'get' | 'list' | 'set' | 'delete' | 'backup' | 'restore' | 'recover' | 'purge';

export interface SecretOperation {
  /** Audit operationName. */
  name: string;
  permission: SecretPermission;
  dataAction: string;
}

const op = (name: string, permission: SecretPermission, action: string): SecretOperation => ({
  name,
  permission,
  dataAction: `Microsoft.KeyVault/vaults/secrets/${action}`,
});

export const SECRET_OPERATIONS = {
  set: op('SecretSet', 'set', 'setSecret/action'),
  get: op('SecretGet', 'get', 'getSecret/action'),
  list: op('SecretList', 'list', 'readMetadata/action'),
  listVersions: op('SecretListVersions', 'list', 'readMetadata/action'),
  update: op('SecretUpdate', 'set', 'update/action'),
  delete: op('SecretDelete', 'delete', 'delete'),
  listDeleted: op('SecretListDeleted', 'list', 'readMetadata/action'),
  getDeleted: op('SecretGetDeleted', 'get', 'readMetadata/action'),
  purge: op('SecretPurge', 'purge', 'purge/action'),
  recover: op('SecretRecover', 'recover', 'recover/action'),
  backup: op('SecretBackup', 'backup', 'backup/action'),
  restore: op('SecretRestore', 'restore', 'restore/action'),
} as const satisfies Record<string, SecretOperation>;

export type SecretOperationKey = keyof typeof SECRET_OPERATIONS;
