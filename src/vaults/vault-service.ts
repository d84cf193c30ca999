import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Scope } from '../authorization/scopes.js';
import type { AuditRecord, ResourceGroupRow, ResourceGroupStore, VaultRow, VaultStore } from '../storage/store-types.js';
import { StoreConflictError } from '../storage/store-types.js';
import type { VaultKeys } from '../crypto/vault-keys.js';
import { locationChecker, normalLocation } from './locations.js';
import { resourceGroupOperations } from './resource-group-operations.js';
import { errors, ServiceError } from '../server/errors.js';
import { createKeyedQueue } from '../server/one-at-a-time.js';
import { DEFAULT_RETENTION_DAYS, vaultPolicy } from './vault-types.js';
import type { VaultInput } from './vault-input.js';
import type { Actor } from './vault-types.js';
import { policiesOf, type AccessPolicyEntry } from '../authorization/access-policies.js';

// Vault lifecycle (the management plane's domain). The data plane looks
// vaults up by host name on every request, so live vaults are cached by name
// and the cache is dropped on every change made through this service.

export interface VaultService {
  /** Drops every cached vault (after a change to many rows at once, such as a master key rotation's rewrap). */
  forgetAll(): void;
  /** A live vault by name, from cache. */
  findLive(name: string): Promise<VaultRow | null>;
  /**
   * For the data plane, which trusts the vault's access policies and network
   * rules: throws (500) if the vault's seal does not match its row (changed in
   * the database outside coffer). Every change to it through the management
   * plane is refused the same way; it can still be read, deleted and purged.
   */
  assertIntact(row: VaultRow): void;
  /** Whether `row` (from findLive) is still the vault as cached: no change of it has been stored since it was read. */
  isCurrent(row: VaultRow): boolean;
  /** Whether a vault holds the name, live or soft-deleted (a deleted vault keeps its name until purged). */
  nameInUse(name: string): Promise<boolean>;
  get(subscriptionId: string, resourceGroup: string, name: string): Promise<VaultRow>;
  list(filter: { subscriptionId: string; resourceGroup?: string }): Promise<VaultRow[]>;
  /** `by`: who asks (ARM's systemData records it as creator or last modifier). */
  // `audit`, when given, is stored with the change in one transaction (VaultStore's `audit` arguments).
  put(input: { subscriptionId: string; resourceGroup: string; name: string; body: VaultInput; by: Actor; audit?: AuditRecord }): Promise<{ vault: VaultRow; created: boolean }>;
  patch(vault: VaultRow, body: VaultInput, by: Actor, audit?: AuditRecord): Promise<VaultRow>;
  /** False when there was nothing left to delete (a concurrent delete got there first). */
  delete(vault: VaultRow, audit?: AuditRecord): Promise<boolean>;
  /** Purges soft-deleted vaults past retention. */
  sweep(now: number): Promise<number>;
  /**
   * Changes the vault's access policies from their stored state: `change`
   * gets the current list, read again under the vault's lock, so that
   * concurrent add/remove/replace requests apply one after another.
   */
  changeAccessPolicies(vault: VaultRow, change: (current: AccessPolicyEntry[]) => AccessPolicyEntry[], by: Actor, audit?: AuditRecord): Promise<VaultRow>;
  listDeleted(subscriptionId: string): Promise<VaultRow[]>;
  /** A soft-deleted vault by name and location. */
  getDeleted(subscriptionId: string, location: string, name: string): Promise<VaultRow>;
  purgeDeleted(vault: VaultRow, audit?: AuditRecord): Promise<void>;
  /** `audit` builds the record stored with the change, as the answer it gets (201 created, 200 updated). */
  ensureResourceGroup(row: ResourceGroupRow, audit?: (status: number) => AuditRecord): Promise<{ group: ResourceGroupRow; created: boolean }>;
  getResourceGroup(subscriptionId: string, name: string): Promise<ResourceGroupRow>;
  findResourceGroup(subscriptionId: string, name: string): Promise<ResourceGroupRow | null>;
  listResourceGroups(subscriptionId: string): Promise<ResourceGroupRow[]>;
  /** Whether a role assignment scope's resource exists: its resource group, or its vault (live or soft-deleted). */
  scopeExists(scope: Scope): Promise<boolean>;
  /**
   * Deletes the group's live vaults (as `delete` does), then the group, each
   * with its record from `audit` (given the vault, or null for the group).
   * `mayDelete` is asked about every vault first: one refused, nothing is deleted.
   */
  deleteResourceGroup(
    group: ResourceGroupRow,
    mayDelete: (vault: VaultRow) => Promise<void>,
    audit?: (vault: VaultRow | null) => AuditRecord,
  ): Promise<void>;
}

