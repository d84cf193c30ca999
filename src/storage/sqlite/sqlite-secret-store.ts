import type Database from 'better-sqlite3';
import { StoreConflictError, type SecretStore, type SecretSummary, type SecretVersionMeta, type SecretVersionRow } from '../store-types.js';

// Secrets and their versions. `secrets.latest_seq` points at the latest
// version, so reading the latest value is one indexed join.

const VERSION_COLUMNS = 'v.vault_id, s.name, v.version, v.seq, v.content_type, v.tags, v.enabled, v.nbf, v.exp, v.created, v.updated';

function asMeta(r: Record<string, unknown>): SecretVersionMeta {
  return {
    vaultId: r.vault_id as string,
    name: r.name as string,
    version: r.version as string,
    seq: r.seq as number,
    contentType: (r.content_type as string | null) ?? null,
    tags: r.tags === null ? null : (JSON.parse(r.tags as string) as Record<string, string>),
    enabled: r.enabled === 1,
    nbf: (r.nbf as number | null) ?? null,
    exp: (r.exp as number | null) ?? null,
    created: r.created as number,
    updated: r.updated as number,
  };
}

const asRow = (r: Record<string, unknown>): SecretVersionRow => ({ ...asMeta(r), ciphertext: r.ciphertext as Buffer });

function asSummary(r: Record<string, unknown>): SecretSummary {
  return {
    ...asMeta(r),
    deleted: r.deleted_at === null ? null : { deletedAt: r.deleted_at as number, scheduledPurgeAt: r.scheduled_purge_at as number },
  };
}

type Params = Record<string, unknown>;

