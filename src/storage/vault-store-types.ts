// The storage contract's resource groups and vaults (with the vaults' data
// keys); store-types.ts re-exports it. Same rules as there: async methods,
// Unix seconds, names matched through their lower-case key.

import type { AuditRecord } from './audit-store-types.js';

export interface ResourceGroupRow {
  subscriptionId: string;
  name: string;
  location: string;
  tags: Record<string, string>;
}

export interface VaultRow {
  /** Internal, immutable id (UUID); bound into every ciphertext of the vault. */
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  tags: Record<string, string>;
  /** ARM `properties` as stored (JSON-serialisable). */
  properties: Record<string, unknown>;
  /** ARM systemData: who created the vault (a UPN for a user, an application id for an app) and of which kind. */
  createdBy: string;
  createdByType: 'User' | 'Application' | null;
  /** Who last changed the vault's tags or properties; null until someone does. */
  modifiedBy: string | null;
  modifiedByType: 'User' | 'Application' | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
  scheduledPurgeAt: number | null;
  /** The vault's data key, wrapped by the master keyring: the one new values are sealed with. */
  dekWrapped: Buffer;
  masterKeyId: string;
  /** 0 for the vault's first data key, one more each time it is renewed (values sealed before keep their generation's key). */
  dekGeneration: number;
  /** The seal over its identity and properties (authorization/authorization-seal.ts); null for a row stored without one. */
  mac?: string | null;
}

/**
 * A vault deleted or recovered: the row as the caller read it, and its new seal (authorization-seal.ts covers the
 * deletion state), which sealed-stores.ts computes from `was` when `was` matches its own seal. The store writes
 * `mac` only if the stored seal is still `was.mac` (compare-and-set); without `mac`, the seal stays as it is.
 */
export interface VaultSealChange {
  was: VaultRow;
  mac?: string;
}

/** One of a vault's data keys as stored: its current one or an earlier generation. */
export interface WrappedDataKey {
  id: string;
  generation: number;
  dekWrapped: Buffer;
  masterKeyId: string;
}

export interface ResourceGroupStore {
  /**
   * Replaces the tags of the group if it exists in the row's location (its name spelling and location stay);
   * null, and nothing changed, when it is gone or in another location. `audit` is appended to the audit
   * trail in the same transaction, if something was stored.
   */
  update(row: ResourceGroupRow, audit?: AuditRecord): Promise<ResourceGroupRow | null>;
  /** Creates the group; null, and nothing stored, when its name is taken (created meanwhile, as by another cluster member). */
  create(row: ResourceGroupRow, audit?: AuditRecord): Promise<ResourceGroupRow | null>;
  get(subscriptionId: string, name: string): Promise<ResourceGroupRow | null>;
  list(subscriptionId: string): Promise<ResourceGroupRow[]>;
  /**
   * Fails (returns false) when the group still holds live vaults. Atomic
   * with VaultStore.insert and recover: a vault is never stored or
   * recovered into a group deleted at the same time. `audit` is appended
   * in the same transaction if the group was deleted.
   */
  delete(subscriptionId: string, name: string, audit?: AuditRecord): Promise<boolean>;
}

export interface VaultStore {
  // `audit`, on the writes below, is appended to the audit trail in the
  // write's own transaction when the write changes something (it returns
  // true): the record is stored if and only if the change is.
  /**
   * Throws StoreConflictError if the name is taken (live or soft-deleted).
   * Stores nothing and returns false when the vault's resource group does
   * not exist at that moment (deleted since the caller looked).
   */
  insert(row: VaultRow, audit?: AuditRecord): Promise<boolean>;
  /** Live or deleted vault by name (case-insensitive). */
  getByName(name: string): Promise<VaultRow | null>;
  getById(id: string): Promise<VaultRow | null>;
  /** Live vaults; filters are optional. */
  list(filter: { subscriptionId?: string; resourceGroup?: string }): Promise<VaultRow[]>;
  listDeleted(subscriptionId: string): Promise<VaultRow[]>;
  /**
   * False when no vault has the id, or (with `unless`, the row as the
   * caller read it) when it is deleted or its tags or properties are no
   * longer those of `unless` (another server changed the vault since it was
   * read: read it again and redo the change). The authorization seal of new
   * properties covers `unless`'s name and resource group.
   */
  update(
    id: string,
    patch: { tags?: Record<string, string>; properties?: Record<string, unknown>; mac?: string; updatedAt: number; modifiedBy?: string; modifiedByType?: 'User' | 'Application' },
    audit?: AuditRecord,
    unless?: VaultRow,
  ): Promise<boolean>;
  /**
   * False when the vault is gone or already deleted; with `seal.mac`, also
   * when its seal is no longer `seal.was.mac` (changed since the caller read it).
   */
  markDeleted(id: string, deletedAt: number, scheduledPurgeAt: number, audit?: AuditRecord, seal?: VaultSealChange): Promise<boolean>;
  /**
   * Undeletes the vault; false (nothing changes) when its resource group does
   * not exist at that moment, or (with `seal.mac`) when its seal is no longer `seal.was.mac`.
   */
  recover(id: string, at: number, audit?: AuditRecord, seal?: VaultSealChange): Promise<boolean>;
  /**
   * Removes the vault and every secret in it; with `onlyDeleted`, only if it
   * is soft-deleted at that moment (false otherwise: a recover got there
   * first). Returns whether a vault was removed.
   */
  purge(id: string, onlyDeleted?: boolean, audit?: AuditRecord): Promise<boolean>;
  /** Purges vaults (and their secrets) whose scheduled purge time has passed; returns their ids. */
  purgeExpired(now: number): Promise<string[]>;
  /** Rewraps one of the vault's data keys, its current one or an earlier generation. */
  rewrapKey(key: WrappedDataKey): Promise<void>;
  /** Every stored data key: each vault's current one (`current`) and its earlier generations. */
  listKeys(): Promise<(WrappedDataKey & { current: boolean })[]>;
  /**
   * Makes `next` the vault's data key, as generation `from + 1`, and keeps the
   * current one as an earlier generation (values sealed with it still open).
   * False, and nothing changes, unless the current generation is `from`.
   */
  renewKey(id: string, from: number, next: { dekWrapped: Buffer; masterKeyId: string }): Promise<boolean>;
  /** An earlier generation of the vault's data key; null if there is none. */
  earlierKey(id: string, generation: number): Promise<WrappedDataKey | null>;
  /** Seals the vault if its seal is `expected` now (null: stored without one); false otherwise. */
  setMac(id: string, mac: string, expected?: string | null): Promise<boolean>;
}
