import assert from 'node:assert/strict';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ClientCertificateCredential } from '@azure/identity';
import { api, assignRole, newGroup, newServicePrincipal, ROLE_IDS, setPolicy, statusOf, vaultWithReader, type Principal } from './support/access-kit.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { cliHome, coffer } from './support/cli.js';
import { assertLogged, refusedStart, scratchDataDirs, startTestServer, type TestServer } from './support/server-fixture.js';
import { makeCertificate } from './support/test-certificates.js';

// A row put back exactly as coffer once stored it matches its seal: a
// database writer who kept a role assignment, a membership or a vault's
// properties from before they were revoked could make them grant again. The
// authorization digest (authorization/authorization-digest.ts) seals which
// rows there are: such a row stops the start, and an authorization write
// while it is there is refused (never sealed with it). Each case revokes
// through the API and puts the row back with SQL, as such a writer would.

const scratch = scratchDataDirs('coffer-replay-');
after(() => scratch.removeAll());

const sql = (dataDir: string) => new Database(join(dataDir, 'coffer.db'));
function rowOf(dataDir: string, query: string, ...params: unknown[]): Record<string, unknown> {
  const db = sql(dataDir);
  try {
    return db.prepare(query).get(...params) as Record<string, unknown>;
  } finally {
    db.close();
  }
}
function run(dataDir: string, query: string, params: unknown): number {
  const db = sql(dataDir);
  try {
    return db.prepare(query).run(params as never).changes;
  } finally {
    db.close();
  }
}
function exec(dataDir: string, statement: string): void {
  const db = sql(dataDir);
  try {
    db.exec(statement);
  } finally {
    db.close();
  }
}
/** Puts `row` back into `table` as it was. */
const putBack = (dataDir: string, table: string, row: Record<string, unknown>) =>
  run(dataDir, `INSERT OR REPLACE INTO ${table} (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map((k) => `@${k}`).join(', ')})`, row);

const accepting = (dataDir: string) => startTestServer({ dataDir, env: { COFFER_ACCEPT_AUTHORIZATION_ROWS: '1' } });

describe('authorization rows put back in the database', () => {
  let server: TestServer;
  let reader: Principal;
  const dataDir = scratch.make();
  const sub = () => `/subscriptions/${server.bootstrap.subscriptionId}`;
  const rbac = () => `${sub()}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/replay-rbac`;
  const policies = () => `${sub()}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/replay-policies`;
  const asReader = (vault: string) => secretClient(server, vault, credential(server, reader.appId, reader.secret));
  after(async () => server?.stop());

  it('a role assignment deleted through the API and put back stops the start; accepted, it grants', async () => {
    server = await startTestServer({ dataDir });
    await createVault(server, 'replay-rbac', { enableRbacAuthorization: true });
    await secretClient(server, 'replay-rbac').setSecret('db', 'rbac-value');
    reader = await newServicePrincipal(server, 'replay-reader');
    const name = crypto.randomUUID();
    const put = await api(server, 'PUT', `${rbac()}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`, {
      properties: { roleDefinitionId: `${sub()}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS['Key Vault Secrets User']}`, principalId: reader.id },
    });
    assert.equal(put.status, 201);
    assert.equal((await asReader('replay-rbac').getSecret('db')).value, 'rbac-value');
    const saved = rowOf(dataDir, 'SELECT * FROM role_assignments WHERE principal_id = ?', reader.id);
    assert.equal((await api(server, 'DELETE', `${rbac()}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`)).status, 200);
    assert.equal(await statusOf(asReader('replay-rbac').getSecret('db')), 403);
    await server.stop();
    putBack(dataDir, 'role_assignments', saved);
    const output = await refusedStart(dataDir);
    assert.match(output, /role assignments in the database are not those coffer last sealed: rows were added, put back or removed outside coffer/);
    assert.match(output, /--accept-authorization-rows/);
    // The operator's step: the rows as they are are sealed, and grant.
    server = await accepting(dataDir);
    assert.match(server.logs(), /started with --accept-authorization-rows: sealed the authorization rows as found/);
    assert.equal((await asReader('replay-rbac').getSecret('db')).value, 'rbac-value');
    await server.stop();
    server = await startTestServer({ dataDir });
    assert.equal((await asReader('replay-rbac').getSecret('db')).value, 'rbac-value');
  });

  it("a vault's row from before an access policy was removed stops the start", async () => {
    await createVault(server, 'replay-policies');
    await secretClient(server, 'replay-policies').setSecret('db', 'policy-value');
    assert.equal((await setPolicy(server, policies(), 'add', reader.id, ['get'])).status, 200);
    assert.equal((await asReader('replay-policies').getSecret('db')).value, 'policy-value');
    const saved = rowOf(dataDir, 'SELECT id, properties, mac FROM vaults WHERE name = ?', 'replay-policies');
    assert.equal((await setPolicy(server, policies(), 'remove', reader.id, [])).status, 200);
    assert.equal(await statusOf(asReader('replay-policies').getSecret('db')), 403);
    await server.stop();
    run(dataDir, 'UPDATE vaults SET properties = @properties, mac = @mac WHERE id = @id', saved);
    assert.match(await refusedStart(dataDir), /vaults in the database are not those coffer last sealed/);
  });

  it('a group membership and a certificate credential removed through Graph and put back stop the start', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    try {
      const member = await newServicePrincipal(s, 'replay-member');
      const group = await newGroup(s, 'replay-group', [member.id]);
      const savedMembership = rowOf(dir, 'SELECT * FROM group_members WHERE group_id = ?', group);
      assert.equal((await api(s, 'DELETE', `/v1.0/groups/${group}/members/${member.id}/$ref`)).status, 204);
      // A certificate whose private key may have leaked, removed (az ad app credential delete --cert).
      const app = `/v1.0/applications/${(await api(s, 'GET', `/v1.0/applications?$filter=appId eq '${member.appId}'`)).body!.value[0].id}`;
      const cert = makeCertificate('replay-cert');
      assert.equal((await api(s, 'PATCH', app, { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: cert.base64 }] })).status, 204);
      const savedCredential = rowOf(dir, 'SELECT * FROM key_credentials WHERE object_id = ?', member.id);
      assert.equal((await api(s, 'PATCH', app, { keyCredentials: [] })).status, 204);
      await s.stop();
      putBack(dir, 'group_members', savedMembership);
      putBack(dir, 'key_credentials', savedCredential);
      assert.match(await refusedStart(dir), /group memberships, key credentials in the database are not those coffer last sealed/);
    } finally {
      await s.stop();
    }
  });
});

