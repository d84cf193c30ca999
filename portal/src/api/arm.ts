import { config } from '../config';
import { ApiError, call } from './http';
import type { AccessPolicy, Page, ResourceGroup, RoleAssignment, RoleDefinition, Vault, AccessReport } from './types';

// The management plane: Azure Resource Manager paths on this origin.

const VAULTS_API = 'api-version=2023-07-01';
const AUTHZ_API = 'api-version=2022-04-01';
const RG_API = 'api-version=2021-04-01';

const arm = <T>(method: string, path: string, body?: unknown) => call<T>('management', method, `${config().authority}${path}`, body);
const subscription = () => `/subscriptions/${config().subscriptionId}`;
export const vaultPath = (rg: string, name: string) => `${subscription()}/resourceGroups/${encodeURIComponent(rg)}/providers/Microsoft.KeyVault/vaults/${encodeURIComponent(name)}`;

/** "rg" out of an ARM resource id. */
export const resourceGroupOf = (id: string) => /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? '';

export const listVaults = () => arm<Page<Vault>>('GET', `${subscription()}/providers/Microsoft.KeyVault/vaults?${VAULTS_API}`);
export const getVault = (rg: string, name: string) => arm<Vault>('GET', `${vaultPath(rg, name)}?${VAULTS_API}`);
/** A secret as Resource Manager shows it: the latest version's properties, never the value. */
export interface ArmSecret {
  name: string;
  properties: { secretUriWithVersion: string };
}
export const getArmSecret = (rg: string, vault: string, secret: string) =>
  arm<ArmSecret>('GET', `${vaultPath(rg, vault)}/secrets/${encodeURIComponent(secret)}?${VAULTS_API}`);
export const listResourceGroups = () => arm<Page<ResourceGroup>>('GET', `${subscription()}/resourcegroups?${RG_API}`);
/** Resource Groups - Check Existence (HEAD: 204 or 404), as az group exists asks. */
export const resourceGroupExists = (name: string) =>
  arm<undefined>('HEAD', `${subscription()}/resourcegroups/${encodeURIComponent(name)}?${RG_API}`).then(
    () => true,
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    },
  );
export const createResourceGroup = (name: string, location: string) => arm<ResourceGroup>('PUT', `${subscription()}/resourcegroups/${encodeURIComponent(name)}?${RG_API}`, { location });
export const checkVaultName = (name: string) =>
  arm<{ nameAvailable: boolean; message?: string }>('POST', `${subscription()}/providers/Microsoft.KeyVault/checkNameAvailability?${VAULTS_API}`, { name, type: 'Microsoft.KeyVault/vaults' });

export interface NewVault {
  resourceGroup: string;
  name: string;
  location: string;
  rbac: boolean;
  retentionDays: number;
  purgeProtection: boolean;
  /** As the Azure portal does, the creator gets full access when the vault uses access policies. */
  creatorObjectId: string;
}

export function createVault(v: NewVault) {
  const creatorPolicy: AccessPolicy = { tenantId: config().tenantId, objectId: v.creatorObjectId, permissions: { secrets: ['get', 'list', 'set', 'delete', 'recover', 'backup', 'restore'] } };
  return arm<Vault>('PUT', `${vaultPath(v.resourceGroup, v.name)}?${VAULTS_API}`, {
    location: v.location,
    properties: {
      tenantId: config().tenantId,
      sku: { family: 'A', name: 'standard' },
      enableRbacAuthorization: v.rbac,
      enableSoftDelete: true,
      softDeleteRetentionInDays: v.retentionDays,
      ...(v.purgeProtection ? { enablePurgeProtection: true } : {}),
      accessPolicies: v.rbac ? [] : [creatorPolicy],
    },
  });
}

export const setPermissionModel = (rg: string, name: string, rbac: boolean) => arm<Vault>('PATCH', `${vaultPath(rg, name)}?${VAULTS_API}`, { properties: { enableRbacAuthorization: rbac } });

export const changeAccessPolicy = (rg: string, name: string, operation: 'add' | 'replace' | 'remove', policy: AccessPolicy) =>
  arm<unknown>('PUT', `${vaultPath(rg, name)}/accessPolicies/${operation}?${VAULTS_API}`, { properties: { accessPolicies: [policy] } });

/** Roles that can be assigned at a scope (read there, as the Azure portal does: readers of a vault may list them). */
/** The roles assignable at `scope` or above it; with `andBelow`, below it too (to name assignments listed below a scope). */
export const listRoleDefinitions = (scope: string, andBelow = false) =>
  arm<Page<RoleDefinition>>('GET', `${scope}/providers/Microsoft.Authorization/roleDefinitions?${AUTHZ_API}${andBelow ? `&$filter=${encodeURIComponent('atScopeAndBelow()')}` : ''}`);

/** Assignments that apply at a scope: the scope's own and inherited ones. */
export const listRoleAssignments = (scope: string) => arm<Page<RoleAssignment>>('GET', `${scope}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()&${AUTHZ_API}`);

export function createRoleAssignment(scope: string, roleDefinitionId: string, principalId: string, options: { description?: string; endDateTime?: string }) {
  return arm<RoleAssignment>('PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?${AUTHZ_API}`, {
    properties: { roleDefinitionId, principalId, ...(options.description ? { description: options.description } : {}), ...(options.endDateTime ? { endDateTime: options.endDateTime } : {}) },
  });
}

export const deleteRoleAssignment = (id: string) => arm<RoleAssignment>('DELETE', `${id}?${AUTHZ_API}`);

export const checkAccess = (principalId: string, scope: string) => arm<AccessReport>('POST', '/coffer/check-access', { principalId, scope });