const DAY = 24 * 3600;
/** Rounds of deleting a group's vaults before a group that keeps getting new ones is given up (409). */
const GROUP_DELETE_ATTEMPTS = 3;
/** Properties ARM computes; never stored from a request. */
const COMPUTED = ['vaultUri', 'provisioningState', 'createMode', 'hsmPoolResourceId'];

function cleanProperties(p: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(p).filter(([k, v]) => !COMPUTED.includes(k) && v !== null && v !== undefined));
}

export function createVaultService(deps: {
  vaults: VaultStore;
  resourceGroups: ResourceGroupStore;
  vaultKeys: VaultKeys;
  location: string;
  now?: () => number;
  /** Whether the vault's stored seal matches it (sealed-stores.ts); absent: every vault is. */
  intact?: (row: VaultRow) => boolean;
}): VaultService {
  const { vaults, resourceGroups, vaultKeys } = deps;
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  // The data plane's vault lookups. Every change to a vault invalidates it
  // once the change is stored; a lookup caches what it read only if no
  // change was stored meanwhile (on PostgreSQL a read can overlap a change,
  // and caching its older row would keep revoked access or a deleted vault
  // alive until the next change).
  const cache = new Map<string, VaultRow>();
  // Each cached row is checked once, not on every request.
  const checked = new WeakMap<VaultRow, boolean>();
  const intact = deps.intact ?? (() => true);
  const locations = locationChecker(deps.location);
  const groups = resourceGroupOperations(resourceGroups, locations);
  const { getResourceGroup } = groups;
  let changes = 0;
  const invalidate = (name: string) => {
    changes++;
    cache.delete(name.toLowerCase());
  };

  /**
   * Purge protection holds deleted vaults and secrets for their retention,
   * which needs soft delete: a vault without it would say it is protected
   * and be destroyed at once on delete (as Azure says, the setting "is
   * effective only if soft delete is also enabled"; coffer refuses it).
   */
  function coherent(properties: Record<string, unknown>): Record<string, unknown> {
    if (properties.enablePurgeProtection === true && properties.enableSoftDelete === false) {
      throw errors.invalidArm('The property "enablePurgeProtection" can be set to true only for a vault with soft delete enabled ("enableSoftDelete": true).');
    }
    return properties;
  }

  function checkImmutable(current: VaultRow, next: Record<string, unknown>) {
    const before = vaultPolicy(current);
    if (before.softDelete && next.enableSoftDelete === false) {
      throw errors.invalidArm('The property "enableSoftDelete" can be set to false only for creating new vault. Enabling the \'soft delete\' functionality is an irreversible action.');
    }
    // Fixed once soft delete is on: shortening it would shorten purge protection's window for later deletes.
    const days = next.softDeleteRetentionInDays;
    if (before.softDelete && days !== undefined && days !== null && days !== before.retentionDays) {
      throw errors.invalidArm('The property "softDeleteRetentionInDays" has been set already and it can\'t be modified.');
    }
  }

  // Read-modify-write changes of one vault run one at a
  // time, each from the row as stored: on PostgreSQL two requests could
  // otherwise read the same row and the second write would undo the first (a
  // removed access policy back).
  const exclusive = createKeyedQueue();
  const UPDATE_ATTEMPTS = 20;
  async function fresh(vault: VaultRow): Promise<VaultRow> {
    const row = await vaults.getByName(vault.name);
    if (!row || row.id !== vault.id || row.deletedAt !== null) throw errors.resourceNotFound('Microsoft.KeyVault/vaults', vault.name, vault.resourceGroup);
    return row;
  }

  const assertIntact = (row: VaultRow) => {
    let ok = checked.get(row);
    if (ok === undefined) checked.set(row, (ok = intact(row)));
    if (!ok) throw errors.integrity(`the access configuration of vault '${row.name}'`);
  };

  // Another cluster member may change the vault between the read and the
  // write; the write then changes nothing (VaultStore.update's `unless`) and
  // the change is made again from a new read. Every change needs the stored
  // vault intact: it would seal what a database writer put there, and even a
  // PUT, which sets every property, takes the vault's place (its resource
  // group, whose owners it checks), its permission model and soft delete
  // settings from the stored row.
  async function update(
    vault: VaultRow,
    next: (current: VaultRow) => { tags?: Record<string, string>; properties: Record<string, unknown> },
    by: Actor,
    audit?: AuditRecord,
  ): Promise<VaultRow> {
    return exclusive(vault.id, async () => {
      for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
        // Purged meanwhile: fresh() says so.
        const current = await fresh(vault);
        assertIntact(current);
        const { tags, properties } = next(current);
        const patch = { tags: tags ?? current.tags, properties, updatedAt: now(), modifiedBy: by.name, modifiedByType: by.type };
        const updated = await vaults.update(vault.id, patch, audit, current);
        invalidate(vault.name);
        if (updated) return { ...current, ...patch };
        // Another member won: one of them always does, and a random pause keeps one from winning every time.
        await sleep(randomInt(1, 5 * attempt + 1));
      }
      throw errors.vaultChangedMeanwhile(vault.name);
    });
  }

  /** `again`: the second try of a PUT whose vault was deleted, or recovered, while it ran. */
  async function put(input: Parameters<VaultService['put']>[0], again: boolean): Promise<{ vault: VaultRow; created: boolean }> {
    const { subscriptionId, resourceGroup, name, body, by, audit } = input;
    const rg = await getResourceGroup(subscriptionId, resourceGroup);
    const existing = await vaults.getByName(name);
    if (body.properties.createMode === 'recover') {
      if (!existing || existing.deletedAt === null || existing.subscriptionId !== subscriptionId) {
        throw errors.softDeletedVaultDoesNotExist();
      }
      if (existing.resourceGroup.toLowerCase() !== rg.name.toLowerCase()) {
        throw errors.invalidArm(`The deleted vault '${name}' belonged to resource group '${existing.resourceGroup}'; recover it there.`);
      }
      // Its seal covers the deletion state: a deleted row changed outside coffer is not sealed live (500), nor recovered.
      assertIntact(existing);
      const recovered = await vaults.recover(existing.id, now(), audit, { was: existing });
      invalidate(name);
      // False: the group was deleted, or the vault changed (recovered, purged) since it was read. Answered from
      // a new read, as a recover sent after that change is (400 when another recover got there first).
      if (!recovered && !again) return put(input, true);
      if (!recovered) throw (await resourceGroups.get(subscriptionId, rg.name)) ? errors.vaultChangedMeanwhile(name) : errors.resourceGroupNotFound(rg.name);
      return { vault: { ...existing, deletedAt: null, scheduledPurgeAt: null }, created: false };
    }
    if (existing && existing.deletedAt !== null) throw errors.conflictingVaultDeleted(name);
    if (existing) {
      if (existing.subscriptionId !== subscriptionId || existing.resourceGroup.toLowerCase() !== rg.name.toLowerCase()) {
        throw errors.vaultAlreadyExists(name);
      }
      if (body.location !== undefined && normalLocation(body.location) !== existing.location) {
        // A location Resource Manager does not have is refused as such before the vault's own is compared.
        locations.vault(body.location);
        throw errors.invalidResourceLocation(existing.name, existing.location, existing.resourceGroup, body.location);
      }
      // In turn with the vault's other changes, from the row as stored: a PATCH that just turned on
      // purge protection (irreversible) must not be undone by a PUT that read the vault before it.
      // Deleted (or purged) since it was read: answered as a PUT sent after the deletion is, from a new read
      // (409 while the deleted vault holds the name; a new vault once it is purged), not 404.
      const vault = await update(
        existing,
        (current) => {
          const properties = cleanProperties(body.properties);
          checkImmutable(current, properties);
          // PUT replaces, but soft delete settings persist as Azure keeps them.
          const policy = vaultPolicy(current);
          properties.enableSoftDelete ??= policy.softDelete;
          properties.softDeleteRetentionInDays ??= policy.retentionDays;
          if (policy.purgeProtection) properties.enablePurgeProtection = true;
          return { tags: body.tags ?? {}, properties: coherent(properties) };
        },
        by,
        audit,
      ).catch((err: unknown) => {
        if (again || !(err instanceof ServiceError && err.code === 'ResourceNotFound')) throw err;
        return null;
      });
      return vault ? { vault, created: false } : put(input, true);
    }
    locations.vault(body.location ?? deps.location);
    const properties = cleanProperties(body.properties);
    properties.enableSoftDelete ??= true;
    properties.softDeleteRetentionInDays ??= DEFAULT_RETENTION_DAYS;
    properties.accessPolicies ??= [];
    coherent(properties);
    const id = randomUUID();
    const t = now();
    // Wrapped and stored with no master key rotation in between (VaultKeys.writing).
    const row = await vaultKeys.writing(async () => {
      const row: VaultRow = {
        id,
        name,
        subscriptionId,
        resourceGroup: rg.name,
        location: normalLocation(body.location ?? deps.location),
        tags: body.tags ?? {},
        properties,
        createdBy: by.name,
        createdByType: by.type,
        modifiedBy: null,
        modifiedByType: null,
        createdAt: t,
        updatedAt: t,
        deletedAt: null,
        scheduledPurgeAt: null,
        ...vaultKeys.create(id),
      };
      try {
        // False: the group was deleted since it was looked up.
        if (!(await vaults.insert(row, audit))) throw errors.resourceGroupNotFound(rg.name);
      } catch (err) {
        vaultKeys.forget(id);
        if (!(err instanceof StoreConflictError)) throw err;
        if (again) throw errors.vaultAlreadyExists(name);
        // Another PUT of the name (a second server's too) created it since it was read: answered from a new
        // read, as a PUT sent after it is (200 for the same group, 409 VaultAlreadyExists for another).
        return null;
      } finally {
        invalidate(name);
      }
      return row;
    });
    if (row === null) return put(input, true);
    return { vault: row, created: true };
  }

  const service: VaultService = {
    forgetAll() {
      changes++;
      cache.clear();
    },
    async findLive(name) {
      const key = name.toLowerCase();
      const hit = cache.get(key);
      if (hit) return hit;
      const seen = changes;
      const row = await vaults.getByName(key);
      if (!row || row.deletedAt !== null) return null;
      if (seen === changes) cache.set(key, row);
      return row;
    },
    assertIntact,
    isCurrent: (row) => cache.get(row.name.toLowerCase()) === row,
    async nameInUse(name) {
      return (await vaults.getByName(name.toLowerCase())) !== null;
    },
    async get(subscriptionId, resourceGroup, name) {
      const row = await vaults.getByName(name);
      if (!row || row.deletedAt !== null || row.subscriptionId !== subscriptionId || row.resourceGroup.toLowerCase() !== resourceGroup.toLowerCase()) {
        // As Resource Manager answers: a missing resource group is named before the resource.
        await getResourceGroup(subscriptionId, resourceGroup);
        throw errors.resourceNotFound('Microsoft.KeyVault/vaults', name, resourceGroup);
      }
      return row;
    },
    list: (filter) => vaults.list(filter),
    put: (input) => put(input, false),
    patch: (vault, body, by, audit) =>
      update(
        vault,
        (current) => {
          const next = cleanProperties(body.properties);
          checkImmutable(current, next);
          return { tags: body.tags, properties: coherent({ ...current.properties, ...next }) };
        },
        by,
        audit,
      ),
    async delete(vault, audit) {
      const policy = vaultPolicy(vault);
      try {
        if (!policy.softDelete) {
          const purged = await vaults.purge(vault.id, false, audit);
          vaultKeys.forget(vault.id);
          return purged;
        }
        const t = now();
        // Sealed again from the row read (the seal covers the deletion state), compare-and-set on its seal: a change
        // stored since (another cluster member's) has the vault read again.
        let read: VaultRow | null = vault;
        for (let attempt = 1; read && read.deletedAt === null && attempt <= UPDATE_ATTEMPTS; attempt++) {
          if (await vaults.markDeleted(vault.id, t, t + policy.retentionDays * DAY, audit, { was: read })) return true;
          read = await vaults.getById(vault.id);
        }
        if (read && read.deletedAt === null) throw errors.vaultChangedMeanwhile(vault.name);
        return false;
      } finally {
        invalidate(vault.name);
      }
    },
    async sweep(t) {
      const purged = await vaults.purgeExpired(t);
      // Their data keys go from memory with them, as on an explicit purge.
      purged.forEach((id) => vaultKeys.forget(id));
      return purged.length;
    },
    changeAccessPolicies: (vault, change, by, audit) =>
      update(vault, (current) => ({ properties: { ...current.properties, accessPolicies: change(policiesOf(current.properties)) } }), by, audit),
    listDeleted: (subscriptionId) => vaults.listDeleted(subscriptionId),
    async getDeleted(subscriptionId, location, name) {
      const row = await vaults.getByName(name);
      // The location as Resource Manager names it ('West Europe' is 'westeurope'), as the vault's was stored.
      if (!row || row.deletedAt === null || row.subscriptionId !== subscriptionId || normalLocation(row.location) !== normalLocation(location)) {
        throw errors.deletedVaultNotFound(name, location);
      }
      return row;
    },
    async purgeDeleted(vault, audit) {
      if (vaultPolicy(vault).purgeProtection) {
        throw errors.deletedVaultPurgeNotAllowed();
      }
      // Only if it is still deleted: a recover that landed since the caller looked keeps its vault.
      if (!(await vaults.purge(vault.id, true, audit))) throw errors.deletedVaultNotFound(vault.name, vault.location);
      invalidate(vault.name);
      vaultKeys.forget(vault.id);
    },
    ...groups,
    async scopeExists(scope) {
      if (scope.kind === 'root' || scope.kind === 'subscription') return true;
      if (scope.kind === 'resourceGroup') return (await resourceGroups.get(scope.subscriptionId!, scope.resourceGroup!)) !== null;
      const row = await vaults.getByName(scope.vault!);
      return row !== null && row.subscriptionId === scope.subscriptionId && row.resourceGroup.toLowerCase() === scope.resourceGroup!.toLowerCase();
    },
    async deleteResourceGroup(group, mayDelete, audit) {
      // A vault created in the group meanwhile keeps the group (the store refuses): that one is deleted too, on the next try.
      for (let attempt = 0; attempt < GROUP_DELETE_ATTEMPTS; attempt++) {
        const live = await vaults.list({ subscriptionId: group.subscriptionId, resourceGroup: group.name });
        for (const vault of live) await mayDelete(vault);
        for (const vault of live) await service.delete(vault, audit?.(vault));
        if (await resourceGroups.delete(group.subscriptionId, group.name, audit?.(null))) return;
        if (!(await resourceGroups.get(group.subscriptionId, group.name))) throw errors.resourceGroupNotFound(group.name);
      }
      throw errors.resourceGroupBusy(group.name);
    },
  };
  return service;
}
