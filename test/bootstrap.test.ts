import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credential } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Without --dev a deployment gets random identities, written for automation
// to a private bootstrap.json.

describe('bootstrap without --dev', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ dev: false });
  });
  after(() => server?.stop());

  it('writes a private, machine-readable bootstrap.json with random credentials', async () => {
    const file = join(server.dataDir, 'bootstrap.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const b = server.bootstrap;
    assert.match(b.tenantId, /^[0-9a-f-]{36}$/);
    assert.notEqual(b.tenantId, 'c0ffee00-0000-4000-8000-000000000001');
    assert.notEqual(b.clientSecret, 'coffer-dev-admin-secret-do-not-use-in-production');
    assert.ok(b.clientSecret.length >= 32);
    assert.equal(b.authorityHost, server.url);
    assert.equal(b.managementEndpoint, server.url);
    assert.equal(b.vaultDnsSuffix, 'vault.localhost');
    assert.equal(b.port, server.port);
    assert.ok(readFileSync(b.caCertFile, 'utf8').includes('BEGIN CERTIFICATE'));
    assert.ok((await credential(server).getToken(`${server.url}/.default`)).token);
  });

  it('keeps its identity across restarts and issues a new admin secret if bootstrap.json is lost', async () => {
    const before = server.bootstrap;
    rmSync(join(server.dataDir, 'bootstrap.json'));
    await server.restart();
    const after = JSON.parse(readFileSync(join(server.dataDir, 'bootstrap.json'), 'utf8')) as typeof before;
    assert.equal(after.tenantId, before.tenantId);
    assert.equal(after.clientId, before.clientId);
    assert.notEqual(after.clientSecret, before.clientSecret);
    assert.ok((await credential(server, after.clientId, after.clientSecret).getToken(`${server.url}/.default`)).token);
  });

  it('refuses an invalid configuration with a clear message', async () => {
    await assert.rejects(startTestServer({ args: ['--vault-dns-suffix', 'Not_Valid'] }), /vaultDnsSuffix: must be a DNS name/);
  });
});

describe('bootstrap with --dev', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  const passwordGrant = (server: TestServer, username: string, password: string) =>
    fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'c0ffee00-0000-4000-8000-0000000000c2', username, password, scope: `${server.url}/.default` }),
    });

  it('has the README’s portal user, with the administrator’s roles on the subscription, kept across restarts', async () => {
    await server.restart();
    const res = await passwordGrant(server, 'admin@coffer.local', 'Coffer-dev-password-do-not-use-in-production');
    assert.equal(res.status, 200);
    const token = ((await res.json()) as { access_token: string }).access_token;
    const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    const list = await fetch(`${server.url}${sub}/providers/Microsoft.Authorization/roleAssignments?$filter=${encodeURIComponent("assignedTo('c0ffee00-0000-4000-8000-0000000000a3')")}&api-version=2022-04-01`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(list.status, 200);
    const roles = ((await list.json()) as { value: { properties: { roleDefinitionId: string } }[] }).value.map((a) => a.properties.roleDefinitionId.split('/').pop()).sort();
    assert.deepEqual(roles, ['00482a5a-887f-4fb3-b363-3b7fe8e74483', '8e3af657-a8ff-443c-a75c-2fe8c4bcb635']);
  });

  it('a data dir made with --dev does not start without it: its published credentials would work from anywhere', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'coffer-dev-dir-'));
    try {
      await (await startTestServer({ dataDir })).stop();
      const plain = await startTestServer({ dev: false, dataDir, args: ['--host', '0.0.0.0'] }).then((started) => started, (err: Error) => err);
      if (!(plain instanceof Error)) {
        await plain.stop(); // it must not stay up, nor keep the suite waiting
        assert.fail('a data dir made with --dev started without --dev on 0.0.0.0');
      }
      assert.match(plain.message, /created with --dev/);
      const again = await startTestServer({ dataDir });
      await again.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a deployment without --dev has no such user', async () => {
    const plain = await startTestServer({ dev: false });
    try {
      const res = await passwordGrant(plain, 'admin@coffer.local', 'Coffer-dev-password-do-not-use-in-production');
      assert.equal(res.status, 400);
    } finally {
      await plain.stop();
    }
  });
});
