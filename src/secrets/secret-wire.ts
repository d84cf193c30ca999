import type { DeletedSecretInfo, SecretVersionMeta, VaultRow } from '../storage/store-types.js';
import { recoveryLevel, vaultPolicy } from '../vaults/vault-types.js';

// Domain records to Azure Key Vault's JSON: SecretBundle, SecretItem,
// DeletedSecretBundle. Ids are absolute URLs on the vault's own host.

export interface WireContext {
  /** https://{vault}.{suffix}:{port} without trailing slash. */
  vaultBase: string;
  vault: VaultRow;
  /** The request's api-version: the recovery attributes came with later versions. */
  apiVersion: string;
}

/** recoveryLevel came with 2016-10-01 (soft delete), recoverableDays with 7.1. */
const WITHOUT_RECOVERABLE_DAYS = /^(?:2015-06-01|2016-10-01|7\.0(?:-preview.*)?)$/;

/** A version's attributes as both planes show them (Resource Manager's view has no recovery fields). */
export function versionAttributes(m: SecretVersionMeta): Record<string, unknown> {
  const out: Record<string, unknown> = { enabled: m.enabled };
  if (m.nbf !== null) out.nbf = m.nbf;
  if (m.exp !== null) out.exp = m.exp;
  out.created = m.created;
  out.updated = m.updated;
  return out;
}

function attributes(ctx: WireContext, m: SecretVersionMeta) {
  const policy = vaultPolicy(ctx.vault);
  const out = versionAttributes(m);
  if (!WITHOUT_RECOVERABLE_DAYS.test(ctx.apiVersion)) out.recoverableDays = policy.softDelete ? policy.retentionDays : 0;
  if (ctx.apiVersion !== '2015-06-01') out.recoveryLevel = recoveryLevel(policy);
  return out;
}

const secretId = (ctx: WireContext, m: SecretVersionMeta, withVersion: boolean) =>
  `${ctx.vaultBase}/secrets/${m.name}${withVersion ? `/${m.version}` : ''}`;

function common(ctx: WireContext, m: SecretVersionMeta, withVersion: boolean) {
  const out: Record<string, unknown> = { id: secretId(ctx, m, withVersion), attributes: attributes(ctx, m) };
  if (m.contentType !== null) out.contentType = m.contentType;
  if (m.tags !== null) out.tags = m.tags;
  return out;
}

function deletion(ctx: WireContext, m: SecretVersionMeta, d: DeletedSecretInfo) {
  return {
    recoveryId: `${ctx.vaultBase}/deletedsecrets/${m.name}`,
    deletedDate: d.deletedAt,
    scheduledPurgeDate: d.scheduledPurgeAt,
  };
}

export const secretBundle = (ctx: WireContext, m: SecretVersionMeta, value?: string) => {
  const out = common(ctx, m, true);
  return value === undefined ? out : { value, ...out };
};

/** GetSecrets items carry the base id; GetSecretVersions items the versioned id. */
export const secretItem = (ctx: WireContext, m: SecretVersionMeta, versioned: boolean) => common(ctx, m, versioned);

/**
 * Without soft delete (`d` null) the secret is gone for good: no recoveryId,
 * which is how the SDKs' delete pollers know there is nothing to wait for.
 */
export const deletedSecretBundle = (ctx: WireContext, m: SecretVersionMeta, d: DeletedSecretInfo | null) =>
  d === null ? common(ctx, m, true) : { ...deletion(ctx, m, d), ...common(ctx, m, true) };

export const deletedSecretItem = (ctx: WireContext, m: SecretVersionMeta, d: DeletedSecretInfo) => ({
  ...deletion(ctx, m, d),
  ...common(ctx, m, false),
});
