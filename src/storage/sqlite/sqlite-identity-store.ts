import type Database from 'better-sqlite3';
import type { Guarded } from './sqlite-authorization-digest.js';
import type { AuditedWrites } from './sqlite-audit-store.js';
import type {
  AuditRecord,
  ClientSecretRow,
  KeyCredentialChange,
  KeyCredentialRow,
  PrincipalRow,
  PrincipalStore,
  RefreshTokenRow,
  RefreshTokenStore,
  SettingsStore,
  SigningKeyRow,
  SigningKeyStore,
} from '../store-types.js';
import { REFRESH_TOKENS_PER_USER_AND_CLIENT, StoreParentGoneError, USED_REFRESH_TOKEN_KEPT_SECONDS } from '../store-types.js';
import { nameKey, unique } from './sqlite-support.js';
import { keysChanged, sameKeyIds } from '../store-support.js';
import { sqliteFederatedCredentials } from './sqlite-federated-credentials.js';

// Deployment settings, principals with their client secrets, token signing
// keys and refresh tokens.

interface PrincipalRecord {
  object_id: string;
  kind: PrincipalRow['kind'];
  display_name: string;
  app_id: string | null;
  upn: string | null;
  password_hash: string | null;
  mail_nickname: string | null;
  created_at: number;
  password_generation: number;
}

interface ClientSecretRecord {
  key_id: string;
  object_id: string;
  secret_hash: string;
  hint: string;
  display_name: string | null;
  start_at: number;
  end_at: number;
}

export interface KeyCredentialRecord {
  key_id: string;
  object_id: string;
  certificate: Buffer;
  thumbprint_sha1: string;
  thumbprint_sha256: string;
  display_name: string | null;
  start_at: number;
  end_at: number;
  mac: string | null;
}

interface SigningKeyRecord {
  kid: string;
  public_jwk: string;
  private_sealed: Buffer;
  master_key_id: string;
  created_at: number;
  retired_at: number | null;
}

interface RefreshTokenRecord {
  token_hash: string;
  object_id: string;
  client_id: string;
  scope: string;
  expires_at: number;
  family_id: string;
  password_generation: number;
}

const toPrincipal = (r: PrincipalRecord): PrincipalRow => ({
  objectId: r.object_id,
  kind: r.kind,
  displayName: r.display_name,
  appId: r.app_id,
  upn: r.upn,
  passwordHash: r.password_hash,
  mailNickname: r.mail_nickname,
  createdAt: r.created_at,
  passwordGeneration: r.password_generation,
});

const toClientSecret = (r: ClientSecretRecord): ClientSecretRow => ({
  keyId: r.key_id,
  objectId: r.object_id,
  secretHash: r.secret_hash,
  hint: r.hint,
  displayName: r.display_name,
  startAt: r.start_at,
  endAt: r.end_at,
});

export const toKeyCredential = (r: KeyCredentialRecord): KeyCredentialRow => ({
  keyId: r.key_id,
  objectId: r.object_id,
  certificate: r.certificate,
  thumbprintSha1: r.thumbprint_sha1,
  thumbprintSha256: r.thumbprint_sha256,
  displayName: r.display_name,
  startAt: r.start_at,
  endAt: r.end_at,
  mac: r.mac,
});

const toSigningKey = (r: SigningKeyRecord): SigningKeyRow => ({
  kid: r.kid,
  publicJwk: r.public_jwk,
  privateSealed: r.private_sealed,
  masterKeyId: r.master_key_id,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
});

const toRefreshToken = (r: RefreshTokenRecord): RefreshTokenRow => ({
  tokenHash: r.token_hash,
  objectId: r.object_id,
  clientId: r.client_id,
  scope: r.scope,
  expiresAt: r.expires_at,
  familyId: r.family_id,
  passwordGeneration: r.password_generation,
});

