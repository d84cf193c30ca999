import type pg from 'pg';
import type { ResourceGroupRow, ResourceGroupStore, VaultRow, VaultStore, WrappedDataKey } from '../store-types.js';
import type { PgAuditedWrite } from './pg-audit-store.js';
import type { PgSealedWrites } from './pg-authorization-digest.js';
import { changes, fromJson, nameKey, one, rows, toJson, transaction, unique, type Queryable } from './pg-support.js';

// Resource groups and vaults. A vault name is unique across live and
// soft-deleted vaults (the unique name_key), as in Azure, where a deleted
// vault's name stays reserved until it is purged.

type Json<T, K extends keyof T> = Omit<T, K> & { [P in K]: string };

const GROUP = 'subscription_id AS "subscriptionId", name, location, tags';
const VAULT = `id, name, subscription_id AS "subscriptionId", resource_group AS "resourceGroup", location, tags, properties,
  created_by AS "createdBy", created_by_type AS "createdByType", modified_by AS "modifiedBy", modified_by_type AS "modifiedByType", created_at AS "createdAt", updated_at AS "updatedAt", deleted_at AS "deletedAt",
  scheduled_purge_at AS "scheduledPurgeAt", dek_wrapped AS "dekWrapped", master_key_id AS "masterKeyId", dek_generation AS "dekGeneration", mac`;

const toGroup = (r: Json<ResourceGroupRow, 'tags'>): ResourceGroupRow => ({ ...r, tags: fromJson(r.tags) });
const toVault = (r: Json<VaultRow, 'tags' | 'properties'>): VaultRow => ({ ...r, tags: fromJson(r.tags), properties: fromJson(r.properties) });

export function pgResourceGroupStore(pool: pg.Pool, audited: PgAuditedWrite): ResourceGroupStore {
  return {
    create: async (g, audit) => {
      const r = await audited(audit, (db) =>
        one<Json<ResourceGroupRow, 'tags'>>(
          db,
          `INSERT INTO resource_groups (subscription_id, name_key, name, location, tags) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (subscription_id, name_key) DO NOTHING RETURNING ${GROUP}`,
          [g.subscriptionId, nameKey(g.name), g.name, g.location, toJson(g.tags)],
        ),
      );
      return r ? toGroup(r) : null;
    },
    // A group keeps its name spelling and location (Azure cannot move a group); tags are replaced. Never an
    // insert: a group deleted meanwhile stays deleted (null), and its PUT creates it again, as a creation.
    update: async (g, audit) => {
      const r = await audited(audit, (db) =>
        one<Json<ResourceGroupRow, 'tags'>>(
          db,
          `UPDATE resource_groups SET tags = $1 WHERE subscription_id = $2 AND name_key = $3 AND location = $4 RETURNING ${GROUP}`,
          [toJson(g.tags), g.subscriptionId, nameKey(g.name), g.location],
        ),
      );
      return r ? toGroup(r) : null;
    },
    async get(subscriptionId, name) {
      const r = await one<Json<ResourceGroupRow, 'tags'>>(pool, `SELECT ${GROUP} FROM resource_groups WHERE subscription_id = $1 AND name_key = $2`, [
        subscriptionId,
        nameKey(name),
      ]);
      return r ? toGroup(r) : null;
    },
    list: async (subscriptionId) =>
      (await rows<Json<ResourceGroupRow, 'tags'>>(pool, `SELECT ${GROUP} FROM resource_groups WHERE subscription_id = $1 ORDER BY name_key`, [subscriptionId])).map(
        toGroup,
      ),
    // Soft-deleted vaults do not hold their group, as in Azure; recovering one needs the group again.
    // The group row is locked first, so a vault created concurrently waits or sees the group gone.
    delete: (subscriptionId, name, audit) =>
      audited(audit, async (c) => {
        const key = [subscriptionId, nameKey(name)];
        if (!(await one(c, 'SELECT 1 FROM resource_groups WHERE subscription_id = $1 AND name_key = $2 FOR UPDATE', key))) return false;
        const live = 'SELECT 1 FROM vaults WHERE subscription_id = $1 AND resource_group_key = $2 AND deleted_at IS NULL LIMIT 1';
        if (await one(c, live, key)) return false;
        return (await changes(c, 'DELETE FROM resource_groups WHERE subscription_id = $1 AND name_key = $2', key)) > 0;
      }, true),
  };
}

