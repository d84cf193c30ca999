import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { AUTHORIZATION_KEY_SETTING, sealOfStoredKey } from '../src/authorization/authorization-key.js';
import { AuthorizationDigestError } from '../src/authorization/authorization-digest.js';
import { createSealHolder } from '../src/authorization/sealed-stores.js';
import { loadKeyring } from '../src/crypto/keyring.js';
import { findDigest, startAuthorizationDigest, type ForeseenDigest } from '../src/server/authorization-digest-start.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../src/storage/store-types.js';
import { assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { createVault } from './support/clients.js';
import { startTestServer } from './support/server-fixture.js';

// A start takes its pre-flight's check of the authorization rows (server/authorization-digest-start.ts's
// foreseenStill) only while nothing changed since: the same key and record, the journal's triggers intact and the
// journal empty. Each case below changes the rows between the two, and the start must hold them to the record again.

const quiet = { warn: () => undefined, error: () => undefined } as unknown as Pick<Logger, 'warn' | 'error'>;

describe("a start takes the pre-flight's check of the authorization rows only while nothing changed since", () => {
  let dataDir: string;
  let file: string;
  let copy: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-foreseen-'));
    const server = await startTestServer({ dataDir });
    try {
      const vault = await createVault(server, 'foreseen-vault', { enableRbacAuthorization: true });
      const sp = await newServicePrincipal(server, 'foreseen-reader');
      for (let i = 0; i < 3; i++) assert.equal((await assignRole(server, `${vault.id!}/secrets/s${i}`, ROLE_IDS['Key Vault Secrets User'], sp.id)).status, 201);
    } finally {
      await server.stop();
    }
    file = join(dataDir, 'coffer.db');
    copy = `${file}.copy`;
    const db = new Database(file);
    await db.backup(copy);
    db.close();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  /** The database as the server left it. */
  function fresh(): void {
    for (const f of [`${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    copyFileSync(copy, file);
  }

  /** The pre-flight's findings (as start-preflight.ts gets them), with the store reads of role assignments counted. */
  async function startWith(foreseen: (f: ForeseenDigest) => ForeseenDigest | null, change: (db: Database.Database) => void) {
    fresh();
    const keyring = loadKeyring({ file: join(dataDir, 'master.key') }).keyring;
    let store = openSqliteStore({ file });
    const key = (await store.settings.get(AUTHORIZATION_KEY_SETTING))!;
    const seal = sealOfStoredKey(key, keyring);
    const found = await findDigest(store, seal, { dataDir, trusted: false });
    assert.equal(found.refusal, null);
    await store.close();
    // Between the pre-flight and the start: another writer.
    const db = new Database(file);
    change(db);
    db.close();
    store = openSqliteStore({ file });
    let reads = 0;
    const counted: Store = { ...store, roleAssignments: { ...store.roleAssignments, list: () => (reads++, store.roleAssignments.list()) } };
    try {
      const outcome = await startAuthorizationDigest(counted, createSealHolder(seal), { dataDir, trusted: false, accept: false, foreseen: foreseen({ found, key }) }, quiet).then(
        () => 'started',
        (err: unknown) => (err instanceof AuthorizationDigestError ? `refused: ${err.message}` : Promise.reject(err)),
      );
      return { outcome, reads };
    } finally {
      await store.close();
    }
  }

  const revoke = (db: Database.Database) => db.prepare('DELETE FROM role_assignments WHERE rowid = (SELECT MIN(rowid) FROM role_assignments)').run();

  it('nothing changed: the pre-flight stands, and the rows are not read again', async () => {
    assert.deepEqual(await startWith((f) => f, () => undefined), { outcome: 'started', reads: 0 });
  });

  it('without the pre-flight the start reads the rows itself', async () => {
    assert.deepEqual(await startWith(() => null, () => undefined), { outcome: 'started', reads: 1 });
  });

  it('a row removed with the triggers in place (the journal holds it): held to the record again, and refused', async () => {
    const { outcome, reads } = await startWith((f) => f, revoke);
    assert.equal(reads, 1);
    assert.match(outcome, /refused: .*role assignments/);
  });

  it('a row removed with the triggers dropped and the journal emptied (the triggers put back as the store opens): refused', async () => {
    const { outcome, reads } = await startWith(
      (f) => f,
      (db) => {
        for (const t of ['insert', 'delete', 'update']) db.exec(`DROP TRIGGER authorization_journal_role_assignments_${t}`);
        revoke(db);
      },
    );
    assert.equal(reads, 1);
    assert.match(outcome, /refused: .*role assignments/);
  });

  it('the record changed (put back from a copy with its rows): held again', async () => {
    const { outcome, reads } = await startWith(
      (f) => ({ ...f, found: { ...f.found, record: `${f.found.record}x` } }),
      (db) => {
        revoke(db);
        db.exec('DELETE FROM authorization_journal');
      },
    );
    assert.equal(reads, 1);
    assert.match(outcome, /refused: .*role assignments/);
  });

  it('under another stored key: held again', async () => {
    const { outcome, reads } = await startWith(
      (f) => ({ ...f, key: `${f.key} ` }),
      (db) => {
        revoke(db);
        db.exec('DELETE FROM authorization_journal');
      },
    );
    assert.equal(reads, 1);
    assert.match(outcome, /refused: .*role assignments/);
  });
});
