import type pg from 'pg';
import type { ClientSecretRow, KeyCredentialChange, KeyCredentialRow, PrincipalRow, PrincipalStore, RefreshTokenStore, SettingsStore, SigningKeyStore } from '../store-types.js';
import { REFRESH_TOKENS_PER_USER_AND_CLIENT, StoreParentGoneError, USED_REFRESH_TOKEN_KEPT_SECONDS } from '../store-types.js';
import type { PgAuditedWrite } from './pg-audit-store.js';
import type { PgSealedWrites } from './pg-authorization-digest.js';
import { keysChanged, sameKeyIds } from '../store-support.js';
import { pgFederatedCredentials } from './pg-federated-credentials.js';
import { changes, nameKey, one, rows, transaction, unique, type Queryable } from './pg-support.js';

// Deployment settings, principals with their client secrets, token signing
// keys and refresh tokens. Columns are selected under their row field names,
// so rows need no mapping.

const PRINCIPAL = `object_id AS "objectId", kind, display_name AS "displayName", app_id AS "appId", upn,
  password_hash AS "passwordHash", mail_nickname AS "mailNickname", created_at AS "createdAt", password_generation AS "passwordGeneration"`;
const CLIENT_SECRET = `key_id AS "keyId", object_id AS "objectId", secret_hash AS "secretHash", hint,
  display_name AS "displayName", start_at AS "startAt", end_at AS "endAt"`;
const KEY_CREDENTIAL = `key_id AS "keyId", object_id AS "objectId", certificate, thumbprint_sha1 AS "thumbprintSha1",
  thumbprint_sha256 AS "thumbprintSha256", display_name AS "displayName", start_at AS "startAt", end_at AS "endAt", mac`;
const SIGNING_KEY = `kid, public_jwk AS "publicJwk", private_sealed AS "privateSealed", master_key_id AS "masterKeyId",
  created_at AS "createdAt", retired_at AS "retiredAt"`;
const REFRESH_TOKEN = `token_hash AS "tokenHash", object_id AS "objectId", client_id AS "clientId", scope, expires_at AS "expiresAt", family_id AS "familyId",
  password_generation AS "passwordGeneration"`;

const UPSERT_SETTING = 'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key)';

export function pgSettingsStore(pool: pg.Pool): SettingsStore {
  const get = async (key: string) => (await one<{ value: string }>(pool, 'SELECT value FROM settings WHERE key = $1', [key]))?.value ?? null;
  return {
    get,
    async setIfAbsent(key, value, alongside = {}) {
      if (Object.keys(alongside).length === 0) {
        // The no-op update locks and returns the row whether it was inserted or already there.
        const r = await one<{ value: string }>(pool, `${UPSERT_SETTING} DO UPDATE SET value = settings.value RETURNING value`, [key, value]);
        return r!.value;
      }
      return transaction(pool, async (c) => {
        const inserted = await one<{ value: string }>(c, `${UPSERT_SETTING} DO NOTHING RETURNING value`, [key, value]);
        if (!inserted) return (await one<{ value: string }>(c, 'SELECT value FROM settings WHERE key = $1', [key]))!.value;
        for (const [k, v] of Object.entries(alongside)) await c.query(`${UPSERT_SETTING} DO UPDATE SET value = excluded.value`, [k, v]);
        return value;
      });
    },
    async set(key, value) {
      await pool.query(`${UPSERT_SETTING} DO UPDATE SET value = excluded.value`, [key, value]);
    },
    async replace(key, expected, value) {
      return ((await pool.query('UPDATE settings SET value = $1 WHERE key = $2 AND value = $3', [value, key, expected])).rowCount ?? 0) === 1;
    },
  };
}

async function storeSecret(db: Queryable, s: ClientSecretRow): Promise<void> {
  await unique(`client secret ${s.keyId}`, () =>
    db.query(
      'INSERT INTO client_secrets (key_id, object_id, secret_hash, hint, display_name, start_at, end_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [s.keyId, s.objectId, s.secretHash, s.hint, s.displayName, s.startAt, s.endAt],
    ),
  );
}

