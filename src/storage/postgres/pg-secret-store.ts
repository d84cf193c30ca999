import type pg from 'pg';
import { StoreConflictError, type SecretStore, type SecretSummary, type SecretVersionMeta, type SecretVersionRow } from '../store-types.js';
import { changes, checkLimit, fromJson, nameKey, one, rows, toJson, toPage, transaction, unique, type PreparedSql, type Queryable } from './pg-support.js';
import type { PgWriter } from './pg-writer.js';
import type { PgAuditedWrite } from './pg-audit-store.js';

// Secrets and their versions, with the SQLite store's layout: `secrets` holds
// one row per name with the deletion state and a pointer (latest_seq) to the
// latest version. Every version row carries the secret's canonical name: the
// spelling it was first created with.

type NewVersion = Omit<SecretVersionRow, 'seq'>;
type MetaRecord = Omit<SecretVersionMeta, 'tags'> & { tags: string | null };
type FullRecord = MetaRecord & { ciphertext: Buffer };
type SummaryRecord = MetaRecord & { nameKey: string; deletedAt: number | null; scheduledPurgeAt: number | null };

const META = `v.vault_id AS "vaultId", v.name, v.version, v.seq, v.content_type AS "contentType", v.tags, v.enabled, v.nbf, v.exp, v.created, v.updated`;
const FULL = `${META}, v.ciphertext`;
const SUMMARY = `${META}, s.name_key AS "nameKey", s.deleted_at AS "deletedAt", s.scheduled_purge_at AS "scheduledPurgeAt"`;
const WITH_LATEST = 'secrets s JOIN secret_versions v ON v.vault_id = s.vault_id AND v.name_key = s.name_key AND v.seq = s.latest_seq';
const WITH_ALL = 'secrets s JOIN secret_versions v ON v.vault_id = s.vault_id AND v.name_key = s.name_key';

// The GET path's reads, prepared once per connection.
const GET_LATEST: PreparedSql = {
  name: 'coffer-secret-latest',
  text: `SELECT ${FULL} FROM ${WITH_LATEST} WHERE s.vault_id = $1 AND s.name_key = $2 AND s.deleted_at IS NULL`,
};
const GET_VERSION: PreparedSql = {
  name: 'coffer-secret-version',
  text: `SELECT ${FULL} FROM ${WITH_ALL} WHERE s.vault_id = $1 AND s.name_key = $2 AND v.version = $3 AND s.deleted_at IS NULL`,
};

const toMeta = ({ tags, ...r }: MetaRecord): SecretVersionMeta => ({ ...r, tags: tags === null ? null : fromJson<Record<string, string>>(tags) });
const toRow = ({ ciphertext, ...r }: FullRecord): SecretVersionRow => ({ ...toMeta(r), ciphertext });
// The schema sets deleted_at and scheduled_purge_at together.
const toSummary = ({ nameKey: _key, deletedAt, scheduledPurgeAt, ...r }: SummaryRecord): SecretSummary => ({
  ...toMeta(r),
  deleted: deletedAt === null ? null : { deletedAt, scheduledPurgeAt: scheduledPurgeAt as number },
});

const versionWhat = (row: NewVersion) => `version ${row.version} of secret ${row.name}`;

