import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { AUTHORIZATION_KEY_SETTING, sealOfStoredKey } from '../src/authorization/authorization-key.js';
import { AuthorizationDigestError, type RowsAsChecked } from '../src/authorization/authorization-digest.js';
import type { AuthorizationSeal } from '../src/authorization/authorization-seal.js';
import { createSealHolder, sealStores, type OnRefused } from '../src/authorization/sealed-stores.js';
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
  let total: number;
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
    // The three above and the deployment's own (the administrator's).
    total = db.prepare<[], number>('SELECT count(*) FROM role_assignments').pluck().get()!;
    db.close();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  /** The database as the server left it. */
  function fresh(): void {
    for (const f of [`${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    copyFileSync(copy, file);
  }

  interface Started {
    store: Store;
    seal: AuthorizationSeal;
    asChecked: RowsAsChecked;
    /** How many times the store's role assignments were read so far. */
    reads(): number;
  }

  /**
   * `plant` by another writer, the pre-flight's findings (as start-preflight.ts gets them), `change` by another
   * writer, then the start, with the store's reads of role assignments counted; `then` runs on the started store
   * before it closes.
   */
  async function startWith(
    foreseen: (f: ForeseenDigest) => ForeseenDigest | null,
    change: (db: Database.Database) => void,
    then?: (s: Started) => Promise<void>,
    plant?: (db: Database.Database) => void,
  ) {
    fresh();
    if (plant) {
      const db = new Database(file);
      plant(db);
      db.close();
    }
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
    const raw = store;
    const counted: Store = { ...raw, roleAssignments: { ...raw.roleAssignments, list: () => (reads++, raw.roleAssignments.list()) } };
    try {
      let asChecked: RowsAsChecked | null = null;
      const given = foreseen({ found, key });
      const outcome = await startAuthorizationDigest(counted, createSealHolder(seal), { dataDir, trusted: false, accept: false, foreseen: given }, quiet).then(
        (started) => ((asChecked = started.asChecked), 'started'),
        (err: unknown) => (err instanceof AuthorizationDigestError ? `refused: ${err.message}` : Promise.reject(err)),
      );
      // Taken or not, the pre-flight's rows are let go: the object stays with the start's closures for the server's life.
      assert.equal(given?.found ?? null, null);
      const readsAtStart = reads;
      if (then && asChecked) await then({ store: counted, seal, asChecked, reads: () => reads });
      return { outcome, reads: readsAtStart };
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
      (f) => ({ ...f, found: { ...f.found!, record: `${f.found!.record}x` } }),
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

  /** The sealed store as the server's (sealing.stores), with what it refuses collected. */
  const sealed = (s: Started, refused: Array<Parameters<OnRefused>[0]>) => sealStores(s.store, createSealHolder(s.seal), (r) => void refused.push(r), undefined, s.asChecked);

  it("the access index's first load takes the rows as checked, once", async () => {
    await startWith(
      (f) => f,
      () => undefined,
      async (s) => {
        const refused: Array<Parameters<OnRefused>[0]> = [];
        const stores = sealed(s, refused);
        assert.equal((await stores.roleAssignments.list()).length, total);
        assert.equal(s.reads(), 0, 'not read again');
        assert.deepEqual(refused, []);
        // Taken once: the next list reads the store.
        assert.equal((await stores.roleAssignments.list()).length, total);
        assert.equal(s.reads(), 1);
      },
    );
  });

  it('a row that does not match its seal (never counted, so the start passes) is refused and logged by that load, as by a read', async () => {
    const forged = (db: Database.Database) => {
      db.prepare("INSERT INTO role_assignments SELECT 'forged-' || id, scope, role_definition_id, principal_id, principal_type, description, end_time, created_at, updated_at, created_by, mac FROM role_assignments LIMIT 1").run();
      // Before the pre-flight, and out of the journal, so that the pre-flight's check is taken.
      db.exec('DELETE FROM authorization_journal');
    };
    const { outcome, reads } = await startWith(
      (f) => f,
      () => undefined,
      async (s) => {
        const refused: Array<Parameters<OnRefused>[0]> = [];
        const rows = await sealed(s, refused).roleAssignments.list();
        assert.equal(s.reads(), 0);
        assert.equal(rows.length, total);
        assert.ok(rows.every((r) => !r.id.startsWith('forged-')));
        assert.deepEqual(refused.map((r) => [r.kind, r.id.startsWith('forged-'), r.sealed]), [['role assignment', true, true]]);
      },
      forged,
    );
    assert.deepEqual({ outcome, reads }, { outcome: 'started', reads: 0 });
  });

  it('a row removed with SQL after the check: the first load reads the store, without it', async () => {
    await startWith(
      (f) => f,
      () => undefined,
      async (s) => {
        const db = new Database(file);
        revoke(db);
        db.close();
        assert.equal((await sealed(s, []).roleAssignments.list()).length, total - 1);
        assert.equal(s.reads(), 1);
      },
    );
  });

  it('a write coffer sealed after the check (another record): the first load reads the store, with it', async () => {
    await startWith(
      (f) => f,
      () => undefined,
      async (s) => {
        const stores = sealed(s, []);
        const [one] = await s.store.roleAssignments.list();
        // Another principal's: the same grant twice is refused (assignment-checks.ts).
        await stores.roleAssignments.insert({ ...one!, id: 'a0a0a0a0-0000-4000-8000-00000000beef', principalId: 'b0b0b0b0-0000-4000-8000-00000000beef', mac: null });
        const reads = s.reads();
        assert.equal((await stores.roleAssignments.list()).length, total + 1);
        assert.equal(s.reads(), reads + 1);
      },
    );
  });
});
