import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { adminToken, api, newServicePrincipal, type Principal } from './support/access-kit.js';
import { credential } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Graph's /applications/{id}/federatedIdentityCredentials: created, listed,
// read by id or by name, changed and deleted as Graph does it, with its
// limits; writes are the administrator's; a row put into the database
// outside coffer (no seal, or another's) is listed nowhere.

describe('federated identity credentials (Graph)', () => {
  let server: TestServer;
  let token: string;
  let sp: Principal;
  let base: string;
  const graph = (method: string, path: string, body?: unknown, as = token) => api(server, method, path, body, as);
  const ficsOf = async (appId: string) => `/v1.0/applications/${(await graph('GET', `/v1.0/applications?$filter=appId eq '${appId}'`)).body!.value[0].id}/federatedIdentityCredentials`;
  const github = { name: 'github-main', issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:octo/app:ref:refs/heads/main', description: 'deploys', audiences: ['api://AzureADTokenExchange'] };

  before(async () => {
    server = await startTestServer();
    token = await adminToken(server);
    sp = await newServicePrincipal(server, 'fic-app');
    base = await ficsOf(sp.appId);
  });
  after(() => server?.stop());

  it('creates, lists, reads by id or name (any case), updates all but the name, deletes', async () => {
    const created = await graph('POST', base, github);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body!.id as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.deepEqual({ ...created.body, id: 'x' }, { '@odata.type': '#microsoft.graph.federatedIdentityCredential', id: 'x', ...github });
    assert.deepEqual((await graph('GET', base)).body!.value, [created.body]);
    assert.deepEqual((await graph('GET', `${base}/${id.toUpperCase()}`)).body, created.body);
    assert.deepEqual((await graph('GET', `${base}/GitHub-Main`)).body, created.body);

    const patched = await graph('PATCH', `${base}/github-main`, { subject: 'repo:octo/app:environment:prod', description: null, name: 'github-main' });
    assert.equal(patched.status, 204, JSON.stringify(patched.body));
    const read = (await graph('GET', `${base}/${id}`)).body!;
    assert.equal(read.subject, 'repo:octo/app:environment:prod');
    assert.equal(read.description, null);
    assert.equal(read.issuer, github.issuer);
    const renamed = await graph('PATCH', `${base}/${id}`, { name: 'other-name' });
    assert.equal(renamed.status, 400);
    assert.equal(renamed.body!.error.code, 'Request_BadRequest');

    assert.equal((await graph('DELETE', `${base}/${id}`)).status, 204);
    assert.equal((await graph('DELETE', `${base}/${id}`)).status, 404);
    const gone = await graph('GET', `${base}/github-main`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body!.error.code, 'Request_ResourceNotFound');
    assert.deepEqual((await graph('GET', base)).body!.value, []);
  });

  it('audiences default to api://AzureADTokenExchange; name, issuer, subject and audiences are checked as Graph limits them', async () => {
    const fresh = await ficsOf((await newServicePrincipal(server, 'fic-limits')).appId);
    const ok = await graph('POST', fresh, { name: 'k8s-sa', issuer: 'https://oidc.cluster.example/abc', subject: 'system:serviceaccount:ns:sa' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.deepEqual(ok.body!.audiences, ['api://AzureADTokenExchange']);
    const bad = [
      { ...github, name: undefined },
      { ...github, name: 'ab' },
      { ...github, name: '-leading' },
      { ...github, name: 'has space' },
      { ...github, name: 'x'.repeat(121) },
      { ...github, issuer: 'http://token.actions.githubusercontent.com' },
      { ...github, issuer: 'not a url' },
      { ...github, issuer: 'https://user:pw@issuer.example' },
      { ...github, subject: '' },
      { ...github, subject: 's'.repeat(601) },
      { ...github, audiences: [] },
      { ...github, audiences: ['a', 'b'] },
      { ...github, description: 'd'.repeat(601) },
      { ...github, claimsMatchingExpression: { value: 'x' } },
    ];
    for (const body of bad) {
      const r = await graph('POST', fresh, body);
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 120)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body!.error.code, 'Request_BadRequest');
    }
    // Unique per application: the name in any case, the issuer and subject together (exactly: case counts).
    assert.equal((await graph('POST', fresh, github)).status, 201);
    const sameName = await graph('POST', fresh, { ...github, name: 'GITHUB-MAIN', subject: 'other' });
    assert.equal(sameName.status, 409);
    assert.match(sameName.body!.error.message, /named 'GITHUB-MAIN' already exists/);
    const samePair = await graph('POST', fresh, { ...github, name: 'another' });
    assert.equal(samePair.status, 409);
    assert.match(samePair.body!.error.message, /with issuer .* and subject .* already exists/);
    assert.equal((await graph('POST', fresh, { ...github, name: 'upper', subject: github.subject.toUpperCase() })).status, 201);
    // At most 20 per application.
    for (let i = 3; i < 20; i++) assert.equal((await graph('POST', fresh, { ...github, name: `n-${i}`, subject: `s-${i}` })).status, 201);
    const over = await graph('POST', fresh, { ...github, name: 'n-20', subject: 's-20' });
    assert.equal(over.status, 400);
    assert.match(over.body!.error.message, /at most 20 federated identity credentials/);
    assert.equal((await graph('GET', fresh)).body!.value.length, 20);
  });

  it("writes are the administrator's; an unknown application is not found", async () => {
    const other = await newServicePrincipal(server, 'fic-other');
    const spToken = (await credential(server, other.appId, other.secret).getToken(`${server.url}/.default`)).token;
    const r = await graph('POST', base, { ...github, name: 'by-sp' }, spToken);
    assert.equal(r.status, 403);
    assert.equal(r.body!.error.code, 'Authorization_RequestDenied');
    assert.equal((await graph('GET', '/v1.0/applications/00000000-0000-4000-8000-000000000000/federatedIdentityCredentials')).status, 404);
    assert.equal((await graph('POST', '/v1.0/applications/00000000-0000-4000-8000-000000000000/federatedIdentityCredentials', github)).status, 404);
  });

  it('a row written into the database outside coffer is listed nowhere, and logged', async () => {
    const fresh = await newServicePrincipal(server, 'fic-planted');
    const path = await ficsOf(fresh.appId);
    const donor = await graph('POST', base, { ...github, name: 'donor' });
    assert.equal(donor.status, 201);
    const db = new Database(join(server.dataDir, 'coffer.db'));
    try {
      const row = db.prepare('SELECT * FROM federated_credentials WHERE id = ?').get(donor.body!.id) as Record<string, unknown>;
      const insert = db.prepare('INSERT INTO federated_credentials (id, object_id, name, name_key, issuer, subject, audiences, description, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      insert.run('11111111-1111-4111-8111-111111111111', fresh.id, 'copied', 'copied', row.issuer, row.subject, row.audiences, null, row.mac);
      insert.run('22222222-2222-4222-8222-222222222222', fresh.id, 'bare', 'bare', row.issuer, 'bare', row.audiences, null, null);
    } finally {
      db.close();
    }
    assert.deepEqual((await graph('GET', path)).body!.value, []);
    assert.equal((await graph('GET', `${path}/copied`)).status, 404);
    assert.match(server.logs(), /a federated credential in the database (does not match its seal|carries no seal)/);
  });
});
