import type Database from 'better-sqlite3';
import { AuditWriteError, StoreConflictError, type AuditRecord, type SecretStore, type SecretSummary, type SecretVersionMeta, type SecretVersionRow } from '../store-types.js';
import { asConflict, checkLimit, fromJson, nameKey, toFlag, toJson, toPage, unique } from './sqlite-support.js';
import type { ReadSnapshot } from './sqlite-read-snapshot.js';
import type { AuditedWrites } from './sqlite-audit-store.js';
import { WriterError, type NewVersionParams, type SqliteWriter, type WriterSql } from './sqlite-writer.js';
import { AUDIT_RECORD_REFUSED } from './sqlite-writer-worker.js';

// Secrets and their versions. `secrets` holds one row per name with the
// deletion state, the latest version's seq and its row id (latest_id), so
// reading the latest value is two primary-key lookups. A new version writes
// to one per-secret index only (the version ids'), see migration 4.
// Every version row carries the secret's canonical name: the spelling it was
// first created with.

type NewVersion = Omit<SecretVersionRow, 'seq'>;

// Version rows are read as arrays (better-sqlite3's raw mode): building an
// object per row, its property names looked up in V8's string table each
// time, was about a sixth of a GET's read (2-3 of its 18-22 % of the server
// thread under GET @64, in alternating profiled trials). The cells come in COLUMNS order, then what the
// statement adds.
type VersionCells = [
  vaultId: string,
  name: string,
  version: string,
  seq: number,
  contentType: string | null,
  tags: string | null,
  enabled: number,
  nbf: number | null,
  exp: number | null,
  created: number,
  updated: number,
];
type FullVersionCells = [...VersionCells, ciphertext: Buffer];
type SummaryCells = [...VersionCells, nameKey: string, deletedAt: number | null, scheduledPurgeAt: number | null];
interface SecretRecord {
  name: string;
  latest_seq: number;
  deleted_at: number | null;
}

/** In the order of VersionCells. */
const COLUMNS = ['vault_id', 'name', 'version', 'seq', 'content_type', 'tags', 'enabled', 'nbf', 'exp', 'created', 'updated'];
const META = COLUMNS.map((c) => `v.${c}`).join(', ');
const WITH_LATEST = 'secrets s JOIN secret_versions v ON v.id = s.latest_id';
const WITH_ALL = 'secrets s JOIN secret_versions v ON v.vault_id = s.vault_id AND v.name_key = s.name_key';

/** The statements of a new version; the writer thread runs them too (sqlite-writer.ts). */
export const SECRET_WRITE_SQL = {
  secretState: 'SELECT name, latest_seq, deleted_at FROM secrets WHERE vault_id = ? AND name_key = ?',
  createSecret: 'INSERT INTO secrets (vault_id, name_key, name, latest_seq) VALUES (?, ?, ?, ?)',
  pointLatest: 'UPDATE secrets SET latest_seq = ?, latest_id = ? WHERE vault_id = ? AND name_key = ?',
  addVersionRow: `INSERT INTO secret_versions (vault_id, name_key, version, seq, name, ciphertext, content_type, tags, enabled, nbf, exp, created, updated)
     VALUES (@vaultId, @nameKey, @version, @seq, @name, @ciphertext, @contentType, @tags, @enabled, @nbf, @exp, @created, @updated)`,
} satisfies Partial<WriterSql>;

/** The hot path (GET of a secret without version); exported for the query-plan test. */
export const LATEST_VERSION_SQL = `SELECT ${META}, v.ciphertext FROM ${WITH_LATEST} WHERE s.vault_id = ? AND s.name_key = ? AND s.deleted_at IS NULL`;

function toMeta(cells: VersionCells | FullVersionCells | SummaryCells): SecretVersionMeta {
  const [vaultId, name, version, seq, contentType, tags, enabled, nbf, exp, created, updated] = cells;
  return {
    vaultId,
    name,
    version,
    seq,
    contentType,
    tags: tags === null ? null : fromJson<Record<string, string>>(tags),
    enabled: enabled === 1,
    nbf,
    exp,
    created,
    updated,
  };
}

