import type { ResourceGroupRow, VaultRow } from '../storage/store-types.js';
import { vaultResourceId } from './vault-types.js';

// Vault and resource group resources in ARM's JSON shape.

export function vaultResource(v: VaultRow, vaultUri: string) {
  const p = v.properties;
  const properties: Record<string, unknown> = {
    sku: p.sku ?? { family: 'A', name: 'standard' },
    tenantId: p.tenantId,
    accessPolicies: p.accessPolicies ?? [],
    enabledForDeployment: p.enabledForDeployment ?? false,
    enabledForDiskEncryption: p.enabledForDiskEncryption ?? false,
    enabledForTemplateDeployment: p.enabledForTemplateDeployment ?? false,
    enableSoftDelete: p.enableSoftDelete ?? true,
    softDeleteRetentionInDays: p.softDeleteRetentionInDays ?? 90,
    enableRbacAuthorization: p.enableRbacAuthorization ?? false,
    vaultUri,
    provisioningState: 'Succeeded',
    publicNetworkAccess: p.publicNetworkAccess ?? 'Enabled',
  };
  if (p.enablePurgeProtection === true) properties.enablePurgeProtection = true;
  if (p.networkAcls) properties.networkAcls = p.networkAcls;
  return {
    id: vaultResourceId(v),
    name: v.name,
    type: 'Microsoft.KeyVault/vaults',
    location: v.location,
    tags: v.tags,
    // Rows from before these were recorded hold the creator's object id and no kind.
    systemData: {
      createdBy: v.createdBy,
      createdByType: v.createdByType ?? 'Application',
      createdAt: new Date(v.createdAt * 1000).toISOString(),
      lastModifiedBy: v.modifiedBy ?? v.createdBy,
      lastModifiedByType: v.modifiedByType ?? v.createdByType ?? 'Application',
      lastModifiedAt: new Date(v.updatedAt * 1000).toISOString(),
    },
    properties,
  };
}

export function resourceGroupResource(g: ResourceGroupRow) {
  return {
    id: `/subscriptions/${g.subscriptionId}/resourceGroups/${g.name}`,
    name: g.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: g.location,
    tags: g.tags,
    properties: { provisioningState: 'Succeeded' },
  };
}

/** What a generic resource list's `$expand` may add (az resource list asks for all three). */
export type ResourceExpansion = 'createdTime' | 'changedTime' | 'provisioningState';

/** The generic resource listing (GET .../resources) entry, with the properties `$expand` names. */
export const genericResource = (v: VaultRow, expand: ReadonlySet<ResourceExpansion> = new Set()) => ({
  id: vaultResourceId(v),
  name: v.name,
  type: 'Microsoft.KeyVault/vaults',
  location: v.location,
  tags: v.tags,
  ...(expand.has('createdTime') ? { createdTime: new Date(v.createdAt * 1000).toISOString() } : {}),
  ...(expand.has('changedTime') ? { changedTime: new Date(v.updatedAt * 1000).toISOString() } : {}),
  ...(expand.has('provisioningState') ? { provisioningState: 'Succeeded' } : {}),
});

/** A time as Key Vault's resource provider writes a deleted vault's dates: whole seconds, no fraction. */
const wholeSeconds = (t: number | null) => new Date((t ?? 0) * 1000).toISOString().replace('.000Z', 'Z');

/** A soft-deleted vault (Microsoft.KeyVault/deletedVaults), as the service answers (azure-cli's recordings): `purgeProtectionEnabled` only when it is on. */
export const deletedVaultResource = (v: VaultRow) => ({
  id: `/subscriptions/${v.subscriptionId}/providers/Microsoft.KeyVault/locations/${v.location}/deletedVaults/${v.name}`,
  name: v.name,
  type: 'Microsoft.KeyVault/deletedVaults',
  properties: {
    vaultId: vaultResourceId(v),
    location: v.location,
    deletionDate: wholeSeconds(v.deletedAt),
    scheduledPurgeDate: wholeSeconds(v.scheduledPurgeAt),
    tags: v.tags,
    ...(v.properties.enablePurgeProtection === true ? { purgeProtectionEnabled: true } : {}),
  },
});
