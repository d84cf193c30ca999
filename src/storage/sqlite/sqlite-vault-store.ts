import type Database from 'better-sqlite3';
import type { Guarded } from './sqlite-authorization-digest.js';
import type { AuditedWrites } from './sqlite-audit-store.js';
import type { ResourceGroupRow, ResourceGroupStore, VaultRow, VaultSealChange, VaultStore, WrappedDataKey } from '../store-types.js';
import { fromJson, nameKey, toJson, unique } from './sqlite-support.js';

// Resource groups and vaults. A vault name is unique across live and
// soft-deleted vaults (the unique name_key), as in Azure, where a deleted
// vault's name stays reserved until it is purged.

interface GroupRecord {
  subscription_id: string;
  name: string;
  location: string;
  tags: string;
}

export interface VaultRecord {
  id: string;
  name: string;
  subscription_id: string;
  resource_group: string;
  location: string;
  tags: string;
  properties: string;
  created_by: string;
  created_by_type: 'User' | 'Application' | null;
  modified_by: string | null;
  modified_by_type: 'User' | 'Application' | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
  scheduled_purge_at: number | null;
  dek_wrapped: Buffer;
  master_key_id: string;
  dek_generation: number;
  mac: string | null;
}

interface KeyRecord {
  id: string;
  generation: number;
  dek_wrapped: Buffer;
  master_key_id: string;
}

const toKey = (r: KeyRecord): WrappedDataKey => ({ id: r.id, generation: r.generation, dekWrapped: r.dek_wrapped, masterKeyId: r.master_key_id });

const toGroup = (r: GroupRecord): ResourceGroupRow => ({
  subscriptionId: r.subscription_id,
  name: r.name,
  location: r.location,
  tags: fromJson<Record<string, string>>(r.tags),
});

export const toVault = (r: VaultRecord): VaultRow => ({
  id: r.id,
  name: r.name,
  subscriptionId: r.subscription_id,
  resourceGroup: r.resource_group,
  location: r.location,
  tags: fromJson<Record<string, string>>(r.tags),
  properties: fromJson<Record<string, unknown>>(r.properties),
  createdBy: r.created_by,
  createdByType: r.created_by_type,
  modifiedBy: r.modified_by,
  modifiedByType: r.modified_by_type,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  deletedAt: r.deleted_at,
  scheduledPurgeAt: r.scheduled_purge_at,
  dekWrapped: r.dek_wrapped,
  masterKeyId: r.master_key_id,
  dekGeneration: r.dek_generation,
  mac: r.mac,
});

export function sqliteResourceGroupStore(db: Database.Database, audited: AuditedWrites): ResourceGroupStore {
  type Key = [subscriptionId: string, nameKey: string];
  // A group keeps its name spelling and location (Azure cannot move a group); tags are replaced. Never an
  // insert: a group deleted meanwhile stays deleted (undefined), and its PUT creates it again, as a creation.
  const update = db.prepare<[string, string, string, string], GroupRecord>(
    'UPDATE resource_groups SET tags = ? WHERE subscription_id = ? AND name_key = ? AND location = ? RETURNING subscription_id, name, location, tags',
  );
  const create = db.prepare<[string, string, string, string, string], GroupRecord>(
    `INSERT INTO resource_groups (subscription_id, name_key, name, location, tags) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (subscription_id, name_key) DO NOTHING RETURNING subscription_id, name, location, tags`,
  );
  const get = db.prepare<Key, GroupRecord>('SELECT * FROM resource_groups WHERE subscription_id = ? AND name_key = ?');
  const list = db.prepare<[string], GroupRecord>('SELECT * FROM resource_groups WHERE subscription_id = ? ORDER BY name_key');
  const holdsLiveVaults = db.prepare<Key, { one: number }>(
    'SELECT 1 AS one FROM vaults WHERE subscription_id = ? AND resource_group_key = ? AND deleted_at IS NULL LIMIT 1',
  );
  const remove = db.prepare<Key>('DELETE FROM resource_groups WHERE subscription_id = ? AND name_key = ?');
  // Soft-deleted vaults do not hold their group, as in Azure; recovering one needs the group again.
  const removeIfEmpty = db.transaction((subscriptionId: string, key: string): boolean => {
    if (holdsLiveVaults.get(subscriptionId, key)) return false;
    return remove.run(subscriptionId, key).changes > 0;
  });

  return {
    create: async (g, audit) => {
      const r = audited.run(audit, () => create.get(g.subscriptionId, nameKey(g.name), g.name, g.location, toJson(g.tags)) ?? null);
      return r ? toGroup(r) : null;
    },
    update: async (g, audit) => {
      const r = audited.run(audit, () => update.get(toJson(g.tags), g.subscriptionId, nameKey(g.name), g.location) ?? null);
      return r ? toGroup(r) : null;
    },
    async get(subscriptionId, name) {
      const r = get.get(subscriptionId, nameKey(name));
      return r ? toGroup(r) : null;
    },
    list: async (subscriptionId) => list.all(subscriptionId).map(toGroup),
    delete: async (subscriptionId, name, audit) => audited.run(audit, () => removeIfEmpty.immediate(subscriptionId, nameKey(name))),
  };
}