/** Removes a vault and every secret in it (the caller holds a transaction). */
async function purgeOne(c: Queryable, id: string): Promise<boolean> {
  await c.query('DELETE FROM secret_versions WHERE vault_id = $1', [id]);
  await c.query('DELETE FROM secrets WHERE vault_id = $1', [id]);
  return (await changes(c, 'DELETE FROM vaults WHERE id = $1', [id])) > 0;
}

/** Writes of the sealed columns (name, group, properties, the seal) and of the rows go through `sealed` (pg-authorization-digest.ts). */
export function pgVaultStore(pool: pg.Pool, plain: PgAuditedWrite, sealed: PgSealedWrites): VaultStore {
  const { audited, run } = sealed;
  const find = async (where: string, value: string) => {
    const r = await one<Json<VaultRow, 'tags' | 'properties'>>(pool, `SELECT ${VAULT} FROM vaults WHERE ${where} = $1`, [value]);
    return r ? toVault(r) : null;
  };
  const many = async (sql: string, params: unknown[]) => (await rows<Json<VaultRow, 'tags' | 'properties'>>(pool, sql, params)).map(toVault);
  return {
    // Only into a group that exists when the row goes in: the group row is share-locked, so a concurrent
    // delete of the group (which locks it for update first) either waits for this insert and then sees
    // the vault, or has removed the group and this insert stores nothing.
    insert: (v, audit) =>
      audited(audit, async (db) => {
        const r = await unique(`vault ${v.name}`, () =>
          db.query(
            `INSERT INTO vaults (id, name_key, name, subscription_id, resource_group, resource_group_key, location, tags, properties,
               created_by, created_at, updated_at, deleted_at, scheduled_purge_at, dek_wrapped, master_key_id, created_by_type, modified_by, modified_by_type, dek_generation, mac)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21
             WHERE EXISTS (SELECT 1 FROM resource_groups WHERE subscription_id = $4 AND name_key = $6 FOR SHARE)`,
            [v.id, nameKey(v.name), v.name, v.subscriptionId, v.resourceGroup, nameKey(v.resourceGroup), v.location, toJson(v.tags), toJson(v.properties),
              v.createdBy, v.createdAt, v.updatedAt, v.deletedAt, v.scheduledPurgeAt, v.dekWrapped, v.masterKeyId, v.createdByType, v.modifiedBy, v.modifiedByType, v.dekGeneration, v.mac ?? null],
          ),
        );
        return r.rowCount === 1;
      }),
    getByName: (name) => find('name_key', nameKey(name)),
    getById: (id) => find('id', id),
    list: (filter) =>
      many(
        `SELECT ${VAULT} FROM vaults WHERE deleted_at IS NULL
           AND ($1::text IS NULL OR subscription_id = $1) AND ($2::text IS NULL OR resource_group_key = $2)
         ORDER BY name_key`,
        [filter.subscriptionId ?? null, filter.resourceGroup === undefined ? null : nameKey(filter.resourceGroup)],
      ),
    listDeleted: (subscriptionId) => many(`SELECT ${VAULT} FROM vaults WHERE deleted_at IS NOT NULL AND subscription_id = $1 ORDER BY name_key`, [subscriptionId]),
    update: (id, patch, audit, unless) =>
      (patch.mac === undefined ? plain : audited)(audit, async (db) => 0 < (await changes(
        db,
        // Rows hold what toJson wrote, so the text compares exactly (see VaultStore.update).
        `UPDATE vaults SET tags = COALESCE($2, tags), properties = COALESCE($3, properties), updated_at = $4,
           modified_by = COALESCE($5, modified_by), modified_by_type = COALESCE($6, modified_by_type), mac = COALESCE($9, mac)
         WHERE id = $1 AND ($7::text IS NULL OR (tags = $7 AND properties = $8 AND deleted_at IS NULL))`,
        [id, patch.tags === undefined ? null : toJson(patch.tags), patch.properties === undefined ? null : toJson(patch.properties), patch.updatedAt, patch.modifiedBy ?? null, patch.modifiedByType ?? null,
          unless ? toJson(unless.tags) : null, unless ? toJson(unless.properties) : null, patch.mac ?? null],
      ))),
    // The deletion state is sealed (and journaled): the digest's transaction; with a new seal, only over the seal read.
    markDeleted: (id, deletedAt, scheduledPurgeAt, audit, seal) =>
      audited(audit, async (db) => 0 < (await changes(
        db,
        `UPDATE vaults SET deleted_at = $1, scheduled_purge_at = $2, mac = COALESCE($4, mac)
         WHERE id = $3 AND deleted_at IS NULL AND ($4::text IS NULL OR mac IS NOT DISTINCT FROM $5)`,
        [deletedAt, scheduledPurgeAt, id, seal?.mac ?? null, seal?.was.mac ?? null],
      ))),
    recover: (id, at, audit, seal) =>
      audited(audit, async (c) => {
        // As insert: the group is share-locked while the vault comes back into it.
        const inGroup = `SELECT 1 FROM resource_groups g JOIN vaults v ON g.subscription_id = v.subscription_id AND g.name_key = v.resource_group_key
          WHERE v.id = $1 FOR SHARE OF g`;
        if (!(await one(c, inGroup, [id]))) return false;
        const changed = await changes(
          c,
          `UPDATE vaults SET deleted_at = NULL, scheduled_purge_at = NULL, updated_at = $1, mac = COALESCE($3, mac)
           WHERE id = $2 AND deleted_at IS NOT NULL AND ($3::text IS NULL OR mac IS NOT DISTINCT FROM $4)`,
          [at, id, seal?.mac ?? null, seal?.was.mac ?? null],
        );
        // Recovered already (the change is as asked); a seal that moved on is a change since the caller read the row.
        return changed > 0 || seal?.mac === undefined;
      }, true),
    purge: (id, onlyDeleted = false, audit) =>
      audited(audit, async (c) => {
        // Locked, so that a recover cannot land between the check and the delete.
        if (onlyDeleted && !(await one(c, 'SELECT 1 FROM vaults WHERE id = $1 AND deleted_at IS NOT NULL FOR UPDATE', [id]))) return false;
        return purgeOne(c, id);
      }, true),
    purgeExpired: (now) =>
      run(async (c) => {
        const expired = await rows<{ id: string }>(c, 'SELECT id FROM vaults WHERE deleted_at IS NOT NULL AND scheduled_purge_at <= $1 FOR UPDATE', [now]);
        for (const { id } of expired) await purgeOne(c, id);
        return expired.map(({ id }) => id);
      }, true),
    async rewrapKey(k) {
      // Only the generation named: a key renewed meanwhile is not overwritten with its predecessor.
      const args = [k.dekWrapped, k.masterKeyId, k.id, k.generation];
      if ((await changes(pool, 'UPDATE vaults SET dek_wrapped = $1, master_key_id = $2 WHERE id = $3 AND dek_generation = $4', args)) > 0) return;
      await pool.query('UPDATE vault_earlier_keys SET dek_wrapped = $1, master_key_id = $2 WHERE vault_id = $3 AND generation = $4', args);
    },
    listKeys: () =>
      rows<WrappedDataKey & { current: boolean }>(
        pool,
        `SELECT id, dek_generation AS generation, dek_wrapped AS "dekWrapped", master_key_id AS "masterKeyId", true AS current FROM vaults
         UNION ALL SELECT vault_id, generation, dek_wrapped, master_key_id, false FROM vault_earlier_keys ORDER BY 1, 2, 5`,
      ),
    renewKey: (id, from, next) =>
      transaction(pool, async (c) => {
        // Locked: a concurrent renewal waits, then finds the generation moved on.
        if (!(await one(c, 'SELECT 1 FROM vaults WHERE id = $1 AND dek_generation = $2 FOR UPDATE', [id, from]))) return false;
        await c.query(
          'INSERT INTO vault_earlier_keys (vault_id, generation, dek_wrapped, master_key_id) SELECT id, dek_generation, dek_wrapped, master_key_id FROM vaults WHERE id = $1',
          [id],
        );
        await c.query('UPDATE vaults SET dek_wrapped = $1, master_key_id = $2, dek_generation = dek_generation + 1 WHERE id = $3', [next.dekWrapped, next.masterKeyId, id]);
        return true;
      }),
    earlierKey: (id, generation) =>
      one<WrappedDataKey>(
        pool,
        'SELECT vault_id AS id, generation, dek_wrapped AS "dekWrapped", master_key_id AS "masterKeyId" FROM vault_earlier_keys WHERE vault_id = $1 AND generation = $2',
        [id, generation],
      ),
    setMac: async (id, mac, expected = null) => 0 < (await run((db) => changes(db, 'UPDATE vaults SET mac = $1 WHERE id = $2 AND mac IS NOT DISTINCT FROM $3', [mac, id, expected]))),
  };
}
