import type { AuditRecord } from './audit-store-types.js';

/**
 * A federated identity credential of an application (Graph's
 * federatedIdentityCredential): a token from `issuer` about `subject`, for one
 * of `audiences`, signs in as the application's service principal. `mac` is
 * the authorization seal over what decides that (authorization-seal.ts): a row
 * without a matching one authenticates nothing.
 */
export interface FederatedCredentialRow {
  id: string;
  objectId: string;
  /** Unique per application, compared case-insensitively; fixed once created. */
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
  description: string | null;
  mac: string | null;
}

/** The principals' store's part for federated credentials (a principal's removal removes them too). */
export interface FederatedCredentialStore {
  listFederatedCredentials(objectId: string): Promise<FederatedCredentialRow[]>;
  /** Every principal's (a renewal of the authorization seal). */
  allFederatedCredentials(): Promise<FederatedCredentialRow[]>;
  /**
   * Stores a new one, in one transaction with `audit`, if the principal has fewer than `max`. Throws
   * StoreParentGoneError when the principal is gone, StoreConflictError 'exists' when its id, its name or its
   * issuer and subject together are taken on the principal, 'changed' when the principal has `max` already.
   */
  addFederatedCredential(row: FederatedCredentialRow, max: number, audit?: AuditRecord): Promise<void>;
  /**
   * Replaces the issuer, subject, audiences, description and seal of the stored one with `row.id` on
   * `row.objectId` if its seal is still `was`: false when it is gone or was changed meanwhile. Throws
   * StoreConflictError 'exists' when the new issuer and subject are another's on the principal.
   */
  updateFederatedCredential(row: FederatedCredentialRow, was: string | null, audit?: AuditRecord): Promise<boolean>;
  removeFederatedCredential(objectId: string, id: string, audit?: AuditRecord): Promise<boolean>;
  /** Replaces its seal if it is still `was`: true when replaced. */
  setFederatedCredentialMac(id: string, mac: string, was: string | null): Promise<boolean>;
}
