import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientCertificateCredential } from '@azure/identity';
import { api, assignRole, newGroup, newServicePrincipal, ROLE_IDS, setPolicy, statusOf, vaultWithReader } from './support/access-kit.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { pgPutBack, pgQuery, pgRow } from './support/pg-rows.js';
import { assertLogged, refusedStart, type TestServer } from './support/server-fixture.js';
import { postgresScratch } from './support/pg-scratch.js';
import { makeCertificate } from './support/test-certificates.js';

// authorization-replay.test.ts on PostgreSQL (storage/postgres/pg-authorization-digest.ts): a row put back
// exactly as coffer once stored it stops the start, and an authorization write while it is there is refused.

const pg = postgresScratch('coffer-replay-pg-');
const start = pg.start;
const accepting = (dataDir: string, url: string) => start(dataDir, url, { COFFER_ACCEPT_AUTHORIZATION_ROWS: '1' });

const TRIGGER = 'authorization_journal_role_assignments';
const triggerCount = async (url: string) => Number((await pgRow(url, 'SELECT count(*) AS n FROM pg_trigger WHERE tgname = $1', TRIGGER)).n);

describe('authorization rows put back in a PostgreSQL database', () => {
  it('a role assignment deleted and put back stops the start; accepted, it grants', async () => {
    const { url, dir } = await pg.fresh();
    let s = await start(dir, url);
    try {
      await createVault(s, 'replay-pg-rbac', { enableRbacAuthorization: true });
      await secretClient(s, 'replay-pg-rbac').setSecret('db', 'rbac-value');
      const reader = await newServicePrincipal(s, 'replay-pg-reader');
      const asReader = () => secretClient(s, 'replay-pg-rbac', credential(s, reader.appId, reader.secret));
      const put = await assignRole(s, `/subscriptions/${s.bootstrap.subscriptionId}`, ROLE_IDS['Key Vault Secrets User'], reader.id);
      assert.equal(put.status, 201);
      assert.equal((await asReader().getSecret('db')).value, 'rbac-value');
      const saved = await pgRow(url, 'SELECT * FROM role_assignments WHERE principal_id = $1', reader.id);
      assert.equal((await api(s, 'DELETE', `${put.body!.id}?api-version=2022-04-01`)).status, 200);
      assert.equal(await statusOf(asReader().getSecret('db')), 403);
      await s.stop();
      await pgPutBack(url, 'role_assignments', saved);
      const output = await refusedStart(dir, ['--database-url', url]);
      assert.match(output, /role assignments in the database are not those coffer last sealed/);
      s = await accepting(dir, url);
      assert.match(s.logs(), /started with --accept-authorization-rows: sealed the authorization rows as found/);
      assert.equal((await asReader().getSecret('db')).value, 'rbac-value');
      await s.stop();
      s = await start(dir, url);
      assert.equal((await asReader().getSecret('db')).value, 'rbac-value');
    } finally {
      await s.stop();
    }
  });

  it('an authorization write while a row is put back is refused, and does not seal it; so is a vault row put back', async () => {
    const { url, dir } = await pg.fresh();
    const s = await start(dir, url);
    try {
      // A vault's row from before an access policy was removed: refused as it is looked up (the held seals).
      const { sp, vault } = await vaultWithReader(s, 'replay-pg-live', 'replay-pg-live');
      const asSp = () => secretClient(s, 'replay-pg-live', credential(s, sp.appId, sp.secret));
      assert.equal((await asSp().getSecret('db')).value, 'v');
      const savedVault = await pgRow(url, 'SELECT id, properties, mac FROM vaults WHERE name = $1', 'replay-pg-live');
      assert.equal((await setPolicy(s, vault.id!, 'remove', sp.id, [])).status, 200);
      await pgQuery(url, 'UPDATE vaults SET properties = $1, mac = $2 WHERE id = $3', [savedVault.properties, savedVault.mac, savedVault.id]);
      assert.equal(await statusOf(asSp().getSecret('db')), 500);
      await assertLogged(s, /refused authorization rows: vaults in the database are not those coffer last sealed/);

      const scope = `/subscriptions/${s.bootstrap.subscriptionId}`;
      const first = await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], sp.id);
      assert.equal(first.status, 500, 'the vault put back is in the journal: the write is refused');
      await s.stop();
      assert.match(await refusedStart(dir, ['--database-url', url]), /vaults in the database are not those coffer last sealed/);
      assert.equal(Number((await pgRow(url, 'SELECT count(*) AS n FROM role_assignments WHERE principal_id = $1', sp.id)).n), 0);
    } finally {
      await s.stop();
    }
  });

  it('with the triggers dropped, a row put back is not sealed by the next write and stops the next start with nothing written', async () => {
    const { url, dir } = await pg.fresh();
    const s = await start(dir, url);
    let accepted: TestServer | undefined;
    try {
      const sp = await newServicePrincipal(s, 'replay-pg-blind');
      const other = await newServicePrincipal(s, 'replay-pg-blind-other');
      const scope = `/subscriptions/${s.bootstrap.subscriptionId}`;
      const first = await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], sp.id);
      const saved = await pgRow(url, 'SELECT * FROM role_assignments WHERE principal_id = $1', sp.id);
      assert.equal((await api(s, 'DELETE', `${first.body!.id}?api-version=2022-04-01`)).status, 200);
      await pgQuery(url, `DROP TRIGGER ${TRIGGER} ON role_assignments`);
      await pgPutBack(url, 'role_assignments', saved);
      assert.equal(Number((await pgRow(url, 'SELECT count(*) AS n FROM authorization_journal')).n), 0, 'the journal did not see it');
      assert.equal((await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], other.id)).status, 201);
      await s.stop();
      assert.match(await refusedStart(dir, ['--database-url', url]), /role assignments in the database are not those coffer last sealed/);
      assert.equal(await triggerCount(url), 0, 'refused in the pre-flight: the trigger stays as found');
      accepted = await accepting(dir, url);
      assert.match(accepted.logs(), /put back the authorization journal's triggers/);
      assert.equal(await triggerCount(url), 1);
    } finally {
      await s.stop();
      await accepted?.stop();
    }
  });

  it('a principal deleted with its memberships and certificate (cascades) is folded: the writes after it and the next start pass', async () => {
    const { url, dir } = await pg.fresh();
    let s = await start(dir, url);
    try {
      const member = await newServicePrincipal(s, 'cascade-pg-member');
      const stays = await newServicePrincipal(s, 'cascade-pg-stays');
      const group = await newGroup(s, 'cascade-pg-group', [member.id, stays.id]);
      const app = `/v1.0/applications/${(await api(s, 'GET', `/v1.0/applications?$filter=appId eq '${member.appId}'`)).body!.value[0].id}`;
      const cert = makeCertificate('cascade-pg-cert');
      assert.equal((await api(s, 'PATCH', app, { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: cert.base64 }] })).status, 204);
      assert.equal((await api(s, 'DELETE', `/v1.0/servicePrincipals/${member.id}`)).status, 204);
      assert.equal(Number((await pgRow(url, 'SELECT count(*) AS n FROM group_members WHERE member_id = $1', member.id)).n), 0);
      assert.equal(Number((await pgRow(url, 'SELECT count(*) AS n FROM key_credentials WHERE object_id = $1', member.id)).n), 0);
      assert.equal(Number((await pgRow(url, 'SELECT count(*) AS n FROM authorization_journal')).n), 0, 'folded, and emptied');
      assert.equal((await api(s, 'DELETE', `/v1.0/groups/${group}/members/${stays.id}/$ref`)).status, 204);
      await s.stop();
      s = await start(dir, url);
      assert.equal((await assignRole(s, `/subscriptions/${s.bootstrap.subscriptionId}`, ROLE_IDS['Key Vault Reader'], stays.id)).status, 201);
    } finally {
      await s.stop();
    }
  });
});

