import { createHash, createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { FederatedCredentialRow, KeyCredentialRow, RoleAssignmentRow, RoleDefinitionRow, VaultRow } from '../storage/store-types.js';

// The authorization data's MACs: every stored row that decides who may do
// what (a role assignment, a custom role, a group membership, a vault's
// properties with its access policies and network rules, the deployment
// administrator's object id, a service principal's certificate credential,
// an application's federated identity credential) carries an
// HMAC-SHA-256, under the deployment's authorization key, over what it
// grants and where. Whoever can write the database but does not hold the
// master key (which wraps that key) cannot make a row that grants: one they
// add or change matches no MAC and grants nothing. Each MAC covers its row's
// identity too (the assignment's id, the vault's id, name and resource
// group), so a MAC copied onto another row does not match it.
//
// Stored as `a1.<generation>.<base64url MAC>`: a row sealed under an earlier
// generation of the key (authorization-key.ts renews it) matches no more.
// A vault's seal is `a2.`: it covers whether the vault is deleted, and when
// it is purged, too (schema 18), so that a vault deleted to cut everyone off
// is not made live again by setting `deleted_at` back to NULL. An `a1.` vault
// seal (of the rule before) is sealed again as `a2.` once, at the first start
// of this build (vault-seal-upgrade.ts), and matches nothing after.

export const SEAL_FORMAT = 'a1';
export const VAULT_SEAL_FORMAT = 'a2';

/** JSON with object keys sorted, so a row reads back (PostgreSQL's jsonb, key order) to the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const lower = (s: string) => s.toLowerCase();

/** What each kind of row's MAC covers (ids compared case-insensitively are lower-cased, as the stores compare them). */
const covered = {
  assignment: (r: RoleAssignmentRow) => ['role-assignment', lower(r.id), lower(r.scope.replace(/\/+$/, '')), lower(r.roleDefinitionId), lower(r.principalId), r.principalType, r.endTime],
  definition: (r: RoleDefinitionRow) => ['role-definition', lower(r.id), r.roleName, r.permissions, r.assignableScopes],
  membership: (groupId: string, memberId: string) => ['group-member', lower(groupId), lower(memberId)],
  setting: (key: string, value: string) => ['setting', key, value],
  // The certificate by its digest, computed here from the stored bytes (never the row's own thumbprint columns).
  keyCredential: (r: KeyCredentialSealed) => [
    'key-credential',
    lower(r.keyId),
    lower(r.objectId),
    createHash('sha256').update(r.certificate).digest('hex'),
    r.startAt,
    r.endAt,
  ],
  // What decides who signs in: the issuer, subject and audiences trusted (its name and description decide nothing).
  federatedCredential: (r: FederatedCredentialSealed) => ['federated-credential', lower(r.id), lower(r.objectId), r.issuer, r.subject, r.audiences],
  // Whether the vault is live (a null deletion time) and, deleted, when it is purged: what decides if it serves, or can be recovered.
  vault: (r: VaultSealed) => [...covered.legacyVault(r), r.deletedAt ?? null, r.scheduledPurgeAt ?? null],
  /** The `a1.` vault seal of the builds before schema 18 (no deletion state): read once, by the upgrade. */
  legacyVault: (r: LegacyVaultSealed) => ['vault', r.id, lower(r.subscriptionId), lower(r.resourceGroup), lower(r.name), r.properties],
};

export type KeyCredentialSealed = Pick<KeyCredentialRow, 'keyId' | 'objectId' | 'certificate' | 'startAt' | 'endAt'>;

export type FederatedCredentialSealed = Pick<FederatedCredentialRow, 'id' | 'objectId' | 'issuer' | 'subject' | 'audiences'>;

export type LegacyVaultSealed = Pick<VaultRow, 'id' | 'name' | 'subscriptionId' | 'resourceGroup' | 'properties'>;

export type VaultSealed = LegacyVaultSealed & Pick<VaultRow, 'deletedAt' | 'scheduledPurgeAt'>;

export interface AuthorizationSeal {
  assignment(row: RoleAssignmentRow): string;
  definition(row: RoleDefinitionRow): string;
  membership(groupId: string, memberId: string): string;
  vault(row: VaultSealed): string;
  /** A vault's seal by the rule before schema 18 (`a1.`, its deletion state not covered): only the upgrade asks. */
  legacyVault(row: LegacyVaultSealed): string;
  /** A settings row that decides access (the deployment administrator's object id). */
  setting(key: string, value: string): string;
  /** A service principal's certificate credential: whoever it names signs in as that principal. */
  keyCredential(row: KeyCredentialSealed): string;
  /** An application's federated identity credential: a token it trusts signs in as that application. */
  federatedCredential(row: FederatedCredentialSealed): string;
  /** Whether `mac` (as stored: null for none) is the row's; constant-time. */
  intact(mac: string | null | undefined, expected: string): boolean;
  /** An HMAC of `label` under the key, for the authorization digest (authorization-digest.ts). */
  keyed(label: string): Buffer;
  /** The key's fingerprint (not secret: a MAC of a fixed label), kept in the data dir. */
  readonly fingerprint: string;
  readonly generation: number;
}

export function createAuthorizationSeal(key: KeyObject, generation = 0): AuthorizationSeal {
  const macOf = (format: string) => (fields: unknown[]) => `${format}.${generation}.` + createHmac('sha256', key).update(canonicalJson(fields)).digest('base64url');
  const mac = macOf(SEAL_FORMAT);
  const vaultMac = macOf(VAULT_SEAL_FORMAT);
  return {
    assignment: (r) => mac(covered.assignment(r)),
    definition: (r) => mac(covered.definition(r)),
    membership: (g, m) => mac(covered.membership(g, m)),
    vault: (r) => vaultMac(covered.vault(r)),
    legacyVault: (r) => mac(covered.legacyVault(r)),
    setting: (k, v) => mac(covered.setting(k, v)),
    keyCredential: (r) => mac(covered.keyCredential(r)),
    federatedCredential: (r) => mac(covered.federatedCredential(r)),
    intact(stored, expected) {
      if (typeof stored !== 'string' || stored.length !== expected.length) return false;
      return timingSafeEqual(Buffer.from(stored), Buffer.from(expected));
    },
    keyed: (label) => createHmac('sha256', key).update(`coffer/authorization-digest|${label}`).digest(),
    fingerprint: createHmac('sha256', key).update('coffer/authorization-key/fingerprint').digest('base64url'),
    generation,
  };
}
