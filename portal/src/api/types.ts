// Wire shapes the portal reads (Azure's ARM, Key Vault and Graph JSON).

export interface AccessPolicy {
  tenantId: string;
  objectId: string;
  applicationId?: string;
  permissions: { secrets?: string[]; keys?: string[]; certificates?: string[]; storage?: string[] };
}

export interface Vault {
  id: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  properties: {
    tenantId: string;
    vaultUri: string;
    sku: { family: string; name: string };
    enableRbacAuthorization?: boolean;
    enableSoftDelete?: boolean;
    softDeleteRetentionInDays?: number;
    enablePurgeProtection?: boolean;
    accessPolicies: AccessPolicy[];
    provisioningState?: string;
  };
}

export interface ResourceGroup {
  id: string;
  name: string;
  location: string;
}

export interface SecretAttributes {
  enabled?: boolean;
  nbf?: number;
  exp?: number;
  created?: number;
  updated?: number;
  recoveryLevel?: string;
  recoverableDays?: number;
}

export interface SecretItem {
  id: string;
  attributes: SecretAttributes;
  tags?: Record<string, string>;
  contentType?: string;
  managed?: boolean;
}

export interface SecretBundle extends SecretItem {
  value?: string;
  kid?: string;
}

export interface DeletedSecretItem extends SecretItem {
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

export interface RoleDefinition {
  id: string;
  name: string;
  properties: { roleName: string; description: string; type: string; permissions: { actions: string[]; dataActions: string[] }[] };
}

export interface RoleAssignment {
  id: string;
  name: string;
  properties: { roleDefinitionId: string; principalId: string; principalType?: string; scope: string; description?: string | null; createdOn?: string; endDateTime?: string | null };
}

export interface DirectoryObject {
  '@odata.type': '#microsoft.graph.user' | '#microsoft.graph.group' | '#microsoft.graph.servicePrincipal';
  id: string;
  displayName: string;
  userPrincipalName?: string | null;
  appId?: string | null;
}

export interface Grant {
  type: 'roleAssignment' | 'accessPolicy';
  roleName?: string;
  scope?: string;
  inherited?: boolean;
  endDateTime?: string | null;
  secretPermissions?: string[];
  /** An access policy of a compound identity: it grants only through this application. */
  applicationId?: string | null;
  via: { kind: 'direct' } | { kind: 'group'; groupId: string; groupName: string | null };
}

export interface AccessReport {
  principal: { id: string; type: string; displayName: string };
  scope: string;
  vault: { name: string; permissionModel: 'rbac' | 'accessPolicy' } | null;
  data: { operation: string; dataAction: string; permission: string; allowed: boolean; grants: Grant[]; ignoredGrants: Grant[] }[];
  management: { action: string; allowed: boolean; grants: Grant[] }[];
}

export interface Page<T> {
  value: T[];
  nextLink?: string | null;
}
