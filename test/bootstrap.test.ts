import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
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
