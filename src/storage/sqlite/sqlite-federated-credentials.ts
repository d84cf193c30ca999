import type Database from 'better-sqlite3';
import type { AuditedWrites } from './sqlite-audit-store.js';
import type { FederatedCredentialRow, FederatedCredentialStore } from '../federated-credential-types.js';
import { StoreConflictError, StoreParentGoneError } from '../store-errors.js';
import { nameKey, unique } from './sqlite-support.js';
import type { Guarded } from './sqlite-authorization-digest.js';

// Federated identity credentials of applications (SQLite): the principals'
// store's part for them (sqlite-identity-store.ts spreads it in).

export interface FederatedRecord {
  id: string;
  object_id: string;
  name: string;
  issuer: string;
  subject: string;
  audiences: string;
  description: string | null;
  mac: string | null;
}

export const toFederatedCredential = (r: FederatedRecord): FederatedCredentialRow => ({
  id: r.id,
  objectId: r.object_id,
  name: r.name,
  issuer: r.issuer,
  subject: r.subject,
  audiences: JSON.parse(r.audiences) as string[],
  description: r.description,
  mac: r.mac,
});

/** `guarded`: each write in the authorization digest's transaction (sqlite-authorization-digest.ts): a federated credential decides who signs in. */
export function sqliteFederatedCredentials(db: Database.Database, audited: AuditedWrites, guarded: Guarded): FederatedCredentialStore {
  const list = db.prepare<[string], FederatedRecord>('SELECT * FROM federated_credentials WHERE object_id = ? ORDER BY name_key');
  const all = db.prepare<[], FederatedRecord>('SELECT * FROM federated_credentials ORDER BY object_id, name_key');
  const count = db.prepare<[string], number>('SELECT COUNT(*) FROM federated_credentials WHERE object_id = ?').pluck();
  const exists = db.prepare<[string], number>('SELECT 1 FROM principals WHERE object_id = ?').pluck();
  const insert = db.prepare<[string, string, string, string, string, string, string, string | null, string | null]>(
    `INSERT INTO federated_credentials (id, object_id, name, name_key, issuer, subject, audiences, description, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const update = db.prepare<{ id: string; objectId: string; issuer: string; subject: string; audiences: string; description: string | null; mac: string | null; was: string | null }>(
    `UPDATE federated_credentials SET issuer = :issuer, subject = :subject, audiences = :audiences, description = :description, mac = :mac
     WHERE id = :id AND object_id = :objectId AND ((:was IS NULL AND mac IS NULL) OR mac = :was)`,
  );
  const remove = db.prepare<[string, string]>('DELETE FROM federated_credentials WHERE object_id = ? AND id = ?');
  const setMac = db.prepare<{ id: string; mac: string; was: string | null }>(
    'UPDATE federated_credentials SET mac = :mac WHERE id = :id AND ((:was IS NULL AND mac IS NULL) OR mac = :was)',
  );
  const add = (r: FederatedCredentialRow, max: number) => {
    if (!exists.get(r.objectId)) throw new StoreParentGoneError(`federated credentials of ${r.objectId}: its parent no longer exists`);
    if (count.get(r.objectId)! >= max) throw new StoreConflictError('changed', `federated credentials of ${r.objectId}: ${max} are stored already`);
    unique(`federated credential ${r.name}`, () =>
      insert.run(r.id, r.objectId, r.name, nameKey(r.name), r.issuer, r.subject, JSON.stringify(r.audiences), r.description, r.mac),
    );
    return true;
  };
  const addAlone = db.transaction(add);
  const change = (r: FederatedCredentialRow, was: string | null) =>
    unique(`federated credential ${r.name}`, () =>
      update.run({ id: r.id, objectId: r.objectId, issuer: r.issuer, subject: r.subject, audiences: JSON.stringify(r.audiences), description: r.description, mac: r.mac, was }),
    ).changes > 0;
  return {
    listFederatedCredentials: async (objectId) => list.all(objectId).map(toFederatedCredential),
    allFederatedCredentials: async () => all.all().map(toFederatedCredential),
    async addFederatedCredential(row, max, audit) {
      guarded(() => (audit ? audited.run(audit, () => add(row, max)) : addAlone.immediate(row, max)));
    },
    updateFederatedCredential: async (row, was, audit) => guarded(() => audited.run(audit, () => change(row, was))),
    removeFederatedCredential: async (objectId, id, audit) => guarded(() => audited.run(audit, () => remove.run(objectId, id).changes > 0)),
    setFederatedCredentialMac: async (id, mac, was) => guarded(() => setMac.run({ id, mac, was }).changes > 0),
  };
}

/** The table (SQLite schema version 16). */
export const SQLITE_FEDERATED_CREDENTIALS_SQL = `
  CREATE TABLE federated_credentials (
    id TEXT PRIMARY KEY,
    object_id TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    audiences TEXT NOT NULL,
    description TEXT,
    mac TEXT
  ) STRICT;
  CREATE UNIQUE INDEX federated_credentials_by_name ON federated_credentials (object_id, name_key);
  CREATE UNIQUE INDEX federated_credentials_by_subject ON federated_credentials (object_id, issuer, subject);
`;