describe('authorization rows changed while the server runs', () => {
  it('an authorization write is refused, and the row put back is not sealed with it', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    try {
      const sp = await newServicePrincipal(s, 'replay-live');
      await createVault(s, 'replay-live');
      const scope = `/subscriptions/${s.bootstrap.subscriptionId}`;
      const first = await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], sp.id);
      assert.equal(first.status, 201);
      const saved = rowOf(dir, 'SELECT * FROM role_assignments WHERE principal_id = ?', sp.id);
      assert.equal((await api(s, 'DELETE', `${first.body!.id}?api-version=2022-04-01`)).status, 200);
      putBack(dir, 'role_assignments', saved);
      const second = await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], sp.id);
      assert.equal(second.status, 500);
      await assertLogged(s, /refused authorization rows: role assignments in the database are not those coffer last sealed/);
      // Secrets are not authorization data: their writes and reads go on (a new vault is: it is refused too).
      await secretClient(s, 'replay-live').setSecret('x', 'y');
      assert.equal((await secretClient(s, 'replay-live').getSecret('x')).value, 'y');
      await s.stop();
      assert.match(await refusedStart(dir), /role assignments in the database are not those coffer last sealed/);
      // A master key rotation would seal every row again under a new key, the one put back with them: it stops first.
      const rotation = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', dir]);
      assert.notEqual(rotation.code, 0);
      assert.match(rotation.stderr, /role assignments in the database are not those coffer last sealed/);
      assert.equal(rowOf(dir, 'SELECT mac FROM role_assignments WHERE principal_id = ?', sp.id).mac, saved.mac, 'nothing sealed again');
    } finally {
      await s.stop();
    }
  });
});

describe("a vault's row put back while the server runs", () => {
  it('is refused as it is looked up: its data plane answers 500, it grants nothing', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    try {
      const { sp, vault } = await vaultWithReader(s, 'replay-vault-live', 'replay-vault-live');
      const asSp = () => secretClient(s, 'replay-vault-live', credential(s, sp.appId, sp.secret));
      assert.equal((await asSp().getSecret('db')).value, 'v');
      const saved = rowOf(dir, 'SELECT id, properties, mac FROM vaults WHERE name = ?', 'replay-vault-live');
      // The removal drops the vault from the server's cache: the next request reads its row again.
      assert.equal((await setPolicy(s, vault.id!, 'remove', sp.id, [])).status, 200);
      run(dir, 'UPDATE vaults SET properties = @properties, mac = @mac WHERE id = @id', saved);
      assert.equal(await statusOf(asSp().getSecret('db')), 500);
      await assertLogged(s, /refused authorization rows: vaults in the database are not those coffer last sealed/);
    } finally {
      await s.stop();
    }
  });
});