describe('a federated credential put back in a PostgreSQL database', () => {
  it('is left out while the server runs, and stops the next start; one created, changed and removed through Graph is folded', async () => {
    const { url, dir } = await pg.fresh();
    let s = await start(dir, url);
    try {
      const sp = await newServicePrincipal(s, 'replay-pg-federated');
      const app = (await api(s, 'GET', `/v1.0/applications?$filter=appId eq '${sp.appId}'`)).body!.value[0].id as string;
      const base = `/v1.0/applications/${app}/federatedIdentityCredentials`;
      const fic = (name: string) => ({ name, issuer: 'https://issuer.example', subject: `repo:octo/${name}`, audiences: ['api://AzureADTokenExchange'] });
      assert.equal((await api(s, 'POST', base, fic('kept'))).status, 201);
      assert.equal((await api(s, 'PATCH', `${base}/kept`, { subject: 'repo:octo/changed' })).status, 204);
      const gone = await api(s, 'POST', base, fic('gone'));
      assert.equal(gone.status, 201);
      const saved = await pgRow(url, 'SELECT * FROM federated_credentials WHERE name = $1', 'gone');
      assert.equal((await api(s, 'DELETE', `${base}/${gone.body!.id}`)).status, 204);
      // Folded from the journal: a start passes.
      await s.stop();
      s = await start(dir, url);
      assert.deepEqual((await api(s, 'GET', base)).body!.value.map((r: { subject: string }) => r.subject), ['repo:octo/changed']);
      await pgPutBack(url, 'federated_credentials', { ...saved, audiences: JSON.stringify(saved.audiences) });
      assert.deepEqual((await api(s, 'GET', base)).body!.value.map((r: { subject: string }) => r.subject), ['repo:octo/changed']);
      await assertLogged(s, /refused authorization rows: federated credentials in the database are not those coffer last sealed/);
      await s.stop();
      assert.match(await refusedStart(dir, ['--database-url', url]), /federated credentials in the database are not those coffer last sealed/);
    } finally {
      await s.stop();
    }
  });
});

