import type pg from 'pg';
import type { FederatedCredentialStore } from '../federated-credential-types.js';
import { StoreConflictError, StoreParentGoneError } from '../store-errors.js';
import type { PgSealedWrites } from './pg-authorization-digest.js';
import { changes, nameKey, one, rows, unique } from './pg-support.js';

// Federated identity credentials of applications (PostgreSQL): as SQLite's
// (sqlite-federated-credentials.ts). Columns are selected under their row
// field names; audiences are jsonb.

const FEDERATED = `id, object_id AS "objectId", name, issuer, subject, audiences, description, mac`;

/** Writes go through `sealed` (pg-authorization-digest.ts): a federated credential decides who signs in. */
export function pgFederatedCredentials(pool: pg.Pool, sealed: PgSealedWrites): FederatedCredentialStore {
  const audited = sealed.audited;
  return {
    listFederatedCredentials: (objectId) => rows(pool, `SELECT ${FEDERATED} FROM federated_credentials WHERE object_id = $1 ORDER BY name_key`, [objectId]),
    allFederatedCredentials: () => rows(pool, `SELECT ${FEDERATED} FROM federated_credentials ORDER BY object_id, name_key`),
    async addFederatedCredential(r, max, audit) {
      await audited(
        audit,
        async (db) => {
          // Locks the principal: a delete racing this waits (or has removed it), and so does another add (the count holds).
          if (!(await one(db, 'SELECT 1 FROM principals WHERE object_id = $1 FOR UPDATE', [r.objectId]))) {
            throw new StoreParentGoneError(`federated credentials of ${r.objectId}: its parent no longer exists`);
          }
          const n = (await one<{ n: number }>(db, 'SELECT COUNT(*)::int AS n FROM federated_credentials WHERE object_id = $1', [r.objectId]))!.n;
          if (n >= max) throw new StoreConflictError('changed', `federated credentials of ${r.objectId}: ${max} are stored already`);
          await unique(`federated credential ${r.name}`, () =>
            db.query(
              `INSERT INTO federated_credentials (id, object_id, name, name_key, issuer, subject, audiences, description, mac)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
              [r.id, r.objectId, r.name, nameKey(r.name), r.issuer, r.subject, JSON.stringify(r.audiences), r.description, r.mac],
            ),
          );
          return true;
        },
        true,
      );
    },
    updateFederatedCredential: (r, was, audit) =>
      audited(audit, async (db) =>
        unique(`federated credential ${r.name}`, async () =>
          (await changes(
            db,
            `UPDATE federated_credentials SET issuer = $1, subject = $2, audiences = $3, description = $4, mac = $5
             WHERE id = $6 AND object_id = $7 AND mac IS NOT DISTINCT FROM $8`,
            [r.issuer, r.subject, JSON.stringify(r.audiences), r.description, r.mac, r.id, r.objectId, was],
          )) > 0,
        ),
      ),
    removeFederatedCredential: (objectId, id, audit) =>
      audited(audit, async (db) => (await changes(db, 'DELETE FROM federated_credentials WHERE object_id = $1 AND id = $2', [objectId, id])) > 0),
    setFederatedCredentialMac: async (id, mac, was) =>
      (await sealed.run((db) => changes(db, 'UPDATE federated_credentials SET mac = $1 WHERE id = $2 AND mac IS NOT DISTINCT FROM $3', [mac, id, was]))) > 0,
  };
}

/** The table (PostgreSQL schema version 16). Issuer and subject compare byte for byte, as Entra ID matches them. */
export const PG_FEDERATED_CREDENTIALS_SQL = `
  CREATE TABLE federated_credentials (
    id text COLLATE "C" PRIMARY KEY,
    object_id text NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
    name text NOT NULL,
    name_key text COLLATE "C" NOT NULL,
    issuer text COLLATE "C" NOT NULL,
    subject text COLLATE "C" NOT NULL,
    audiences jsonb NOT NULL,
    description text,
    mac text
  );
  CREATE UNIQUE INDEX federated_credentials_by_name ON federated_credentials (object_id, name_key);
  CREATE UNIQUE INDEX federated_credentials_by_subject ON federated_credentials (object_id, issuer, subject);
`;