describe('a certificate credential put back while the server runs', () => {
  it('signs no one in: the key credentials are held to the digest at every use', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    try {
      const sp = await newServicePrincipal(s, 'replay-cert-live');
      const app = `/v1.0/applications/${(await api(s, 'GET', `/v1.0/applications?$filter=appId eq '${sp.appId}'`)).body!.value[0].id}`;
      const cert = makeCertificate('replay-cert-live');
      // A fresh credential each time: MSAL would answer from its cache.
      const token = () =>
        new ClientCertificateCredential(s.bootstrap.tenantId, sp.appId, { certificatePath: cert.combinedPath }, { authorityHost: s.url, disableInstanceDiscovery: true }).getToken(`${s.url}/.default`);
      assert.equal((await api(s, 'PATCH', app, { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: cert.base64 }] })).status, 204);
      assert.ok((await token()).token);
      const saved = rowOf(dir, 'SELECT * FROM key_credentials WHERE object_id = ?', sp.id);
      assert.equal((await api(s, 'PATCH', app, { keyCredentials: [] })).status, 204);
      await assert.rejects(token(), /AADSTS700027/);
      putBack(dir, 'key_credentials', saved);
      await assert.rejects(token(), /AADSTS700027/);
      await assertLogged(s, /refused authorization rows: key credentials in the database are not those coffer last sealed/);
    } finally {
      await s.stop();
    }
  });
});

describe('the database put back from an earlier copy', () => {
  it('is refused by the data dir\'s counter; coffer admin restore still puts back a backup', async () => {
    const dir = scratch.make();
    let s = await startTestServer({ dataDir: dir });
    const copy = join(scratch.make(), 'coffer.db');
    const backup = join(scratch.make(), 'backup.db');
    try {
      const sp = await newServicePrincipal(s, 'replay-rollback');
      await s.stop();
      copyFileSync(join(dir, 'coffer.db'), copy);
      const home = cliHome();
      assert.equal((await coffer(home, ['admin', 'backup', '--data-dir', dir, '--file', backup])).code, 0);
      s = await startTestServer({ dataDir: dir });
      assert.equal((await assignRole(s, `/subscriptions/${s.bootstrap.subscriptionId}`, ROLE_IDS['Key Vault Reader'], sp.id)).status, 201);
      await s.stop();
      for (const f of ['coffer.db-wal', 'coffer.db-shm']) rmSync(join(dir, f), { force: true });
      copyFileSync(copy, join(dir, 'coffer.db'));
      assert.match(await refusedStart(dir), /put back from an earlier copy/);
      const restored = await coffer(home, ['admin', 'restore', '--data-dir', dir, '--file', backup]);
      assert.equal(restored.code, 0, restored.stderr);
      assert.ok(!existsSync(join(dir, 'authorization-digest.json')), 'the restore set the counter aside');
      s = await startTestServer({ dataDir: dir });
    } finally {
      await s.stop();
    }
  });
});

describe("a row put back with the authorization journal's triggers dropped", () => {
  it('is not sealed by a write meanwhile, and stops the next start; the start that accepts the rows puts the triggers back', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    let accepted: TestServer | undefined;
    try {
      const sp = await newServicePrincipal(s, 'replay-blind');
      const other = await newServicePrincipal(s, 'replay-blind-other');
      const scope = `/subscriptions/${s.bootstrap.subscriptionId}`;
      const first = await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], sp.id);
      const saved = rowOf(dir, 'SELECT * FROM role_assignments WHERE principal_id = ?', sp.id);
      assert.equal((await api(s, 'DELETE', `${first.body!.id}?api-version=2022-04-01`)).status, 200);
      const trigger = 'authorization_journal_role_assignments_insert';
      exec(dir, `DROP TRIGGER ${trigger}`);
      putBack(dir, 'role_assignments', saved);
      assert.equal(rowOf(dir, 'SELECT count(*) AS n FROM authorization_journal').n, 0, 'the journal did not see it');
      // The write folds the journal into the record it opened, never the rows: the row put back is not sealed.
      assert.equal((await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], other.id)).status, 201);
      await s.stop();
      const output = await refusedStart(dir);
      assert.match(output, /role assignments in the database are not those coffer last sealed/);
      // Refused in the start's pre-flight, before anything is written: the trigger too stays as found.
      assert.equal(rowOf(dir, "SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name = ?", trigger).n, 0);
      accepted = await accepting(dir);
      assert.match(accepted.logs(), /put back the authorization journal's triggers/);
      assert.equal(rowOf(dir, "SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name = ?", trigger).n, 1);
    } finally {
      await s.stop();
      await accepted?.stop();
    }
  });
});