describe('a certificate put back in a PostgreSQL database while the server runs, behind a planted removal of it', () => {
  it('leaves the digest as it was at the next write, but is not held: it signs no one in', async () => {
    const { url, dir } = await pg.fresh();
    const s = await start(dir, url);
    try {
      const sp = await newServicePrincipal(s, 'pg-planted-removal');
      const other = await newServicePrincipal(s, 'pg-planted-removal-other');
      const app = `/v1.0/applications/${(await api(s, 'GET', `/v1.0/applications?$filter=appId eq '${sp.appId}'`)).body!.value[0].id}`;
      const cert = makeCertificate('pg-planted-removal');
      const token = () =>
        new ClientCertificateCredential(s.bootstrap.tenantId, sp.appId, { certificatePath: cert.combinedPath }, { authorityHost: s.url, disableInstanceDiscovery: true }).getToken(`${s.url}/.default`);
      assert.equal((await api(s, 'PATCH', app, { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: cert.base64 }] })).status, 204);
      const saved = await pgRow(url, 'SELECT * FROM key_credentials WHERE object_id = $1', sp.id);
      assert.equal((await api(s, 'PATCH', app, { keyCredentials: [] })).status, 204);
      // The row put back journals its addition; a removal of it planted first cancels it in the digest.
      await pgPutBack(url, 'key_credentials', saved);
      await pgQuery(url, 'UPDATE authorization_journal SET added = false');
      await pgQuery(url, 'INSERT INTO authorization_journal (kind, added, fields) SELECT kind, true, fields FROM authorization_journal');
      assert.equal((await assignRole(s, `/subscriptions/${s.bootstrap.subscriptionId}`, ROLE_IDS['Key Vault Reader'], other.id)).status, 201);
      await assert.rejects(token(), /AADSTS700027/);
    } finally {
      await s.stop();
    }
  });
});