const toRow = (cells: FullVersionCells): SecretVersionRow => ({ ...toMeta(cells), ciphertext: cells[11] });

const toSummary = (cells: SummaryCells): SecretSummary => ({
  ...toMeta(cells),
  // The schema sets deleted_at and scheduled_purge_at together.
  deleted: cells[12] === null ? null : { deletedAt: cells[12], scheduledPurgeAt: cells[13] as number },
});
const summaryKey = (cells: SummaryCells) => cells[11];

const versionParams = (row: NewVersion, name: string): NewVersionParams => ({
  vaultId: row.vaultId,
  nameKey: nameKey(name),
  name,
  version: row.version,
  ciphertext: row.ciphertext,
  contentType: row.contentType,
  tags: row.tags === null ? null : toJson(row.tags),
  enabled: toFlag(row.enabled),
  nbf: row.nbf,
  exp: row.exp,
  created: row.created,
  updated: row.updated,
});

const versionWhat = (row: NewVersion) => `version ${row.version} of secret ${row.name}`;

/**
 * New versions are written by the writer thread (`writer`); single versions
 * are read through the shared read snapshot (`reads`), which every change
 * ends once it has settled; everything else runs on `db`.
 */
export function sqliteSecretStore(db: Database.Database, writer: SqliteWriter, reads: ReadSnapshot, audited: AuditedWrites): SecretStore {
  type Key = [vaultId: string, nameKey: string];
  const secretState = db.prepare<Key, SecretRecord>(SECRET_WRITE_SQL.secretState);
  const createSecret = db.prepare<[string, string, string, number]>(SECRET_WRITE_SQL.createSecret);
  const pointLatest = db.prepare<[number, number | bigint, ...Key]>(SECRET_WRITE_SQL.pointLatest);
  const addVersionRow = db.prepare<[NewVersionParams & { seq: number }]>(SECRET_WRITE_SQL.addVersionRow);
  const latest = reads.db.prepare<Key, FullVersionCells>(LATEST_VERSION_SQL).raw(true);
  const oneVersion = reads.db
    .prepare<[...Key, string], FullVersionCells>(
      `SELECT ${META}, v.ciphertext FROM ${WITH_ALL} WHERE s.vault_id = ? AND s.name_key = ? AND v.version = ? AND s.deleted_at IS NULL`,
    )
    .raw(true);
  const summary = db
    .prepare<Key, SummaryCells>(`SELECT ${META}, s.name_key, s.deleted_at, s.scheduled_purge_at FROM ${WITH_LATEST} WHERE s.vault_id = ? AND s.name_key = ?`)
    .raw(true);
  type PageParams = { vaultId: string; after: string; limit: number };
  const summaries = (deleted: boolean) =>
    db
      .prepare<PageParams, SummaryCells>(
        `SELECT ${META}, s.name_key, s.deleted_at, s.scheduled_purge_at FROM ${WITH_LATEST}
         WHERE s.vault_id = @vaultId AND s.deleted_at IS ${deleted ? 'NOT NULL' : 'NULL'} AND s.name_key > @after
         ORDER BY s.name_key LIMIT @limit`,
      )
      .raw(true);
  const livePage = summaries(false);
  const deletedPage = summaries(true);
  const versionPage = db
    .prepare<PageParams & { nameKey: string }, VersionCells>(
      `SELECT ${META} FROM ${WITH_ALL}
       WHERE s.vault_id = @vaultId AND s.name_key = @nameKey AND s.deleted_at IS NULL AND v.version > @after
       ORDER BY v.version LIMIT @limit`,
    )
    .raw(true);
  const allVersions = db
    .prepare<[...Key, number], FullVersionCells>(`SELECT ${META}, v.ciphertext FROM ${WITH_ALL} WHERE s.vault_id = ? AND s.name_key = ? AND s.deleted_at IS NULL ORDER BY v.seq LIMIT ?`)
    .raw(true);
  // Each field has a "set" flag so that one statement serves every patch shape.
  const patchVersion = db
    .prepare<[Record<string, unknown>], VersionCells>(
      `UPDATE secret_versions SET
       content_type = CASE WHEN @setContentType THEN @contentType ELSE content_type END,
       tags = CASE WHEN @setTags THEN @tags ELSE tags END,
       enabled = CASE WHEN @setEnabled THEN @enabled ELSE enabled END,
       nbf = CASE WHEN @setNbf THEN @nbf ELSE nbf END,
       exp = CASE WHEN @setExp THEN @exp ELSE exp END,
       updated = @updated
     WHERE vault_id = @vaultId AND name_key = @nameKey AND version = @version
       AND EXISTS (SELECT 1 FROM secrets s WHERE s.vault_id = @vaultId AND s.name_key = @nameKey AND s.deleted_at IS NULL)
     RETURNING ${COLUMNS.join(', ')}`,
    )
    .raw(true);
  const markDeleted = db.prepare<[number, number, ...Key]>(
    'UPDATE secrets SET deleted_at = ?, scheduled_purge_at = ? WHERE vault_id = ? AND name_key = ? AND deleted_at IS NULL',
  );
  const recover = db.prepare<Key>(
    'UPDATE secrets SET deleted_at = NULL, scheduled_purge_at = NULL WHERE vault_id = ? AND name_key = ? AND deleted_at IS NOT NULL',
  );
  const deleteVersions = db.prepare<Key>('DELETE FROM secret_versions WHERE vault_id = ? AND name_key = ?');
  const deleteSecret = db.prepare<Key>('DELETE FROM secrets WHERE vault_id = ? AND name_key = ?');
  const deleteExpiredVersions = db.prepare<[number]>(
    `DELETE FROM secret_versions WHERE (vault_id, name_key) IN
       (SELECT vault_id, name_key FROM secrets WHERE deleted_at IS NOT NULL AND scheduled_purge_at <= ?)`,
  );
  const deleteExpiredSecrets = db.prepare<[number]>('DELETE FROM secrets WHERE deleted_at IS NOT NULL AND scheduled_purge_at <= ?');
  const countVersions = db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM secret_versions WHERE vault_id = ?');

  /** Returns the new row's id. */
  function addVersion(row: NewVersion, name: string, seq: number): number | bigint {
    return unique(versionWhat({ ...row, name }), () => addVersionRow.run({ ...versionParams(row, name), seq })).lastInsertRowid;
  }

  // Concurrent new versions are committed together by the writer thread (one fsync for the batch).
  async function insertVersion(row: NewVersion, audit?: AuditRecord): Promise<SecretVersionRow> {
    let result;
    try {
      result = await writer.insertVersion(audit ? { ...versionParams(row, row.name), audit } : versionParams(row, row.name));
    } catch (err) {
      if (err instanceof WriterError && err.code === AUDIT_RECORD_REFUSED) throw new AuditWriteError(err.message);
      throw err instanceof WriterError ? (asConflict(versionWhat(row), err) ?? err) : err;
    } finally {
      reads.end();
    }
    if ('conflict' in result) throw new StoreConflictError('deleted', `secret ${row.name} is deleted but recoverable`);
    return { ...row, name: result.name, seq: result.seq };
  }

  const restore = db.transaction((vaultId: string, name: string, versions: NewVersion[]) => {
    if (versions.length === 0) throw new RangeError(`restore of secret ${name} has no versions`);
    const existing = secretState.get(vaultId, nameKey(name)) as { deleted_at: number | null } | undefined;
    if (existing) {
      throw existing.deleted_at === null
        ? new StoreConflictError('exists', `secret ${name} already exists`)
        : new StoreConflictError('deleted', `secret ${name} is deleted`);
    }
    createSecret.run(vaultId, nameKey(name), name, versions.length);
    const ids = versions.map((v, i) => addVersion({ ...v, vaultId }, name, i + 1));
    pointLatest.run(versions.length, ids.at(-1)!, vaultId, nameKey(name));
  });

  const isDeleted = db.prepare<Key, { one: number }>('SELECT 1 AS one FROM secrets WHERE vault_id = ? AND name_key = ? AND deleted_at IS NOT NULL');
  const purge = db.transaction((vaultId: string, key: string, onlyDeleted: boolean): boolean => {
    if (onlyDeleted && !isDeleted.get(vaultId, key)) return false;
    deleteVersions.run(vaultId, key);
    return deleteSecret.run(vaultId, key).changes > 0;
  });

  const purgeExpired = db.transaction((now: number): number => {
    deleteExpiredVersions.run(now);
    return deleteExpiredSecrets.run(now).changes;
  });

  return {
    insertVersion,
    async getVersion(vaultId, name, version) {
      const key = nameKey(name);
      const r = reads.read(() => (version === null ? latest.get(vaultId, key) : oneVersion.get(vaultId, key, version)));
      return r ? toRow(r) : null;
    },
    async getSummary(vaultId, name) {
      const r = summary.get(vaultId, nameKey(name));
      return r ? toSummary(r) : null;
    },
    async list(vaultId, limit, after) {
      checkLimit(limit);
      return toPage(livePage.all({ vaultId, after: after ?? '', limit: limit + 1 }), limit, toSummary, summaryKey);
    },
    async listDeleted(vaultId, limit, after) {
      checkLimit(limit);
      return toPage(deletedPage.all({ vaultId, after: after ?? '', limit: limit + 1 }), limit, toSummary, summaryKey);
    },
    async listVersions(vaultId, name, limit, after) {
      checkLimit(limit);
      const rows = versionPage.all({ vaultId, nameKey: nameKey(name), after: after ?? '', limit: limit + 1 });
      return toPage(rows, limit, toMeta, (cells) => cells[2]);
    },
    async updateVersion(vaultId, name, version, patch, audit) {
      const r = reads.afterChange(() => audited.run(audit, () => patchVersion.get({
        vaultId,
        nameKey: nameKey(name),
        version,
        setContentType: toFlag(patch.contentType !== undefined),
        contentType: patch.contentType ?? null,
        setTags: toFlag(patch.tags !== undefined),
        tags: patch.tags ? toJson(patch.tags) : null,
        setEnabled: toFlag(patch.enabled !== undefined),
        enabled: toFlag(patch.enabled ?? false),
        setNbf: toFlag(patch.nbf !== undefined),
        nbf: patch.nbf ?? null,
        setExp: toFlag(patch.exp !== undefined),
        exp: patch.exp ?? null,
        updated: patch.updated,
      }) ?? null));
      return r ? toMeta(r) : null;
    },
    markDeleted: async (vaultId, name, info, audit) =>
      reads.afterChange(() => audited.run(audit, () => markDeleted.run(info.deletedAt, info.scheduledPurgeAt, vaultId, nameKey(name)).changes > 0)),
    recover: async (vaultId, name, audit) => reads.afterChange(() => audited.run(audit, () => recover.run(vaultId, nameKey(name)).changes > 0)),
    purge: async (vaultId, name, onlyDeleted = false, audit) => reads.afterChange(() => audited.run(audit, () => purge.immediate(vaultId, nameKey(name), onlyDeleted))),
    purgeExpired: async (now) => reads.afterChange(() => purgeExpired.immediate(now)),
    // SQLite: a negative LIMIT is no limit.
    allVersions: async (vaultId, name, limit) => allVersions.all(vaultId, nameKey(name), limit ?? -1).map(toRow),
    restore: async (vaultId, name, versions, audit) =>
      reads.afterChange(() => audited.run(audit, () => unique(`secret ${name}`, () => restore.immediate(vaultId, name, versions)))),
    countVersions: async (vaultId) => countVersions.get(vaultId)?.n ?? 0,
  };
}
