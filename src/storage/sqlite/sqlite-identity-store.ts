import type Database from 'better-sqlite3';
import type { ClientSecretRow, PrincipalRow, PrincipalStore, RefreshTokenStore, SettingsStore, SigningKeyRow, SigningKeyStore } from '../store-types.js';

// Settings, principals with their client secrets, signing keys, refresh tokens.

const asPrincipal = (r: Record<string, unknown>): PrincipalRow => ({
  objectId: r.object_id as string,
  kind: r.kind as PrincipalRow['kind'],
  displayName: r.display_name as string,
  appId: (r.app_id as string | null) ?? null,
  upn: (r.upn as string | null) ?? null,
  passwordHash: (r.password_hash as string | null) ?? null,
  createdAt: r.created_at as number,
});

const asSecret = (r: Record<string, unknown>): ClientSecretRow => ({
  keyId: r.key_id as string,
  objectId: r.object_id as string,
  secretHash: r.secret_hash as string,
  hint: r.hint as string,
  displayName: (r.display_name as string | null) ?? null,
  startAt: r.start_at as number,
  endAt: r.end_at as number,
});

const asSigningKey = (r: Record<string, unknown>): SigningKeyRow => ({
  kid: r.kid as string,
  publicJwk: r.public_jwk as string,
  privateSealed: r.private_sealed as Buffer,
  masterKeyId: r.master_key_id as string,
  createdAt: r.created_at as number,
  retiredAt: (r.retired_at as number | null) ?? null,
});

export function sqliteSettings(db: Database.Database): SettingsStore {
  const get = db.prepare('SELECT value FROM settings WHERE key = ?');
  const insertIgnore = db.prepare('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)');
  const upsert = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  const setIfAbsent = db.transaction((key: string, value: string) => {
    insertIgnore.run(key, value);
    return (get.get(key) as { value: string }).value;
  });
  return {
    get: async (key) => (get.get(key) as { value: string } | undefined)?.value ?? null,
    setIfAbsent: async (key, value) => setIfAbsent(key, value),
    set: async (key, value) => void upsert.run(key, value),
  };
}

export function sqlitePrincipals(db: Database.Database): PrincipalStore {
  const insert = db.prepare(
    'INSERT INTO principals (object_id, kind, display_name, app_id, upn_key, upn, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const byId = db.prepare('SELECT * FROM principals WHERE object_id = ?');
  const byApp = db.prepare('SELECT * FROM principals WHERE app_id = ?');
  const byUpn = db.prepare('SELECT * FROM principals WHERE upn_key = ?');
  const all = db.prepare('SELECT * FROM principals ORDER BY display_name, object_id');
  const ofKind = db.prepare('SELECT * FROM principals WHERE kind = ? ORDER BY display_name, object_id');
  const del = db.prepare('DELETE FROM principals WHERE object_id = ?');
  const addSecret = db.prepare(
    'INSERT INTO client_secrets (key_id, object_id, secret_hash, hint, display_name, start_at, end_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const listSecrets = db.prepare('SELECT * FROM client_secrets WHERE object_id = ? ORDER BY start_at, key_id');
  const removeSecret = db.prepare('DELETE FROM client_secrets WHERE object_id = ? AND key_id = ?');
  return {
    insert: async (p) => void insert.run(p.objectId, p.kind, p.displayName, p.appId?.toLowerCase() ?? null, p.upn?.toLowerCase() ?? null, p.upn, p.passwordHash, p.createdAt),
    get: async (id) => {
      const r = byId.get(id) as Record<string, unknown> | undefined;
      return r ? asPrincipal(r) : null;
    },
    getByAppId: async (appId) => {
      const r = byApp.get(appId.toLowerCase()) as Record<string, unknown> | undefined;
      return r ? asPrincipal(r) : null;
    },
    getByUpn: async (upn) => {
      const r = byUpn.get(upn.toLowerCase()) as Record<string, unknown> | undefined;
      return r ? asPrincipal(r) : null;
    },
    list: async (kind) => ((kind ? ofKind.all(kind) : all.all()) as Array<Record<string, unknown>>).map(asPrincipal),
    delete: async (id) => del.run(id).changes > 0,
    addClientSecret: async (s) => void addSecret.run(s.keyId, s.objectId, s.secretHash, s.hint, s.displayName, s.startAt, s.endAt),
    listClientSecrets: async (id) => (listSecrets.all(id) as Array<Record<string, unknown>>).map(asSecret),
    removeClientSecret: async (id, keyId) => removeSecret.run(id, keyId).changes > 0,
  };
}

export function sqliteSigningKeys(db: Database.Database): SigningKeyStore {
  const insert = db.prepare('INSERT INTO signing_keys (kid, public_jwk, private_sealed, master_key_id, created_at, retired_at) VALUES (?, ?, ?, ?, ?, ?)');
  const list = db.prepare('SELECT * FROM signing_keys ORDER BY created_at DESC, kid');
  const retire = db.prepare('UPDATE signing_keys SET retired_at = ? WHERE kid = ?');
  const rewrap = db.prepare('UPDATE signing_keys SET private_sealed = ?, master_key_id = ? WHERE kid = ?');
  return {
    insert: async (k) => void insert.run(k.kid, k.publicJwk, k.privateSealed, k.masterKeyId, k.createdAt, k.retiredAt),
    list: async () => (list.all() as Array<Record<string, unknown>>).map(asSigningKey),
    retire: async (kid, at) => void retire.run(at, kid),
    rewrap: async (kid, sealed, masterKeyId) => void rewrap.run(sealed, masterKeyId, kid),
  };
}

export function sqliteRefreshTokens(db: Database.Database): RefreshTokenStore {
  const insert = db.prepare('INSERT INTO refresh_tokens (token_hash, object_id, client_id, scope, expires_at) VALUES (?, ?, ?, ?, ?)');
  const get = db.prepare('SELECT * FROM refresh_tokens WHERE token_hash = ?');
  const del = db.prepare('DELETE FROM refresh_tokens WHERE token_hash = ?');
  const expired = db.prepare('DELETE FROM refresh_tokens WHERE expires_at < ?');
  const take = db.transaction((hash: string) => {
    const r = get.get(hash) as Record<string, unknown> | undefined;
    if (!r) return null;
    del.run(hash);
    return { tokenHash: hash, objectId: r.object_id as string, clientId: r.client_id as string, scope: r.scope as string, expiresAt: r.expires_at as number };
  });
  return {
    insert: async (t) => void insert.run(t.tokenHash, t.objectId, t.clientId, t.scope, t.expiresAt),
    take: async (hash) => take(hash),
    deleteExpired: async (now) => expired.run(now).changes,
  };
}
