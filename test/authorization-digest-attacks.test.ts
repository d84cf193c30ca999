import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ClientCertificateCredential } from '@azure/identity';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { assertLogged, refusedStart, scratchDataDirs, startTestServer, type TestServer } from './support/server-fixture.js';
import { makeCertificate } from './support/test-certificates.js';
import { cliHome, coffer } from './support/cli.js';

// An adversarial review of the authorization digest (authorization/authorization-digest.ts): a database writer
// without the master key who kept rows (and the digest's record) from before a revocation tries to make them grant
// again in ways the digest's first version let through. Each case revokes through the API and works with SQL.

const scratch = scratchDataDirs('coffer-digest-attack-');
after(() => scratch.removeAll());

function withDb<T>(dataDir: string, f: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'coffer.db'));
  try {
    return f(db);
  } finally {
    db.close();
  }
}
const rowOf = (dataDir: string, query: string, ...params: unknown[]) => withDb(dataDir, (db) => db.prepare(query).get(...params) as Record<string, unknown>);
/** Inserts `row` into `table` as it is. */
const insert = (dataDir: string, table: string, row: Record<string, unknown>) =>
  withDb(dataDir, (db) => db.prepare(`INSERT INTO ${table} (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map((k) => `@${k}`).join(', ')})`).run(row as never));
const exec = (dataDir: string, statement: string) => withDb(dataDir, (db) => db.exec(statement));

const rbacVault = (s: TestServer, name: string) => `/subscriptions/${s.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/${name}`;

describe('a revoked role assignment put back twice, its id in two cases', () => {
  it('stops the start: two rows with one seal do not cancel out in the digest', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    try {
      await createVault(s, 'twice-rbac', { enableRbacAuthorization: true });
      await secretClient(s, 'twice-rbac').setSecret('db', 'v');
      const sp = await newServicePrincipal(s, 'twice-reader');
      const put = await assignRole(s, rbacVault(s, 'twice-rbac'), ROLE_IDS['Key Vault Secrets User'], sp.id);
      assert.equal(put.status, 201);
      const saved = rowOf(dir, 'SELECT * FROM role_assignments WHERE principal_id = ?', sp.id);
      assert.equal((await api(s, 'DELETE', `${put.body!.id}?api-version=2022-04-01`)).status, 200);
      await s.stop();
      // The seal lower-cases the id (the stores compare ids so); the primary key does not.
      insert(dir, 'role_assignments', saved);
      insert(dir, 'role_assignments', { ...saved, id: String(saved.id).toUpperCase() });
      assert.match(await refusedStart(dir), /role assignments in the database are not those coffer last sealed/);
    } finally {
      await s.stop();
    }
  });
});

/** A service principal whose certificate was registered and removed through Graph: its row as it was, and a sign-in with it. */
async function removedCertificate(s: TestServer, dir: string, name: string) {
  const sp = await newServicePrincipal(s, name);
  const app = `/v1.0/applications/${(await api(s, 'GET', `/v1.0/applications?$filter=appId eq '${sp.appId}'`)).body!.value[0].id}`;
  const cert = makeCertificate(name);
  assert.equal((await api(s, 'PATCH', app, { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: cert.base64 }] })).status, 204);
  const saved = rowOf(dir, 'SELECT * FROM key_credentials WHERE object_id = ?', sp.id);
  assert.equal((await api(s, 'PATCH', app, { keyCredentials: [] })).status, 204);
  const token = () =>
    new ClientCertificateCredential(s.bootstrap.tenantId, sp.appId, { certificatePath: cert.combinedPath }, { authorityHost: s.url, disableInstanceDiscovery: true }).getToken(`${s.url}/.default`);
  return { saved, token };
}

describe('a certificate credential put back while the server runs, with its journal entry planted twice', () => {
  it('is refused at the next write and signs no one in', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    try {
      const other = await newServicePrincipal(s, 'planted-other');
      const { saved, token } = await removedCertificate(s, dir, 'planted-cert');
      insert(dir, 'key_credentials', saved);
      // The trigger journaled the row once; a second copy of the entry would cancel it in a XOR of the seals.
      exec(dir, 'INSERT INTO authorization_journal (kind, added, fields) SELECT kind, added, fields FROM authorization_journal');
      const write = await assignRole(s, `/subscriptions/${s.bootstrap.subscriptionId}`, ROLE_IDS['Key Vault Reader'], other.id);
      assert.equal(write.status, 500, 'the write is refused');
      // Said as what it is, not as an internal error; the reason is in the log.
      assert.deepEqual(write.body, { error: { code: 'InternalServerError', message: 'The authorization data in the database failed its integrity check, so the request was refused.' } });
      await assertLogged(s, /refused authorization rows: key credentials in the database are not those coffer last sealed/);
      assert.doesNotMatch(s.logs(), /unhandled error/);
      await assert.rejects(token(), /AADSTS700027/);
    } finally {
      await s.stop();
    }
  });
});