async function changeKeys(db: Queryable, objectId: string, change: KeyCredentialChange): Promise<void> {
  // Locks the principal for the transaction: a delete racing this one waits, or has already removed it, and so
  // does another change of its key credentials (each checks what it was planned from once it holds the lock).
  if (!(await one(db, 'SELECT 1 FROM principals WHERE object_id = $1 FOR UPDATE', [objectId]))) {
    throw new StoreParentGoneError(`key credentials of ${objectId}: its parent no longer exists`);
  }
  if (change.expected) {
    const stored = (await rows<{ k: string }>(db, 'SELECT key_id AS k FROM key_credentials WHERE object_id = $1', [objectId])).map((r) => r.k);
    if (!sameKeyIds(stored, change.expected)) throw keysChanged(objectId);
  }
  for (const keyId of change.remove) await db.query('DELETE FROM key_credentials WHERE object_id = $1 AND key_id = $2', [objectId, keyId]);
  for (const k of change.add) {
    await unique(`key credential ${k.keyId}`, () =>
      db.query(
        `INSERT INTO key_credentials (key_id, object_id, certificate, thumbprint_sha1, thumbprint_sha256, display_name, start_at, end_at, mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [k.keyId, objectId, k.certificate, k.thumbprintSha1, k.thumbprintSha256, k.displayName, k.startAt, k.endAt, k.mac],
      ),
    );
  }
}

/** Writes of key credentials, and deletes (memberships and certificates go with a principal), go through `sealed` (pg-authorization-digest.ts). */
export function pgPrincipalStore(pool: pg.Pool, audited: PgAuditedWrite, sealed: PgSealedWrites): PrincipalStore {
  const find = (where: string, value: string) => one<PrincipalRow>(pool, `SELECT ${PRINCIPAL} FROM principals WHERE ${where} = $1`, [value]);
  return {
    ...pgFederatedCredentials(pool, sealed),
    async insert(p, audit, firstSecret, firstKeys) {
      // appIds are GUIDs and UPNs are e-mail-like: both compare case-insensitively in Entra ID.
      const appIdKey = p.appId === null ? null : nameKey(p.appId);
      const upnKey = p.upn === null ? null : nameKey(p.upn);
      // The principal and its first secret together, in a transaction of their own even without a record.
      await (firstKeys?.length ? sealed.audited : audited)(
        audit,
        async (db) => {
          await unique(`principal ${p.objectId}`, () =>
            db.query(
              `INSERT INTO principals (object_id, kind, display_name, app_id, app_id_key, upn, upn_key, password_hash, mail_nickname, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
              [p.objectId, p.kind, p.displayName, p.appId, appIdKey, p.upn, upnKey, p.passwordHash, p.mailNickname, p.createdAt],
            ),
          );
          if (firstSecret) await storeSecret(db, firstSecret);
          if (firstKeys?.length) await changeKeys(db, p.objectId, { add: firstKeys, remove: [] });
        },
        firstSecret !== undefined || (firstKeys?.length ?? 0) > 0,
      );
    },
    get: (objectId) => find('object_id', objectId),
    getByAppId: (appId) => find('app_id_key', nameKey(appId)),
    getByUpn: (upn) => find('upn_key', nameKey(upn)),
    list: (kind) =>
      rows<PrincipalRow>(pool, `SELECT ${PRINCIPAL} FROM principals WHERE $1::text IS NULL OR kind = $1 ORDER BY created_at, object_id`, [kind ?? null]),
    delete: (objectId, audit) =>
      sealed.audited(
        audit,
        async (c) => {
          await c.query('DELETE FROM client_secrets WHERE object_id = $1', [objectId]);
          await c.query('DELETE FROM key_credentials WHERE object_id = $1', [objectId]);
          await c.query('DELETE FROM federated_credentials WHERE object_id = $1', [objectId]);
          return (await changes(c, 'DELETE FROM principals WHERE object_id = $1', [objectId])) > 0;
        },
        true,
      ),
    async addClientSecret(s, audit) {
      await audited(audit, (db) => storeSecret(db, s));
    },
    listClientSecrets: (objectId) => rows(pool, `SELECT ${CLIENT_SECRET} FROM client_secrets WHERE object_id = $1 ORDER BY start_at, key_id`, [objectId]),
    removeClientSecret: (objectId, keyId, audit) =>
      audited(audit, async (db) => (await changes(db, 'DELETE FROM client_secrets WHERE object_id = $1 AND key_id = $2', [objectId, keyId])) > 0),
    listKeyCredentials: (objectId) => rows<KeyCredentialRow>(pool, `SELECT ${KEY_CREDENTIAL} FROM key_credentials WHERE object_id = $1 ORDER BY start_at, key_id`, [objectId]),
    allKeyCredentials: () => rows<KeyCredentialRow>(pool, `SELECT ${KEY_CREDENTIAL} FROM key_credentials ORDER BY object_id, start_at, key_id`),
    changeKeyCredentials: (objectId, change, audit) => sealed.audited(audit, (db) => changeKeys(db, objectId, change), true),
    setKeyCredentialMac: async (keyId, mac, was) =>
      (await sealed.run((db) => changes(db, 'UPDATE key_credentials SET mac = $1 WHERE key_id = $2 AND mac IS NOT DISTINCT FROM $3', [mac, keyId, was]))) > 0,
    replaceCredentialHash: async (objectId, keyId, from, to) =>
      (keyId === null
        ? await changes(pool, 'UPDATE principals SET password_hash = $1 WHERE object_id = $2 AND password_hash = $3', [to, objectId, from])
        : await changes(pool, 'UPDATE client_secrets SET secret_hash = $1 WHERE object_id = $2 AND key_id = $3 AND secret_hash = $4', [to, objectId, keyId, from])) > 0,
    setPassword: (objectId, from, to, audit) =>
      audited(
        audit,
        async (c) => {
          const set = 'UPDATE principals SET password_hash = $1, password_generation = password_generation + 1 WHERE object_id = $2 AND password_hash = $3';
          if ((await changes(c, set, [to, objectId, from])) === 0) return false;
          await c.query('DELETE FROM refresh_tokens WHERE object_id = $1', [objectId]);
          return true;
        },
        true,
      ),
  };
}