async function addVersionRow(c: Queryable, row: NewVersion, name: string, seq: number): Promise<void> {
  await unique(versionWhat({ ...row, name }), () =>
    c.query(
      `INSERT INTO secret_versions (vault_id, name_key, version, seq, name, ciphertext, content_type, tags, enabled, nbf, exp, created, updated)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [row.vaultId, nameKey(name), row.version, seq, name, row.ciphertext, row.contentType, row.tags === null ? null : toJson(row.tags),
        row.enabled, row.nbf, row.exp, row.created, row.updated],
    ),
  );
}

export function pgSecretStore(pool: pg.Pool, writer: PgWriter, audited: PgAuditedWrite): SecretStore {
  const full = async (sql: PreparedSql, params: unknown[]) => {
    const r = await one<FullRecord>(pool, sql, params);
    return r ? toRow(r) : null;
  };
  const summaryPage = async (deleted: boolean, vaultId: string, limit: number, after: string | null) => {
    checkLimit(limit);
    const found = await rows<SummaryRecord>(
      pool,
      `SELECT ${SUMMARY} FROM ${WITH_LATEST}
       WHERE s.vault_id = $1 AND s.deleted_at IS ${deleted ? 'NOT NULL' : 'NULL'} AND s.name_key > $2
       ORDER BY s.name_key LIMIT $3`,
      [vaultId, after ?? '', limit + 1],
    );
    return toPage(found, limit, toSummary, (r) => r.nameKey);
  };


  return {
    // Group-committed with other writes (pg-writer.ts); the record, if any, commits with the version.
    insertVersion: async (row, audit) => ({ ...row, ...(await writer.insertVersion(row, audit)) }),
    getVersion: (vaultId, name, version) =>
      version === null
        ? full(GET_LATEST, [vaultId, nameKey(name)])
        : full(GET_VERSION, [
            vaultId,
            nameKey(name),
            version,
          ]),
    async getSummary(vaultId, name) {
      const r = await one<SummaryRecord>(pool, `SELECT ${SUMMARY} FROM ${WITH_LATEST} WHERE s.vault_id = $1 AND s.name_key = $2`, [vaultId, nameKey(name)]);
      return r ? toSummary(r) : null;
    },
    list: (vaultId, limit, after) => summaryPage(false, vaultId, limit, after),
    listDeleted: (vaultId, limit, after) => summaryPage(true, vaultId, limit, after),
    async listVersions(vaultId, name, limit, after) {
      checkLimit(limit);
      const found = await rows<MetaRecord>(
        pool,
        `SELECT ${META} FROM ${WITH_ALL}
         WHERE s.vault_id = $1 AND s.name_key = $2 AND s.deleted_at IS NULL AND v.version > $3
         ORDER BY v.version LIMIT $4`,
        [vaultId, nameKey(name), after ?? '', limit + 1],
      );
      return toPage(found, limit, toMeta, (r) => r.version);
    },
    async updateVersion(vaultId, name, version, patch, audit) {
      // Each field has a "set" flag so that one statement serves every patch shape.
      const r = await audited(audit, (db) => one<MetaRecord>(
        db,
        `UPDATE secret_versions v SET
           content_type = CASE WHEN $4 THEN $5 ELSE v.content_type END,
           tags = CASE WHEN $6 THEN $7 ELSE v.tags END,
           enabled = CASE WHEN $8 THEN $9 ELSE v.enabled END,
           nbf = CASE WHEN $10 THEN $11::bigint ELSE v.nbf END,
           exp = CASE WHEN $12 THEN $13::bigint ELSE v.exp END,
           updated = $14
         WHERE v.vault_id = $1 AND v.name_key = $2 AND v.version = $3
           AND EXISTS (SELECT 1 FROM secrets s WHERE s.vault_id = $1 AND s.name_key = $2 AND s.deleted_at IS NULL)
         RETURNING ${META}`,
        [vaultId, nameKey(name), version,
          patch.contentType !== undefined, patch.contentType ?? null,
          patch.tags !== undefined, patch.tags ? toJson(patch.tags) : null,
          patch.enabled !== undefined, patch.enabled ?? false,
          patch.nbf !== undefined, patch.nbf ?? null,
          patch.exp !== undefined, patch.exp ?? null,
          patch.updated],
      ));
      return r ? toMeta(r) : null;
    },
    markDeleted: (vaultId, name, info, audit) =>
      audited(audit, async (db) => (await changes(db, 'UPDATE secrets SET deleted_at = $1, scheduled_purge_at = $2 WHERE vault_id = $3 AND name_key = $4 AND deleted_at IS NULL', [
        info.deletedAt,
        info.scheduledPurgeAt,
        vaultId,
        nameKey(name),
      ])) > 0),
    recover: (vaultId, name, audit) =>
      audited(audit, async (db) => (await changes(db, 'UPDATE secrets SET deleted_at = NULL, scheduled_purge_at = NULL WHERE vault_id = $1 AND name_key = $2 AND deleted_at IS NOT NULL', [
        vaultId,
        nameKey(name),
      ])) > 0),
    purge: (vaultId, name, onlyDeleted = false, audit) =>
      audited(audit, async (c) => {
        const isDeleted = 'SELECT 1 FROM secrets WHERE vault_id = $1 AND name_key = $2 AND deleted_at IS NOT NULL FOR UPDATE';
        if (onlyDeleted && !(await one(c, isDeleted, [vaultId, nameKey(name)]))) return false;
        await c.query('DELETE FROM secret_versions WHERE vault_id = $1 AND name_key = $2', [vaultId, nameKey(name)]);
        return (await changes(c, 'DELETE FROM secrets WHERE vault_id = $1 AND name_key = $2', [vaultId, nameKey(name)])) > 0;
      }, true),
    purgeExpired: (now) =>
      transaction(pool, async (c) => {
        await c.query(
          `DELETE FROM secret_versions WHERE (vault_id, name_key) IN
             (SELECT vault_id, name_key FROM secrets WHERE deleted_at IS NOT NULL AND scheduled_purge_at <= $1)`,
          [now],
        );
        return changes(c, 'DELETE FROM secrets WHERE deleted_at IS NOT NULL AND scheduled_purge_at <= $1', [now]);
      }),
    // PostgreSQL: LIMIT NULL is no limit.
    allVersions: async (vaultId, name, limit) =>
      (await rows<FullRecord>(pool, `SELECT ${FULL} FROM ${WITH_ALL} WHERE s.vault_id = $1 AND s.name_key = $2 AND s.deleted_at IS NULL ORDER BY v.seq LIMIT $3`, [
        vaultId,
        nameKey(name),
        limit ?? null,
      ])).map(toRow),
    restore: (vaultId, name, versions, audit) =>
      audited(audit, async (c) => {
        if (versions.length === 0) throw new RangeError(`restore of secret ${name} has no versions`);
        const existing = await one<{ deletedAt: number | null }>(c, 'SELECT deleted_at AS "deletedAt" FROM secrets WHERE vault_id = $1 AND name_key = $2', [
          vaultId,
          nameKey(name),
        ]);
        if (existing) {
          throw existing.deletedAt === null
            ? new StoreConflictError('exists', `secret ${name} already exists`)
            : new StoreConflictError('deleted', `secret ${name} is deleted`);
        }
        // A concurrent restore or first write of the same name hits the primary key: a conflict, as in SQLite.
        await unique(`secret ${name}`, () =>
          c.query('INSERT INTO secrets (vault_id, name_key, name, latest_seq) VALUES ($1, $2, $3, $4)', [vaultId, nameKey(name), name, versions.length]),
        );
        for (const [i, v] of versions.entries()) await addVersionRow(c, { ...v, vaultId }, name, i + 1);
      }, true),
    countVersions: async (vaultId) => (await one<{ n: number }>(pool, 'SELECT COUNT(*) AS n FROM secret_versions WHERE vault_id = $1', [vaultId]))?.n ?? 0,
  };
}