export function sqliteSettingsStore(db: Database.Database): SettingsStore {
  const get = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?');
  const insertIfAbsent = db.prepare<[string, string]>('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING');
  const set = db.prepare<[string, string]>('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const replace = db.prepare<[string, string, string]>('UPDATE settings SET value = ? WHERE key = ? AND value = ?');
  const setIfAbsent = db.transaction((key: string, value: string, alongside: Record<string, string>): string => {
    if (insertIfAbsent.run(key, value).changes === 1) for (const [k, v] of Object.entries(alongside)) set.run(k, v);
    return get.get(key)!.value;
  });
  return {
    get: async (key) => get.get(key)?.value ?? null,
    setIfAbsent: async (key, value, alongside = {}) => setIfAbsent.immediate(key, value, alongside),
    async set(key, value) {
      set.run(key, value);
    },
    replace: async (key, expected, value) => replace.run(value, key, expected).changes === 1,
  };
}

export function sqlitePrincipalStore(db: Database.Database, audited: AuditedWrites, guarded: Guarded): PrincipalStore {
  const insert = db.prepare<[string, string, string, string | null, string | null, string | null, string | null, string | null, string | null, number]>(
    `INSERT INTO principals (object_id, kind, display_name, app_id, app_id_key, upn, upn_key, password_hash, mail_nickname, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const byId = db.prepare<[string], PrincipalRecord>('SELECT * FROM principals WHERE object_id = ?');
  const byAppId = db.prepare<[string], PrincipalRecord>('SELECT * FROM principals WHERE app_id_key = ?');
  const byUpn = db.prepare<[string], PrincipalRecord>('SELECT * FROM principals WHERE upn_key = ?');
  const all = db.prepare<[], PrincipalRecord>('SELECT * FROM principals ORDER BY created_at, object_id');
  const ofKind = db.prepare<[string], PrincipalRecord>('SELECT * FROM principals WHERE kind = ? ORDER BY created_at, object_id');
  const deleteSecrets = db.prepare<[string]>('DELETE FROM client_secrets WHERE object_id = ?');
  const deletePrincipal = db.prepare<[string]>('DELETE FROM principals WHERE object_id = ?');
  const deleteKeys = db.prepare<[string]>('DELETE FROM key_credentials WHERE object_id = ?');
  const deleteFederated = db.prepare<[string]>('DELETE FROM federated_credentials WHERE object_id = ?');
  const addKey = db.prepare<[string, string, Buffer, string, string, string | null, number, number, string | null]>(
    `INSERT INTO key_credentials (key_id, object_id, certificate, thumbprint_sha1, thumbprint_sha256, display_name, start_at, end_at, mac)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const listKeys = db.prepare<[string], KeyCredentialRecord>('SELECT * FROM key_credentials WHERE object_id = ? ORDER BY start_at, key_id');
  const allKeys = db.prepare<[], KeyCredentialRecord>('SELECT * FROM key_credentials ORDER BY object_id, start_at, key_id');
  const removeKey = db.prepare<[string, string]>('DELETE FROM key_credentials WHERE object_id = ? AND key_id = ?');
  const keyIdsOf = db.prepare<[string], string>('SELECT key_id FROM key_credentials WHERE object_id = ?').pluck();
  const principalExists = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM principals WHERE object_id = ?');
  const setKeyMac = db.prepare<{ keyId: string; mac: string; was: string | null }>(
    'UPDATE key_credentials SET mac = :mac WHERE key_id = :keyId AND ((:was IS NULL AND mac IS NULL) OR mac = :was)',
  );
  const addSecret = db.prepare<[string, string, string, string, string | null, number, number]>(
    'INSERT INTO client_secrets (key_id, object_id, secret_hash, hint, display_name, start_at, end_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const listSecrets = db.prepare<[string], ClientSecretRecord>('SELECT * FROM client_secrets WHERE object_id = ? ORDER BY start_at, key_id');
  const removeSecret = db.prepare<[string, string]>('DELETE FROM client_secrets WHERE object_id = ? AND key_id = ?');
  const rehashPassword = db.prepare<[string, string, string]>('UPDATE principals SET password_hash = ? WHERE object_id = ? AND password_hash = ?');
  const rehashSecret = db.prepare<[string, string, string, string]>('UPDATE client_secrets SET secret_hash = ? WHERE object_id = ? AND key_id = ? AND secret_hash = ?');

  const revokeRefreshTokens = db.prepare<[string]>('DELETE FROM refresh_tokens WHERE object_id = ?');
  const newPassword = db.prepare<[string, string, string]>('UPDATE principals SET password_hash = ?, password_generation = password_generation + 1 WHERE object_id = ? AND password_hash = ?');
  const setPassword = db.transaction((objectId: string, from: string, to: string): boolean => {
    if (newPassword.run(to, objectId, from).changes === 0) return false;
    revokeRefreshTokens.run(objectId);
    return true;
  });
  const remove = db.transaction((objectId: string): boolean => {
    deleteSecrets.run(objectId);
    deleteKeys.run(objectId);
    deleteFederated.run(objectId);
    return deletePrincipal.run(objectId).changes > 0;
  });
  const one = (r: PrincipalRecord | undefined) => (r ? toPrincipal(r) : null);
  const changeKeys = (objectId: string, change: KeyCredentialChange) => {
    // A principal deleted meanwhile: its parent is gone, whether or not anything is added.
    if (!principalExists.get(objectId)) throw new StoreParentGoneError(`key credentials of ${objectId}: its parent no longer exists`);
    if (change.expected && !sameKeyIds(keyIdsOf.all(objectId), change.expected)) throw keysChanged(objectId);
    for (const keyId of change.remove) removeKey.run(objectId, keyId);
    for (const k of change.add) {
      unique(`key credential ${k.keyId}`, () =>
        addKey.run(k.keyId, objectId, k.certificate, k.thumbprintSha1, k.thumbprintSha256, k.displayName, k.startAt, k.endAt, k.mac),
      );
    }
  };
  const changeKeysAlone = db.transaction(changeKeys);
  const storeSecret = (s: ClientSecretRow) =>
    void unique(`client secret ${s.keyId}`, () => addSecret.run(s.keyId, s.objectId, s.secretHash, s.hint, s.displayName, s.startAt, s.endAt));
  // The principal and its first secret together, in a transaction of their own even without a record.
  const both = db.transaction((write: () => void) => write());
  const insertWithSecret = (audit: AuditRecord | undefined, write: () => void) => (audit ? audited.run(audit, write) : both.immediate(write));

  return {
    ...sqliteFederatedCredentials(db, audited, guarded),
    async insert(p, audit, firstSecret, firstKeys) {
      // appIds are GUIDs and UPNs are e-mail-like: both compare case-insensitively in Entra ID.
      const appIdKey = p.appId === null ? null : nameKey(p.appId);
      const upnKey = p.upn === null ? null : nameKey(p.upn);
      // With certificates, in the authorization digest's transaction (sqlite-authorization-digest.ts).
      const write = () => insertWithSecret(audit, () => {
        unique(`principal ${p.objectId}`, () => insert.run(p.objectId, p.kind, p.displayName, p.appId, appIdKey, p.upn, upnKey, p.passwordHash, p.mailNickname, p.createdAt));
        if (firstSecret) storeSecret(firstSecret);
        if (firstKeys?.length) changeKeys(p.objectId, { add: firstKeys, remove: [] });
      });
      if (firstKeys?.length) guarded(write);
      else write();
    },
    get: async (objectId) => one(byId.get(objectId)),
    getByAppId: async (appId) => one(byAppId.get(nameKey(appId))),
    getByUpn: async (upn) => one(byUpn.get(nameKey(upn))),
    list: async (kind) => (kind === undefined ? all.all() : ofKind.all(kind)).map(toPrincipal),
    // Its memberships and certificates go with it.
    delete: async (objectId, audit) => guarded(() => audited.run(audit, () => remove.immediate(objectId))),
    async addClientSecret(s, audit) {
      audited.run(audit, () => storeSecret(s));
    },
    listClientSecrets: async (objectId) => listSecrets.all(objectId).map(toClientSecret),
    removeClientSecret: async (objectId, keyId, audit) => audited.run(audit, () => removeSecret.run(objectId, keyId).changes > 0),
    listKeyCredentials: async (objectId) => listKeys.all(objectId).map(toKeyCredential),
    allKeyCredentials: async () => allKeys.all().map(toKeyCredential),
    async changeKeyCredentials(objectId, change, audit) {
      guarded(() => (audit ? audited.run(audit, () => changeKeys(objectId, change)) : changeKeysAlone.immediate(objectId, change)));
    },
    setKeyCredentialMac: async (keyId, mac, was) => guarded(() => setKeyMac.run({ keyId, mac, was }).changes > 0),
    replaceCredentialHash: async (objectId, keyId, from, to) =>
      (keyId === null ? rehashPassword.run(to, objectId, from) : rehashSecret.run(to, objectId, keyId, from)).changes > 0,
    setPassword: async (objectId, from, to, audit) => audited.run(audit, () => setPassword.immediate(objectId, from, to)),
  };
}

export function sqliteSigningKeyStore(db: Database.Database): SigningKeyStore {
  const insert = db.prepare<[string, string, Buffer, string, number, number | null]>(
    'INSERT INTO signing_keys (kid, public_jwk, private_sealed, master_key_id, created_at, retired_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const list = db.prepare<[], SigningKeyRecord>('SELECT * FROM signing_keys ORDER BY created_at DESC, kid');
  const retire = db.prepare<[number, Buffer, string, string]>(
    'UPDATE signing_keys SET retired_at = ?, private_sealed = ?, master_key_id = ? WHERE kid = ? AND retired_at IS NULL',
  );
  const rewrap = db.prepare<[Buffer, string, string]>('UPDATE signing_keys SET private_sealed = ?, master_key_id = ? WHERE kid = ?');
  return {
    async insert(k) {
      unique(`signing key ${k.kid}`, () => insert.run(k.kid, k.publicJwk, k.privateSealed, k.masterKeyId, k.createdAt, k.retiredAt));
    },
    list: async () => list.all().map(toSigningKey),
    retire: async (kid, at, privateSealed, masterKeyId) => retire.run(at, privateSealed, masterKeyId, kid).changes > 0,
    async rewrap(kid, privateSealed, masterKeyId) {
      rewrap.run(privateSealed, masterKeyId, kid);
    },
  };
}

export function sqliteRefreshTokenStore(db: Database.Database): RefreshTokenStore {
  const insert = db.prepare<[string, string, string, string, number, string, number]>(
    'INSERT INTO refresh_tokens (token_hash, object_id, client_id, scope, expires_at, family_id, password_generation) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  // One statement, so two concurrent redemptions cannot both get the row.
  const take = db.prepare<{ hash: string; client: string; at: number; kept: number }, RefreshTokenRecord>(
    'UPDATE refresh_tokens SET used_at = :at, expires_at = MIN(expires_at, :at + :kept) WHERE token_hash = :hash AND client_id = :client AND used_at IS NULL RETURNING *',
  );
  const findUnused = db.prepare<[string, string], RefreshTokenRecord>('SELECT * FROM refresh_tokens WHERE token_hash = ? AND client_id = ? AND used_at IS NULL');
  const revokeFamily = db.prepare<{ hash: string; client: string; usedBy: number | null }>(
    'DELETE FROM refresh_tokens WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = :hash AND client_id = :client AND (:usedBy IS NULL OR used_at <= :usedBy))',
  );
  // A token is still valid at its expiry second (oauth-grants rejects expiresAt < now).
  const deleteExpired = db.prepare<[number]>('DELETE FROM refresh_tokens WHERE expires_at < ?');
  const trim = db.prepare<{ owner: string; client: string; keep: number }>(
    `DELETE FROM refresh_tokens WHERE token_hash IN (
       SELECT token_hash FROM refresh_tokens WHERE object_id = :owner AND client_id = :client AND used_at IS NULL
       ORDER BY expires_at DESC, token_hash LIMIT -1 OFFSET :keep)`,
  );
  const insertCapped = db.transaction((t: RefreshTokenRow) => {
    insert.run(t.tokenHash, t.objectId, t.clientId, t.scope, t.expiresAt, t.familyId, t.passwordGeneration);
    trim.run({ owner: t.objectId, client: t.clientId, keep: REFRESH_TOKENS_PER_USER_AND_CLIENT });
  });
  return {
    async insert(t) {
      unique('refresh token', () => insertCapped(t));
    },
    async take(tokenHash, clientId, at) {
      const r = take.get({ hash: tokenHash, client: clientId, at, kept: USED_REFRESH_TOKEN_KEPT_SECONDS });
      return r ? toRefreshToken(r) : null;
    },
    async findUnused(tokenHash, clientId) {
      const r = findUnused.get(tokenHash, clientId);
      return r ? toRefreshToken(r) : null;
    },
    revokeFamily: async (tokenHash, clientId, usedBy) => revokeFamily.run({ hash: tokenHash, client: clientId, usedBy: usedBy ?? null }).changes > 0,
    deleteExpired: async (now) => deleteExpired.run(now).changes,
  };
}