describe('a certificate credential put back while the server runs, behind a planted removal of it', () => {
  it('leaves the digest as it was at the next write, but is not held: it signs no one in', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    try {
      const other = await newServicePrincipal(s, 'planted-removal-other');
      const { saved, token } = await removedCertificate(s, dir, 'planted-removal');
      // The row put back journals its addition; a removal of it planted first cancels it in the digest.
      insert(dir, 'key_credentials', saved);
      exec(dir, 'UPDATE authorization_journal SET added = 0');
      exec(dir, 'INSERT INTO authorization_journal (kind, added, fields) SELECT kind, 1, fields FROM authorization_journal');
      assert.equal((await assignRole(s, `/subscriptions/${s.bootstrap.subscriptionId}`, ROLE_IDS['Key Vault Reader'], other.id)).status, 201);
      await assert.rejects(token(), /AADSTS700027/);
    } finally {
      await s.stop();
    }
  });
});

describe('the record and a revoked row put back together while the server runs', () => {
  it('is refused at the next write (the record is older than the last this server sealed), and by the next start', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    try {
      await createVault(s, 'rollback-live', { enableRbacAuthorization: true });
      await secretClient(s, 'rollback-live').setSecret('db', 'v');
      const sp = await newServicePrincipal(s, 'rollback-reader');
      const other = await newServicePrincipal(s, 'rollback-other');
      const put = await assignRole(s, rbacVault(s, 'rollback-live'), ROLE_IDS['Key Vault Secrets User'], sp.id);
      assert.equal(put.status, 201);
      const saved = rowOf(dir, 'SELECT * FROM role_assignments WHERE principal_id = ?', sp.id);
      const record = rowOf(dir, "SELECT value FROM settings WHERE key = 'authorizationDigest'").value;
      assert.equal((await api(s, 'DELETE', `${put.body!.id}?api-version=2022-04-01`)).status, 200);
      // The database's authorization rows and record as they were before the revocation; the journal emptied.
      insert(dir, 'role_assignments', saved);
      withDb(dir, (db) => db.prepare("UPDATE settings SET value = ? WHERE key = 'authorizationDigest'").run(record));
      exec(dir, 'DELETE FROM authorization_journal');
      // Writes that would carry the record's counter past the data dir's.
      const scope = `/subscriptions/${s.bootstrap.subscriptionId}`;
      assert.equal((await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], other.id)).status, 500, 'the write is refused');
      await assertLogged(s, /refused authorization rows: the authorization digest: its record is of write \d+, but this server sealed write \d+/);
      assert.equal((await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], sp.id)).status, 500);
      await s.stop();
      assert.match(await refusedStart(dir), /put back from an earlier copy/);
    } finally {
      await s.stop();
    }
  });
});

describe('a database one write behind put back, then a master key rotation offline', () => {
  it('is refused by the data dir\'s counter before the rotation seals it as the next write', async () => {
    const dir = scratch.make();
    const copy = join(scratch.make(), 'coffer.db');
    let s = await startTestServer({ dataDir: dir });
    try {
      const sp = await newServicePrincipal(s, 'behind-reader');
      const put = await assignRole(s, `/subscriptions/${s.bootstrap.subscriptionId}`, ROLE_IDS['Key Vault Reader'], sp.id);
      assert.equal(put.status, 201);
      await s.stop();
      copyFileSync(join(dir, 'coffer.db'), copy);
      s = await startTestServer({ dataDir: dir });
      // The revocation: one write sealed past the copy.
      assert.equal((await api(s, 'DELETE', `${put.body!.id}?api-version=2022-04-01`)).status, 200);
      await s.stop();
      for (const f of ['coffer.db-wal', 'coffer.db-shm']) rmSync(join(dir, f), { force: true });
      copyFileSync(copy, join(dir, 'coffer.db'));
      const rotation = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', dir]);
      assert.notEqual(rotation.code, 0, 'the rotation was refused');
      assert.match(rotation.stderr, /put back from an earlier copy/);
      assert.match(await refusedStart(dir), /put back from an earlier copy/);
    } finally {
      await s.stop();
    }
  });
});

describe("a trigger of the writer's own that adds to the journal as coffer writes", () => {
  it('has the write refused: the row put back is not sealed with it, and stops the next start', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    try {
      const sp = await newServicePrincipal(s, 'foreign-trigger');
      const other = await newServicePrincipal(s, 'foreign-other');
      const scope = `/subscriptions/${s.bootstrap.subscriptionId}`;
      const put = await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], sp.id);
      const saved = rowOf(dir, 'SELECT * FROM role_assignments WHERE principal_id = ?', sp.id);
      assert.equal((await api(s, 'DELETE', `${put.body!.id}?api-version=2022-04-01`)).status, 200);
      // The row put back, its journal entry kept aside and replayed by a trigger when coffer next adds an assignment.
      insert(dir, 'role_assignments', saved);
      exec(
        dir,
        `CREATE TABLE kept AS SELECT kind, added, fields FROM authorization_journal; DELETE FROM authorization_journal;
         CREATE TRIGGER plant AFTER INSERT ON role_assignments BEGIN INSERT INTO authorization_journal (kind, added, fields) SELECT kind, added, fields FROM kept; END;`,
      );
      assert.equal((await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], other.id)).status, 500, 'the write is refused');
      await assertLogged(s, /refused authorization rows: the authorization digest: its journal was changed outside coffer \(trigger plant\)/);
      await s.stop();
      // Tracks covered: only the row is left, and the record does not count it.
      exec(dir, 'DROP TRIGGER plant; DROP TABLE kept');
      assert.match(await refusedStart(dir), /role assignments in the database are not those coffer last sealed/);
    } finally {
      await s.stop();
    }
  });
});