export function pgSigningKeyStore(pool: pg.Pool): SigningKeyStore {
  return {
    async insert(k) {
      await unique(`signing key ${k.kid}`, () =>
        pool.query(
          'INSERT INTO signing_keys (kid, public_jwk, private_sealed, master_key_id, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [k.kid, k.publicJwk, k.privateSealed, k.masterKeyId, k.createdAt, k.retiredAt],
        ),
      );
    },
    list: () => rows(pool, `SELECT ${SIGNING_KEY} FROM signing_keys ORDER BY created_at DESC, kid`),
    retire: async (kid, at, privateSealed, masterKeyId) =>
      (await changes(pool, 'UPDATE signing_keys SET retired_at = $1, private_sealed = $2, master_key_id = $3 WHERE kid = $4 AND retired_at IS NULL', [at, privateSealed, masterKeyId, kid])) > 0,
    async rewrap(kid, privateSealed, masterKeyId) {
      await pool.query('UPDATE signing_keys SET private_sealed = $1, master_key_id = $2 WHERE kid = $3', [privateSealed, masterKeyId, kid]);
    },
  };
}

export function pgRefreshTokenStore(pool: pg.Pool): RefreshTokenStore {
  return {
    async insert(t) {
      await unique('refresh token', () =>
        pool.query(
          'INSERT INTO refresh_tokens (token_hash, object_id, client_id, scope, expires_at, family_id, password_generation) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [t.tokenHash, t.objectId, t.clientId, t.scope, t.expiresAt, t.familyId, t.passwordGeneration],
        ),
      );
      // After the insert, on its own: two sign-ins at once may each keep one too many until the next one trims.
      await pool.query(
        `DELETE FROM refresh_tokens WHERE token_hash IN (
           SELECT token_hash FROM refresh_tokens WHERE object_id = $1 AND client_id = $2 AND used_at IS NULL
           ORDER BY expires_at DESC, token_hash OFFSET $3)`,
        [t.objectId, t.clientId, REFRESH_TOKENS_PER_USER_AND_CLIENT],
      );
    },
    // One statement, so two concurrent redemptions cannot both get the row.
    take: (tokenHash, clientId, at) =>
      one(
        pool,
        `UPDATE refresh_tokens SET used_at = $3::bigint, expires_at = LEAST(expires_at, $3::bigint + $4::bigint) WHERE token_hash = $1 AND client_id = $2 AND used_at IS NULL RETURNING ${REFRESH_TOKEN}`,
        [tokenHash, clientId, at, USED_REFRESH_TOKEN_KEPT_SECONDS],
      ),
    findUnused: (tokenHash, clientId) => one(pool, `SELECT ${REFRESH_TOKEN} FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2 AND used_at IS NULL`, [tokenHash, clientId]),
    revokeFamily: async (tokenHash, clientId, usedBy) =>
      (await changes(
        pool,
        'DELETE FROM refresh_tokens WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2 AND ($3::bigint IS NULL OR used_at <= $3::bigint))',
        [tokenHash, clientId, usedBy ?? null],
      )) > 0,
    // A token is still valid at its expiry second (oauth-grants rejects expiresAt < now).
    deleteExpired: (now) => changes(pool, 'DELETE FROM refresh_tokens WHERE expires_at < $1', [now]),
  };
}
