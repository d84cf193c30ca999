import type { VaultRow } from '../storage/store-types.js';
import { vaultScope } from '../authorization/scopes.js';

/** The vault settings that govern data-plane behaviour, read from ARM properties. */
export interface VaultPolicy {
  softDelete: boolean;
  retentionDays: number;
  purgeProtection: boolean;
  rbac: boolean;
}

export const VAULT_NAME_RE = /^(?=.{3,24}$)[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/;
export const DEFAULT_RETENTION_DAYS = 90;

export function vaultPolicy(vault: VaultRow): VaultPolicy {
  const p = vault.properties;
  return {
    softDelete: p.enableSoftDelete !== false,
    retentionDays: typeof p.softDeleteRetentionInDays === 'number' ? p.softDeleteRetentionInDays : DEFAULT_RETENTION_DAYS,
    purgeProtection: p.enablePurgeProtection === true,
    rbac: p.enableRbacAuthorization === true,
  };
}

/** Azure's recoveryLevel for a vault's objects. */
export function recoveryLevel(policy: VaultPolicy): string {
  if (!policy.softDelete) return 'Purgeable';
  const custom = policy.retentionDays < DEFAULT_RETENTION_DAYS;
  if (policy.purgeProtection) return custom ? 'CustomizedRecoverable' : 'Recoverable';
  return custom ? 'CustomizedRecoverable+Purgeable' : 'Recoverable+Purgeable';
}

export const vaultResourceId = (v: Pick<VaultRow, 'subscriptionId' | 'resourceGroup' | 'name'>): string => vaultScope(v.subscriptionId, v.resourceGroup, v.name);

/** Who changes a vault, as ARM's systemData names them: a person by UPN, an application by its application id. */
export interface Actor {
  name: string;
  type: 'User' | 'Application';
}

export const actorOf = (caller: { kind: 'app' | 'user'; upn: string | null; appId: string; objectId: string }): Actor =>
  caller.kind === 'user' ? { name: caller.upn ?? caller.objectId, type: 'User' } : { name: caller.appId, type: 'Application' };
