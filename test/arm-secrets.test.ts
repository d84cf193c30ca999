import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { armClient, createVault, credential, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Secrets through Resource Manager (@azure/arm-keyvault's `secrets`): the
// latest version's properties, never the value, under control-plane RBAC.

describe('@azure/arm-keyvault secrets (Resource Manager view)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'arm-secrets');
  });
  after(() => server?.stop());

  it('gets and lists the latest versions with their properties, never a value; deleted and missing secrets are not found', async () => {
    const data = secretClient(server, 'arm-secrets');
    await data.setSecret('db-user', 'v1');
    const latest = await data.setSecret('db-user', 'v2', { contentType: 'application/json', tags: { team: 'data' } });
    await data.updateSecretProperties('db-user', latest.properties.version!, { enabled: false, expiresOn: new Date('2031-01-01T00:00:00Z') });
    for (const name of ['api-key', 'cache-key', 'queue-key']) await data.setSecret(name, `value of ${name}`);
    await (await data.beginDeleteSecret('cache-key')).pollUntilDone();

    const arm = armClient(server);
    const got = await arm.secrets.get('rg-test', 'arm-secrets', 'DB-USER');
    assert.equal(got.id, `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/arm-secrets/secrets/db-user`);
    assert.deepEqual([got.name, got.type, got.location, got.tags], ['db-user', 'Microsoft.KeyVault/vaults/secrets', 'local', { team: 'data' }]);
    const p = got.properties;
    assert.equal(p.value, undefined, 'no value through the management plane');
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.secretUri, `${server.vaultUrl('arm-secrets')}/secrets/db-user`);
    assert.equal(p.secretUriWithVersion, latest.properties.id);
    assert.equal(p.attributes?.enabled, false);
    assert.equal(p.attributes?.expires?.toISOString(), '2031-01-01T00:00:00.000Z');
    assert.ok(p.attributes?.created instanceof Date);

    const names: string[] = [];
    for await (const page of arm.secrets.list('rg-test', 'arm-secrets', { top: 2 }).byPage()) {
      assert.ok(page.length <= 2, `a page of ${page.length}`);
      names.push(...page.map((s) => s.name!));
    }
    assert.deepEqual(names.sort(), ['api-key', 'db-user', 'queue-key']);

    for (const missing of ['cache-key', 'never-was', 'bad_name']) {
      await assert.rejects(arm.secrets.get('rg-test', 'arm-secrets', missing), (err: { statusCode?: number; code?: string; message?: string }) => {
        assert.equal(err.statusCode, 404, missing);
        assert.equal(err.code, 'ResourceNotFound');
        assert.match(err.message ?? '', /The Resource 'Microsoft\.KeyVault\/vaults\/secrets\/arm-secrets\/.*' under resource group 'rg-test' was not found/);
        return true;
      });
    }
    await assert.rejects(arm.secrets.get('rg-test', 'no-such-vault', 'db-user'), (err: { statusCode?: number }) => err.statusCode === 404);
  });

  it('is a control-plane read: Reader sees the properties but not the value; a data-plane role alone sees nothing here', async () => {
    await secretClient(server, 'arm-secrets').setSecret('shared', 'not for readers');
    const vaultId = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/arm-secrets`;
    const reader = await newServicePrincipal(server, 'arm-secrets-reader');
    await assignRole(server, vaultId, ROLE_IDS.Reader, reader.id);
    const dataOnly = await newServicePrincipal(server, 'arm-secrets-data-user');
    await assignRole(server, vaultId, ROLE_IDS['Key Vault Secrets User'], dataOnly.id);

    const asReader = armClient(server, credential(server, reader.appId, reader.secret));
    assert.equal((await asReader.secrets.get('rg-test', 'arm-secrets', 'shared')).name, 'shared');
    await assert.rejects(secretClient(server, 'arm-secrets', credential(server, reader.appId, reader.secret)).getSecret('shared'), (err: { statusCode?: number }) => err.statusCode === 403);

    const asDataUser = armClient(server, credential(server, dataOnly.appId, dataOnly.secret));
    await assert.rejects(asDataUser.secrets.get('rg-test', 'arm-secrets', 'shared'), (err: { statusCode?: number; code?: string }) => {
      assert.equal(err.statusCode, 403);
      assert.equal(err.code, 'AuthorizationFailed');
      return true;
    });
  });
});