describe('a principal deleted with its memberships and certificate (a cascade)', () => {
  it('is folded from the journal: the writes after it and the next start pass', async () => {
    const dir = scratch.make();
    let s = await startTestServer({ dataDir: dir });
    try {
      const member = await newServicePrincipal(s, 'cascade-member');
      const stays = await newServicePrincipal(s, 'cascade-stays');
      const group = await newGroup(s, 'cascade-group', [member.id, stays.id]);
      const app = `/v1.0/applications/${(await api(s, 'GET', `/v1.0/applications?$filter=appId eq '${member.appId}'`)).body!.value[0].id}`;
      const cert = makeCertificate('cascade-cert');
      assert.equal((await api(s, 'PATCH', app, { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: cert.base64 }] })).status, 204);
      assert.equal((await api(s, 'DELETE', `/v1.0/servicePrincipals/${member.id}`)).status, 204);
      assert.equal(rowOf(dir, 'SELECT count(*) AS n FROM group_members WHERE member_id = ?', member.id).n, 0);
      assert.equal(rowOf(dir, 'SELECT count(*) AS n FROM key_credentials WHERE object_id = ?', member.id).n, 0);
      assert.equal(rowOf(dir, 'SELECT count(*) AS n FROM authorization_journal').n, 0, 'folded, and emptied');
      assert.equal((await api(s, 'DELETE', `/v1.0/groups/${group}/members/${stays.id}/$ref`)).status, 204);
      await s.stop();
      s = await startTestServer({ dataDir: dir });
      assert.equal((await assignRole(s, `/subscriptions/${s.bootstrap.subscriptionId}`, ROLE_IDS['Key Vault Reader'], stays.id)).status, 201);
    } finally {
      await s.stop();
    }
  });
});

describe('a federated credential put back', () => {
  it('is left out while the server runs (never listed, signs no one in), and stops the next start', async () => {
    const dir = scratch.make();
    const s = await startTestServer({ dataDir: dir });
    try {
      const sp = await newServicePrincipal(s, 'replay-federated');
      const app = (await api(s, 'GET', `/v1.0/applications?$filter=appId eq '${sp.appId}'`)).body!.value[0].id as string;
      const base = `/v1.0/applications/${app}/federatedIdentityCredentials`;
      const fic = { name: 'ci-main', issuer: 'https://issuer.example', subject: 'repo:octo/app:ref:refs/heads/main', audiences: ['api://AzureADTokenExchange'] };
      const created = await api(s, 'POST', base, fic);
      assert.equal(created.status, 201);
      const saved = rowOf(dir, 'SELECT * FROM federated_credentials WHERE object_id = ?', sp.id);
      assert.equal((await api(s, 'DELETE', `${base}/${created.body!.id}`)).status, 204);
      putBack(dir, 'federated_credentials', saved);
      // Its seal matches: only the digest tells it from one coffer stored.
      assert.deepEqual((await api(s, 'GET', base)).body!.value, []);
      await assertLogged(s, /refused authorization rows: federated credentials in the database are not those coffer last sealed/);
      await s.stop();
      assert.match(await refusedStart(dir), /federated credentials in the database are not those coffer last sealed/);
    } finally {
      await s.stop();
    }
  });

  it('created, changed and removed through Graph, is folded from the journal: the next start passes', async () => {
    const dir = scratch.make();
    let s = await startTestServer({ dataDir: dir });
    try {
      const sp = await newServicePrincipal(s, 'journal-federated');
      const app = (await api(s, 'GET', `/v1.0/applications?$filter=appId eq '${sp.appId}'`)).body!.value[0].id as string;
      const base = `/v1.0/applications/${app}/federatedIdentityCredentials`;
      const fic = (name: string) => ({ name, issuer: 'https://issuer.example', subject: `repo:octo/${name}`, audiences: ['api://AzureADTokenExchange'] });
      assert.equal((await api(s, 'POST', base, fic('kept'))).status, 201);
      const gone = await api(s, 'POST', base, fic('gone'));
      assert.equal((await api(s, 'PATCH', `${base}/kept`, { subject: 'repo:octo/changed' })).status, 204);
      assert.equal((await api(s, 'DELETE', `${base}/${gone.body!.id}`)).status, 204);
      assert.equal(rowOf(dir, 'SELECT count(*) AS n FROM authorization_journal').n, 0, 'folded, and emptied');
      await s.stop();
      s = await startTestServer({ dataDir: dir });
      assert.deepEqual((await api(s, 'GET', base)).body!.value.map((r: { subject: string }) => r.subject), ['repo:octo/changed']);
      // A principal deleted takes its federated credentials with it (a cascade the journal sees).
      assert.equal((await api(s, 'DELETE', `/v1.0/servicePrincipals/${sp.id}`)).status, 204);
      await s.stop();
      s = await startTestServer({ dataDir: dir });
    } finally {
      await s.stop();
    }
  });
});