export function sqliteSecrets(db: Database.Database): SecretStore {
  const secretRow = db.prepare('SELECT latest_seq, deleted_at FROM secrets WHERE vault_id = ? AND name_key = ?');
  const insertSecret = db.prepare('INSERT INTO secrets (vault_id, name_key, name, latest_seq) VALUES (?, ?, ?, ?)');
  const bumpLatest = db.prepare('UPDATE secrets SET latest_seq = ? WHERE vault_id = ? AND name_key = ?');
  const insertVersion = db.prepare(
    `INSERT INTO secret_versions (vault_id, name_key, version, seq, name, ciphertext, content_type, tags, enabled, nbf, exp, created, updated)
     VALUES (@vaultId, @nameKey, @version, @seq, @name, @ciphertext, @contentType, @tags, @enabled, @nbf, @exp, @created, @updated)`,
  );
  const latest = db.prepare(
    `SELECT ${VERSION_COLUMNS}, v.ciphertext FROM secrets s JOIN secret_versions v
       ON v.vault_id = s.vault_id AND v.name_key = s.name_key AND v.seq = s.latest_seq
     WHERE s.vault_id = ? AND s.name_key = ? AND s.deleted_at IS NULL`,
  );
  const byVersion = db.prepare(
    `SELECT ${VERSION_COLUMNS}, v.ciphertext FROM secrets s JOIN secret_versions v ON v.vault_id = s.vault_id AND v.name_key = s.name_key
     WHERE s.vault_id = ? AND s.name_key = ? AND v.version = ? AND s.deleted_at IS NULL`,
  );
  const summary = db.prepare(
    `SELECT ${VERSION_COLUMNS}, s.deleted_at, s.scheduled_purge_at FROM secrets s JOIN secret_versions v
       ON v.vault_id = s.vault_id AND v.name_key = s.name_key AND v.seq = s.latest_seq
     WHERE s.vault_id = ? AND s.name_key = ?`,
  );
  const page = (deleted: boolean) =>
    db.prepare(
      `SELECT ${VERSION_COLUMNS}, s.name_key, s.deleted_at, s.scheduled_purge_at FROM secrets s JOIN secret_versions v
         ON v.vault_id = s.vault_id AND v.name_key = s.name_key AND v.seq = s.latest_seq
       WHERE s.vault_id = @vaultId AND s.deleted_at IS ${deleted ? 'NOT NULL' : 'NULL'} AND s.name_key > @after
       ORDER BY s.name_key LIMIT @limit`,
    );
  const livePage = page(false);
  const deletedPage = page(true);
  const versionsPage = db.prepare(
    `SELECT ${VERSION_COLUMNS} FROM secrets s JOIN secret_versions v ON v.vault_id = s.vault_id AND v.name_key = s.name_key
     WHERE s.vault_id = @vaultId AND s.name_key = @nameKey AND s.deleted_at IS NULL AND v.version > @after
     ORDER BY v.version LIMIT @limit`,
  );
  const updateVersion = db.prepare(
    `UPDATE secret_versions SET
       content_type = CASE WHEN @setContentType THEN @contentType ELSE content_type END,
       tags = CASE WHEN @setTags THEN @tags ELSE tags END,
       enabled = COALESCE(@enabled, enabled),
       nbf = CASE WHEN @setNbf THEN @nbf ELSE nbf END,
       exp = CASE WHEN @setExp THEN @exp ELSE exp END,
       updated = @updated
     WHERE vault_id = @vaultId AND name_key = @nameKey AND version = @version
       AND EXISTS (SELECT 1 FROM secrets s WHERE s.vault_id = @vaultId AND s.name_key = @nameKey AND s.deleted_at IS NULL)`,
  );
  const markDeleted = db.prepare('UPDATE secrets SET deleted_at = ?, scheduled_purge_at = ? WHERE vault_id = ? AND name_key = ? AND deleted_at IS NULL');
  const recover = db.prepare('UPDATE secrets SET deleted_at = NULL, scheduled_purge_at = NULL WHERE vault_id = ? AND name_key = ? AND deleted_at IS NOT NULL');
  const purge = db.prepare('DELETE FROM secrets WHERE vault_id = ? AND name_key = ?');
  const expired = db.prepare('DELETE FROM secrets WHERE deleted_at IS NOT NULL AND scheduled_purge_at <= ?');
  const allVersions = db.prepare(
    `SELECT ${VERSION_COLUMNS}, v.ciphertext FROM secrets s JOIN secret_versions v ON v.vault_id = s.vault_id AND v.name_key = s.name_key
     WHERE s.vault_id = ? AND s.name_key = ? AND s.deleted_at IS NULL ORDER BY v.seq`,
  );
  const count = db.prepare('SELECT COUNT(*) AS n FROM secret_versions WHERE vault_id = ?');

  const addVersion = (row: Omit<SecretVersionRow, 'seq'>, seq: number) =>
    insertVersion.run({
      ...row,
      nameKey: row.name.toLowerCase(),
      seq,
      tags: row.tags === null ? null : JSON.stringify(row.tags),
      enabled: row.enabled ? 1 : 0,
    });

  const insertTx = db.transaction((row: Omit<SecretVersionRow, 'seq'>): number => {
    const key = row.name.toLowerCase();
    const existing = secretRow.get(row.vaultId, key) as { latest_seq: number; deleted_at: number | null } | undefined;
    if (existing?.deleted_at != null) throw new StoreConflictError('deleted', `secret ${row.name} is deleted`);
    const seq = (existing?.latest_seq ?? 0) + 1;
    if (existing) bumpLatest.run(seq, row.vaultId, key);
    else insertSecret.run(row.vaultId, key, row.name, seq);
    addVersion(row, seq);
    return seq;
  });

  const restoreTx = db.transaction((vaultId: string, name: string, versions: Array<Omit<SecretVersionRow, 'seq'>>) => {
    const key = name.toLowerCase();
    if (secretRow.get(vaultId, key)) throw new StoreConflictError('exists', `secret ${name} exists`);
    insertSecret.run(vaultId, key, name, versions.length);
    versions.forEach((v, i) => addVersion({ ...v, vaultId, name }, i + 1));
  });

  function paged<T>(rows: Array<Record<string, unknown>>, limit: number, map: (r: Record<string, unknown>) => T, cursor: (r: Record<string, unknown>) => string) {
    const more = rows.length > limit;
    const items = rows.slice(0, limit);
    return { items: items.map(map), next: more ? cursor(items[items.length - 1]!) : null };
  }

  return {
    insertVersion: async (row) => {
      const seq = insertTx(row);
      return { ...row, seq, name: (summary.get(row.vaultId, row.name.toLowerCase()) as { name: string }).name };
    },
    getVersion: async (vaultId, name, version) => {
      const r = (version === null ? latest.get(vaultId, name.toLowerCase()) : byVersion.get(vaultId, name.toLowerCase(), version.toLowerCase())) as Params | undefined;
      return r ? asRow(r) : null;
    },
    getSummary: async (vaultId, name) => {
      const r = summary.get(vaultId, name.toLowerCase()) as Params | undefined;
      return r ? asSummary(r) : null;
    },
    list: async (vaultId, limit, after) =>
      paged(livePage.all({ vaultId, after: after ?? '', limit: limit + 1 }) as Params[], limit, asSummary, (r) => r.name_key as string),
    listDeleted: async (vaultId, limit, after) =>
      paged(deletedPage.all({ vaultId, after: after ?? '', limit: limit + 1 }) as Params[], limit, asSummary, (r) => r.name_key as string),
    listVersions: async (vaultId, name, limit, after) =>
      paged(versionsPage.all({ vaultId, nameKey: name.toLowerCase(), after: after ?? '', limit: limit + 1 }) as Params[], limit, asMeta, (r) => r.version as string),
    updateVersion: async (vaultId, name, version, patch) => {
      const changed = updateVersion.run({
        vaultId,
        nameKey: name.toLowerCase(),
        version: version.toLowerCase(),
        setContentType: patch.contentType !== undefined ? 1 : 0,
        contentType: patch.contentType ?? null,
        setTags: patch.tags !== undefined ? 1 : 0,
        tags: patch.tags == null ? null : JSON.stringify(patch.tags),
        enabled: patch.enabled === undefined ? null : patch.enabled ? 1 : 0,
        setNbf: patch.nbf !== undefined ? 1 : 0,
        nbf: patch.nbf ?? null,
        setExp: patch.exp !== undefined ? 1 : 0,
        exp: patch.exp ?? null,
        updated: patch.updated,
      }).changes;
      if (changed === 0) return null;
      const r = byVersion.get(vaultId, name.toLowerCase(), version.toLowerCase()) as Params;
      const { ciphertext: _c, ...meta } = asRow(r);
      return meta;
    },
    markDeleted: async (vaultId, name, info) => markDeleted.run(info.deletedAt, info.scheduledPurgeAt, vaultId, name.toLowerCase()).changes > 0,
    recover: async (vaultId, name) => recover.run(vaultId, name.toLowerCase()).changes > 0,
    purge: async (vaultId, name) => purge.run(vaultId, name.toLowerCase()).changes > 0,
    purgeExpired: async (now) => expired.run(now).changes,
    allVersions: async (vaultId, name) => (allVersions.all(vaultId, name.toLowerCase()) as Params[]).map(asRow),
    restore: async (vaultId, name, versions) => restoreTx(vaultId, name, versions),
    countVersions: async (vaultId) => (count.get(vaultId) as { n: number }).n,
  };
}
