import type Database from 'better-sqlite3';
import { StoreConflictError, type ResourceGroupRow, type ResourceGroupStore, type VaultRow, type VaultStore } from '../store-types.js';

// Resource groups and vaults. A vault name is unique across live and
// soft-deleted vaults (the unique index on name_key), as in Azure.

const asGroup = (r: Record<string, unknown>): ResourceGroupRow => ({
  subscriptionId: r.subscription_id as string,
  name: r.name as string,
  location: r.location as string,
  tags: JSON.parse(r.tags as string) as Record<string, string>,
});

const asVault = (r: Record<string, unknown>): VaultRow => ({
  id: r.id as string,
  name: r.name as string,
  subscriptionId: r.subscription_id as string,
  resourceGroup: r.resource_group as string,
  location: r.location as string,
  tags: JSON.parse(r.tags as string) as Record<string, string>,
  properties: JSON.parse(r.properties as string) as Record<string, unknown>,
  createdBy: r.created_by as string,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
  deletedAt: (r.deleted_at as number | null) ?? null,
  scheduledPurgeAt: (r.scheduled_purge_at as number | null) ?? null,
  dekWrapped: r.dek_wrapped as Buffer,
  masterKeyId: r.master_key_id as string,
});

export function sqliteResourceGroups(db: Database.Database): ResourceGroupStore {
  const upsert = db.prepare(
    `INSERT INTO resource_groups (subscription_id, name_key, name, location, tags) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (subscription_id, name_key) DO UPDATE SET tags = excluded.tags`,
  );
  const get = db.prepare('SELECT * FROM resource_groups WHERE subscription_id = ? AND name_key = ?');
  const list = db.prepare('SELECT * FROM resource_groups WHERE subscription_id = ? ORDER BY name_key');
  const holdsVaults = db.prepare('SELECT 1 FROM vaults WHERE subscription_id = ? AND lower(resource_group) = ? LIMIT 1');
  const del = db.prepare('DELETE FROM resource_groups WHERE subscription_id = ? AND name_key = ?');
  return {
    upsert: async (g) => {
      upsert.run(g.subscriptionId, g.name.toLowerCase(), g.name, g.location, JSON.stringify(g.tags));
      return asGroup(get.get(g.subscriptionId, g.name.toLowerCase()) as Record<string, unknown>);
    },
    get: async (s, name) => {
      const r = get.get(s, name.toLowerCase()) as Record<string, unknown> | undefined;
      return r ? asGroup(r) : null;
    },
    list: async (s) => (list.all(s) as Array<Record<string, unknown>>).map(asGroup),
    delete: async (s, name) => {
      if (holdsVaults.get(s, name.toLowerCase())) return false;
      return del.run(s, name.toLowerCase()).changes > 0;
    },
  };
}

export function sqliteVaults(db: Database.Database): VaultStore {
  const insert = db.prepare(
    `INSERT INTO vaults (id, name_key, name, subscription_id, resource_group, location, tags, properties, created_by, created_at, updated_at,
       deleted_at, scheduled_purge_at, dek_wrapped, master_key_id)
     VALUES (@id, @nameKey, @name, @subscriptionId, @resourceGroup, @location, @tags, @properties, @createdBy, @createdAt, @updatedAt,
       @deletedAt, @scheduledPurgeAt, @dekWrapped, @masterKeyId)`,
  );
  const byName = db.prepare('SELECT * FROM vaults WHERE name_key = ?');
  const byId = db.prepare('SELECT * FROM vaults WHERE id = ?');
  const live = db.prepare(
    `SELECT * FROM vaults WHERE deleted_at IS NULL AND (@s IS NULL OR subscription_id = @s)
       AND (@rg IS NULL OR lower(resource_group) = lower(@rg)) ORDER BY name_key`,
  );
  const deleted = db.prepare('SELECT * FROM vaults WHERE deleted_at IS NOT NULL AND subscription_id = ? ORDER BY name_key');
  const update = db.prepare('UPDATE vaults SET tags = COALESCE(@tags, tags), properties = COALESCE(@properties, properties), updated_at = @updatedAt WHERE id = @id');
  const markDeleted = db.prepare('UPDATE vaults SET deleted_at = ?, scheduled_purge_at = ? WHERE id = ? AND deleted_at IS NULL');
  const recover = db.prepare('UPDATE vaults SET deleted_at = NULL, scheduled_purge_at = NULL, updated_at = ? WHERE id = ?');
  const purge = db.prepare('DELETE FROM vaults WHERE id = ?');
  const expired = db.prepare('DELETE FROM vaults WHERE deleted_at IS NOT NULL AND scheduled_purge_at <= ?');
  const rewrap = db.prepare('UPDATE vaults SET dek_wrapped = ?, master_key_id = ? WHERE id = ?');
  const keys = db.prepare('SELECT id, dek_wrapped, master_key_id FROM vaults ORDER BY id');
  const one = (r: unknown) => (r ? asVault(r as Record<string, unknown>) : null);
  return {
    insert: async (v) => {
      try {
        insert.run({ ...v, nameKey: v.name.toLowerCase(), tags: JSON.stringify(v.tags), properties: JSON.stringify(v.properties) });
      } catch (err) {
        if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new StoreConflictError('exists', `vault ${v.name} exists`);
        throw err;
      }
    },
    getByName: async (name) => one(byName.get(name.toLowerCase())),
    getById: async (id) => one(byId.get(id)),
    list: async (f) => (live.all({ s: f.subscriptionId ?? null, rg: f.resourceGroup ?? null }) as Array<Record<string, unknown>>).map(asVault),
    listDeleted: async (s) => (deleted.all(s) as Array<Record<string, unknown>>).map(asVault),
    update: async (id, p) =>
      void update.run({ id, tags: p.tags ? JSON.stringify(p.tags) : null, properties: p.properties ? JSON.stringify(p.properties) : null, updatedAt: p.updatedAt }),
    markDeleted: async (id, at, purgeAt) => void markDeleted.run(at, purgeAt, id),
    recover: async (id, at) => void recover.run(at, id),
    purge: async (id) => void purge.run(id),
    purgeExpired: async (now) => expired.run(now).changes,
    rewrapKey: async (id, sealed, masterKeyId) => void rewrap.run(sealed, masterKeyId, id),
    listKeys: async () =>
      (keys.all() as Array<Record<string, unknown>>).map((r) => ({ id: r.id as string, dekWrapped: r.dek_wrapped as Buffer, masterKeyId: r.master_key_id as string })),
  };
}