/** A purge deletes the vault's secrets too: it runs through `changesSecrets` (ReadSnapshot.afterChange). */
export function sqliteVaultStore(db: Database.Database, changesSecrets: <T>(change: () => T) => T, audited: AuditedWrites, guarded: Guarded): VaultStore {
  // Only into a group that exists when the row goes in (see ResourceGroupStore.delete).
  const insert = db.prepare<[Record<string, unknown>]>(
    `INSERT INTO vaults (id, name_key, name, subscription_id, resource_group, resource_group_key, location, tags, properties,
       created_by, created_by_type, modified_by, modified_by_type, created_at, updated_at, deleted_at, scheduled_purge_at, dek_wrapped, master_key_id, dek_generation, mac)
     SELECT @id, @nameKey, @name, @subscriptionId, @resourceGroup, @resourceGroupKey, @location, @tags, @properties,
       @createdBy, @createdByType, @modifiedBy, @modifiedByType, @createdAt, @updatedAt, @deletedAt, @scheduledPurgeAt, @dekWrapped, @masterKeyId, @dekGeneration, @mac
     WHERE EXISTS (SELECT 1 FROM resource_groups WHERE subscription_id = @subscriptionId AND name_key = @resourceGroupKey)`,
  );
  const byName = db.prepare<[string], VaultRecord>('SELECT * FROM vaults WHERE name_key = ?');
  const byId = db.prepare<[string], VaultRecord>('SELECT * FROM vaults WHERE id = ?');
  const live = db.prepare<{ subscriptionId: string | null; groupKey: string | null }, VaultRecord>(
    `SELECT * FROM vaults WHERE deleted_at IS NULL
       AND (@subscriptionId IS NULL OR subscription_id = @subscriptionId)
       AND (@groupKey IS NULL OR resource_group_key = @groupKey)
     ORDER BY name_key`,
  );
  const deleted = db.prepare<[string], VaultRecord>('SELECT * FROM vaults WHERE deleted_at IS NOT NULL AND subscription_id = ? ORDER BY name_key');
  const update = db.prepare<{ id: string; tags: string | null; properties: string | null; mac: string | null; updatedAt: number; modifiedBy: string | null; modifiedByType: string | null; wasTags: string | null; wasProperties: string | null }>(
    `UPDATE vaults SET tags = COALESCE(@tags, tags), properties = COALESCE(@properties, properties), mac = COALESCE(@mac, mac), updated_at = @updatedAt,
       modified_by = COALESCE(@modifiedBy, modified_by), modified_by_type = COALESCE(@modifiedByType, modified_by_type)
     WHERE id = @id AND (@wasTags IS NULL OR (tags = @wasTags AND properties = @wasProperties AND deleted_at IS NULL))`,
  );
  // With a new seal, only over the seal read (`was`): the seal covers the deletion state (sealed-stores.ts).
  const markDeleted = db.prepare<{ id: string; deletedAt: number; scheduledPurgeAt: number; mac: string | null; was: string | null }>(
    `UPDATE vaults SET deleted_at = @deletedAt, scheduled_purge_at = @scheduledPurgeAt, mac = COALESCE(@mac, mac)
     WHERE id = @id AND deleted_at IS NULL AND (@mac IS NULL OR mac IS @was)`,
  );
  const seal = db.prepare<[string, string, string | null]>('UPDATE vaults SET mac = ? WHERE id = ? AND mac IS ?');
  const recover = db.prepare<{ id: string; at: number; mac: string | null; was: string | null }>(
    `UPDATE vaults SET deleted_at = NULL, scheduled_purge_at = NULL, updated_at = @at, mac = COALESCE(@mac, mac)
     WHERE id = @id AND deleted_at IS NOT NULL AND (@mac IS NULL OR mac IS @was)`,
  );
  const groupOf = db.prepare<[string], { one: number }>(
    'SELECT 1 AS one FROM vaults v JOIN resource_groups g ON g.subscription_id = v.subscription_id AND g.name_key = v.resource_group_key WHERE v.id = ?',
  );
  const recoverInGroup = db.transaction((id: string, at: number, seal: VaultSealChange | undefined): boolean => {
    if (!groupOf.get(id)) return false;
    const changed = recover.run({ id, at, mac: seal?.mac ?? null, was: seal?.was.mac ?? null }).changes > 0;
    // Recovered already (the change is as asked); a seal that moved on is a change since the caller read the row.
    return changed || seal?.mac === undefined;
  });
  const expiredIds = db.prepare<[number], { id: string }>('SELECT id FROM vaults WHERE deleted_at IS NOT NULL AND scheduled_purge_at <= ?');
  const deleteVersions = db.prepare<[string]>('DELETE FROM secret_versions WHERE vault_id = ?');
  const deleteSecrets = db.prepare<[string]>('DELETE FROM secrets WHERE vault_id = ?');
  const deleteVault = db.prepare<[string]>('DELETE FROM vaults WHERE id = ?');
  const rewrapCurrent = db.prepare<[Buffer, string, string, number]>('UPDATE vaults SET dek_wrapped = ?, master_key_id = ? WHERE id = ? AND dek_generation = ?');
  const rewrapEarlier = db.prepare<[Buffer, string, string, number]>('UPDATE vault_earlier_keys SET dek_wrapped = ?, master_key_id = ? WHERE vault_id = ? AND generation = ?');
  const keys = db.prepare<[], KeyRecord & { current: number }>(
    `SELECT id, dek_generation AS generation, dek_wrapped, master_key_id, 1 AS current FROM vaults
     UNION ALL SELECT vault_id, generation, dek_wrapped, master_key_id, 0 FROM vault_earlier_keys ORDER BY 1, 2, 5`,
  );
  const earlier = db.prepare<[string, number], KeyRecord>('SELECT vault_id AS id, generation, dek_wrapped, master_key_id FROM vault_earlier_keys WHERE vault_id = ? AND generation = ?');
  const keepEarlier = db.prepare<[string]>(
    'INSERT INTO vault_earlier_keys (vault_id, generation, dek_wrapped, master_key_id) SELECT id, dek_generation, dek_wrapped, master_key_id FROM vaults WHERE id = ?',
  );
  const renew = db.prepare<[Buffer, string, string, number]>(
    'UPDATE vaults SET dek_wrapped = ?, master_key_id = ?, dek_generation = dek_generation + 1 WHERE id = ? AND dek_generation = ?',
  );
  const renewKey = db.transaction((id: string, from: number, next: { dekWrapped: Buffer; masterKeyId: string }): boolean => {
    const current = byId.get(id);
    if (current?.dek_generation !== from) return false;
    keepEarlier.run(id);
    return renew.run(next.dekWrapped, next.masterKeyId, id, from).changes > 0;
  });

  const isDeleted = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM vaults WHERE id = ? AND deleted_at IS NOT NULL');
  function purgeOne(id: string): boolean {
    deleteVersions.run(id);
    deleteSecrets.run(id);
    return deleteVault.run(id).changes > 0;
  }
  const purge = db.transaction((id: string, onlyDeleted: boolean): boolean => (onlyDeleted && !isDeleted.get(id) ? false : purgeOne(id)));
  const purgeExpired = db.transaction((now: number): string[] => {
    const ids = expiredIds.all(now).map((r) => r.id);
    ids.forEach(purgeOne);
    return ids;
  });

  return {
    insert: async (v, audit) =>
      guarded(() => audited.run(audit, () =>
        unique(`vault ${v.name}`, () =>
          insert.run({
            ...v,
            nameKey: nameKey(v.name),
            resourceGroupKey: nameKey(v.resourceGroup),
            tags: toJson(v.tags),
            properties: toJson(v.properties),
            mac: v.mac ?? null,
          }),
        ).changes === 1,
      )),
    async getByName(name) {
      const r = byName.get(nameKey(name));
      return r ? toVault(r) : null;
    },
    async getById(id) {
      const r = byId.get(id);
      return r ? toVault(r) : null;
    },
    list: async (filter) =>
      live.all({ subscriptionId: filter.subscriptionId ?? null, groupKey: filter.resourceGroup === undefined ? null : nameKey(filter.resourceGroup) }).map(toVault),
    listDeleted: async (subscriptionId) => deleted.all(subscriptionId).map(toVault),
    // Only a change of its properties changes its seal: the digest's transaction then only.
    update: async (id, patch, audit, unless) =>
      (patch.mac === undefined ? (w: () => boolean) => w() : guarded)(() => audited.run(audit, () =>
        update.run({
          id,
          tags: patch.tags === undefined ? null : toJson(patch.tags),
          properties: patch.properties === undefined ? null : toJson(patch.properties),
          mac: patch.mac ?? null,
          updatedAt: patch.updatedAt,
          modifiedBy: patch.modifiedBy ?? null,
          modifiedByType: patch.modifiedByType ?? null,
          wasTags: unless ? toJson(unless.tags) : null,
          wasProperties: unless ? toJson(unless.properties) : null,
        }).changes > 0,
      )),
    // The deletion state is sealed (and journaled): the digest's transaction.
    markDeleted: async (id, deletedAt, scheduledPurgeAt, audit, seal) =>
      guarded(() => audited.run(audit, () => markDeleted.run({ id, deletedAt, scheduledPurgeAt, mac: seal?.mac ?? null, was: seal?.was.mac ?? null }).changes > 0)),
    recover: async (id, at, audit, seal) => guarded(() => audited.run(audit, () => recoverInGroup.immediate(id, at, seal))),
    purge: async (id, onlyDeleted = false, audit) => changesSecrets(() => guarded(() => audited.run(audit, () => purge.immediate(id, onlyDeleted)))),
    // The sweep asks every minute or so: the digest's transaction only when there is something to purge.
    purgeExpired: async (now) => (expiredIds.get(now) ? changesSecrets(() => guarded(() => purgeExpired.immediate(now))) : []),
    async rewrapKey(k) {
      // Only the generation named: a key renewed meanwhile is not overwritten with its predecessor.
      if (rewrapCurrent.run(k.dekWrapped, k.masterKeyId, k.id, k.generation).changes === 0) rewrapEarlier.run(k.dekWrapped, k.masterKeyId, k.id, k.generation);
    },
    listKeys: async () => keys.all().map((r) => ({ ...toKey(r), current: r.current === 1 })),
    renewKey: async (id, from, next) => renewKey.immediate(id, from, next),
    async earlierKey(id, generation) {
      const r = earlier.get(id, generation);
      return r ? toKey(r) : null;
    },
    setMac: async (id, mac, expected = null) => guarded(() => seal.run(mac, id, expected).changes > 0),
  };
}
