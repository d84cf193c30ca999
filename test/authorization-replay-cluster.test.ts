import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientCertificateCredential } from '@azure/identity';
import { api, assignRole, newServicePrincipal, ROLE_IDS, setPolicy, statusOf } from './support/access-kit.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { startPgCluster, type PgCluster } from './support/pg-cluster.js';
import { pgQuery, pgRow } from './support/pg-rows.js';
import type { TestServer } from './support/server-fixture.js';
import { makeCertificate } from './support/test-certificates.js';

// The authorization digest in a cluster (storage/postgres/pg-held-seals.ts): each member holds the seals of the
// vault and certificate rows the record counts; what another member wrote is reloaded as it is first read (the
// record's counter moved on), and a row put back outside coffer is refused by every member.

describe('the authorization digest in a cluster', () => {
  let cluster: PgCluster;
  let url: string;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    cluster = await startPgCluster();
    ({ url, a, b } = cluster);
  });
  after(() => cluster?.stop());

  it('a vault created through one member is served by the other, and so is one created at once after it', async () => {
    await createVault(a, 'held-first');
    await secretClient(a, 'held-first').setSecret('s', 'one');
    assert.equal((await secretClient(b, 'held-first').getSecret('s')).value, 'one');
    // Within the second since b reloaded: it waits for the next reload, and serves it.
    await createVault(a, 'held-second');
    await secretClient(a, 'held-second').setSecret('s', 'two');
    assert.equal((await secretClient(b, 'held-second').getSecret('s')).value, 'two');
  });

  it('a certificate added through one member signs in through the other', async () => {
    const sp = await newServicePrincipal(a, 'held-cert');
    const app = `/v1.0/applications/${(await api(a, 'GET', `/v1.0/applications?$filter=appId eq '${sp.appId}'`)).body!.value[0].id}`;
    const cert = makeCertificate('held-cert');
    assert.equal((await api(a, 'PATCH', app, { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: cert.base64 }] })).status, 204);
    const token = await new ClientCertificateCredential(b.bootstrap.tenantId, sp.appId, { certificatePath: cert.combinedPath }, { authorityHost: b.url, disableInstanceDiscovery: true }).getToken(
      `${b.url}/.default`,
    );
    assert.ok(token.token);
  });

  it("a vault's row put back is refused by the other member too, and so is the next authorization write", async () => {
    const sp = await newServicePrincipal(a, 'held-replay');
    const vault = await createVault(a, 'held-replay');
    await secretClient(a, 'held-replay').setSecret('db', 'v');
    assert.equal((await setPolicy(a, vault.id!, 'add', sp.id, ['get'])).status, 200);
    const saved = await pgRow(url, 'SELECT id, properties, mac FROM vaults WHERE name = $1', 'held-replay');
    assert.equal((await setPolicy(a, vault.id!, 'remove', sp.id, [])).status, 200);
    await pgQuery(url, 'UPDATE vaults SET properties = $1, mac = $2 WHERE id = $3', [saved.properties, saved.mac, saved.id]);
    // b has not read the vault since the removal: it finds the record moved on, reloads, and the rows are not the record's.
    assert.equal(await statusOf(secretClient(b, 'held-replay', credential(b, sp.appId, sp.secret)).getSecret('db')), 500);
    while (!/refused authorization rows: vaults in the database are not those coffer last sealed/.test(b.logs())) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await assignRole(b, `/subscriptions/${b.bootstrap.subscriptionId}`, ROLE_IDS['Key Vault Reader'], sp.id)).status, 500);
  });
});
