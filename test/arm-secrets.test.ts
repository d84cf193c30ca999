import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { auditRecords } from './support/audit-kit.js';
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

    // $top past a page's 25 is served 25 at a time, as a positive int32 is a valid $top.
    const token = (await credential(server).getToken(`${server.url}/.default`)).token;
    const listUrl = `${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/arm-secrets/secrets`;
    const big = await fetch(`${listUrl}?api-version=2023-07-01&$top=1000`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(big.status, 200);
    const zero = await fetch(`${listUrl}?api-version=2023-07-01&$top=0`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(zero.status, 400);
    assert.equal(((await zero.json()) as { error: { code: string } }).error.code, 'BadRequest');
    const firstPage = (await (await fetch(`${listUrl}?api-version=2023-07-01&$top=2`, { headers: { authorization: `Bearer ${token}` } })).json()) as { value: unknown[]; nextLink: string };
    assert.equal(firstPage.value.length, 2);
    assert.match(firstPage.nextLink, new RegExp(`^${server.url}/subscriptions/.*/vaults/arm-secrets/secrets\\?api-version=2023-07-01&\\$top=2&\\$skiptoken=[A-Za-z0-9_-]+$`));

    const names: string[] = [];
    for await (const page of arm.secrets.list('rg-test', 'arm-secrets', { top: 2 }).byPage()) {
      assert.ok(page.length <= 2, `a page of ${page.length}`);
      names.push(...page.map((s) => s.name!));
    }
    assert.deepEqual(names.sort(), ['api-key', 'db-user', 'queue-key']);

    await assert.rejects(arm.secrets.get('rg-test', 'arm-secrets', 'bad_name'), (err: { statusCode?: number; code?: string }) => err.statusCode === 400 && err.code === 'BadRequest');
    for (const missing of ['cache-key', 'never-was']) {
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

  it('PUT through Resource Manager sets a new version (201, then 200) that its writer cannot read back; Reader may not write', async () => {
    const vaultId = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/arm-secrets`;
    const writer = await newServicePrincipal(server, 'arm-secrets-template');
    await assignRole(server, vaultId, ROLE_IDS['Key Vault Contributor'], writer.id);
    const asWriter = armClient(server, credential(server, writer.appId, writer.secret));
    const params = { properties: { value: 'from a template', contentType: 'text/plain', attributes: { enabled: true, expires: new Date('2032-01-01T00:00:00Z') } }, tags: { source: 'bicep' } };

    const created = await asWriter.secrets.createOrUpdate('rg-test', 'arm-secrets', 'templated', params);
    assert.equal(created.properties.value, undefined, 'the value never comes back');
    assert.equal(created.properties.contentType, 'text/plain');
    assert.deepEqual(created.tags, { source: 'bicep' });
    const admin = secretClient(server, 'arm-secrets');
    const stored = await admin.getSecret('templated');
    assert.equal(stored.value, 'from a template');
    assert.equal(stored.properties.expiresOn?.toISOString(), '2032-01-01T00:00:00.000Z');
    assert.equal(created.properties.secretUriWithVersion, stored.properties.id);
    await assert.rejects(secretClient(server, 'arm-secrets', credential(server, writer.appId, writer.secret)).getSecret('templated'), (err: { statusCode?: number }) => err.statusCode === 403);

    const token = (await credential(server, writer.appId, writer.secret).getToken(`${server.url}/.default`)).token;
    const put = (name: string, body: unknown) =>
      fetch(`${server.url}${vaultId}/secrets/${name}?api-version=2023-07-01`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const again = await put('templated', { properties: { value: 'second' } });
    assert.equal(again.status, 200);
    assert.equal((await admin.getSecret('templated')).value, 'second');
    let versions = 0;
    for await (const _v of admin.listPropertiesOfSecretVersions('templated')) versions++;
    assert.equal(versions, 2);
    const noValue = await put('templated', { properties: { contentType: 'x' } });
    assert.equal(noValue.status, 400);
    assert.equal(((await noValue.json()) as { error: { code: string } }).error.code, 'BadRequest', "Resource Manager's code, not the data plane's");
    // The write is on the vault's own audit trail: named vault and secret, the RBAC grant that allowed it.
    const records = (await auditRecords(server, 'vault=arm-secrets&secret=templated')).filter((r) => r.properties.httpStatusCode < 300 && r.identity.claim.oid === writer.id);
    assert.deepEqual(records.map((r) => r.properties.httpStatusCode), [201, 200]);
    assert.ok(records.every((r) => r.properties.isRbacAuthorized === true && typeof r.properties.appliedAssignmentId === 'string'));
    await (await admin.beginDeleteSecret('templated')).pollUntilDone();
    const deleted = await put('templated', { properties: { value: 'third' } });
    assert.equal(deleted.status, 409);

    const reader = await newServicePrincipal(server, 'arm-secrets-reader-2');
    await assignRole(server, vaultId, ROLE_IDS.Reader, reader.id);
    await assert.rejects(armClient(server, credential(server, reader.appId, reader.secret)).secrets.createOrUpdate('rg-test', 'arm-secrets', 'nope', params), (err: { statusCode?: number; code?: string }) => {
      assert.equal(err.statusCode, 403);
      assert.equal(err.code, 'AuthorizationFailed');
      return true;
    });
    await assert.rejects(admin.getSecret('nope'), (err: { statusCode?: number }) => err.statusCode === 404);
  });

  it('PATCH through Resource Manager (Secrets_Update) changes the latest version in place, or with a value adds a version keeping what the patch leaves out', async () => {
    const data = secretClient(server, 'arm-secrets');
    const first = await data.setSecret('patched', 'one', { contentType: 'text/plain', tags: { team: 'data' }, expiresOn: new Date('2033-01-01T00:00:00Z') });
    const arm = armClient(server);

    const inPlace = await arm.secrets.update('rg-test', 'arm-secrets', 'patched', { tags: { team: 'ops' }, properties: { attributes: { enabled: false } } });
    assert.equal(inPlace.properties.secretUriWithVersion, first.properties.id, 'no new version without a value');
    assert.deepEqual([inPlace.tags, inPlace.properties.attributes?.enabled, inPlace.properties.contentType, inPlace.properties.value], [{ team: 'ops' }, false, 'text/plain', undefined]);
    await assert.rejects(data.getSecret('patched'), (err: { statusCode?: number }) => err.statusCode === 403, 'the latest version is disabled');

    const withValue = await arm.secrets.update('rg-test', 'arm-secrets', 'patched', { properties: { value: 'two', attributes: { enabled: true } } });
    assert.notEqual(withValue.properties.secretUriWithVersion, first.properties.id);
    assert.deepEqual([withValue.tags, withValue.properties.contentType, withValue.properties.attributes?.enabled], [{ team: 'ops' }, 'text/plain', true]);
    assert.equal(withValue.properties.attributes?.expires?.toISOString(), '2033-01-01T00:00:00.000Z', 'kept from the latest version');
    const stored = await data.getSecret('patched');
    assert.deepEqual([stored.value, stored.properties.id, stored.properties.contentType], ['two', withValue.properties.secretUriWithVersion, 'text/plain']);
    assert.equal((await arm.secrets.update('rg-test', 'arm-secrets', 'patched', { properties: { value: 'three', contentType: null as unknown as string } })).properties.contentType, undefined, 'a null content type clears it');

    await assert.rejects(arm.secrets.update('rg-test', 'arm-secrets', 'never-set', { properties: { value: 'x' } }), (err: { statusCode?: number; code?: string }) => {
      assert.deepEqual([err.statusCode, err.code], [404, 'ResourceNotFound']);
      return true;
    });
    await assert.rejects(data.getSecret('never-set'), (err: { statusCode?: number }) => err.statusCode === 404, 'a PATCH creates nothing');
    await assert.rejects(arm.secrets.update('rg-test', 'arm-secrets', 'patched', { properties: { attributes: { enabled: 'no' as unknown as boolean } } }), (err: { statusCode?: number; code?: string }) => err.statusCode === 400 && err.code === 'BadRequest');
    const vaultId = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/arm-secrets`;
    // A body that is not an object (or properties that are not) is refused, not read as a patch of nothing.
    for (const body of [[], 'x', { properties: [] }, { properties: 5 }]) {
      const res = await api(server, 'PATCH', `${vaultId}/secrets/patched?api-version=2023-07-01`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body!.error.code, 'InvalidRequestContent', JSON.stringify(body));
    }
    const reader = await newServicePrincipal(server, 'arm-secrets-reader-3');
    await assignRole(server, vaultId, ROLE_IDS.Reader, reader.id);
    await assert.rejects(armClient(server, credential(server, reader.appId, reader.secret)).secrets.update('rg-test', 'arm-secrets', 'patched', { properties: { value: 'x' } }), (err: { statusCode?: number; code?: string }) => err.statusCode === 403 && err.code === 'AuthorizationFailed');
    assert.equal((await data.getSecret('patched')).value, 'three');
  });

  it('of PUTs sent together for a new secret, exactly one is answered 201 Created', async () => {
    const vaultId = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/arm-secrets`;
    const token = (await credential(server).getToken(`${server.url}/.default`)).token;
    const statuses = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await fetch(`${server.url}${vaultId}/secrets/raced?api-version=2023-07-01`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ properties: { value: `v${i}` } }) });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    assert.deepEqual([...statuses].sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
    // A value is taken as the data plane takes it, U+0000 included (only ever stored encrypted).
    const nul = await fetch(`${server.url}${vaultId}/secrets/raced?api-version=2023-07-01`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ properties: { value: 'a\u0000b' } }) });
    assert.equal(nul.status, 200, await nul.text());
    assert.equal((await secretClient(server, 'arm-secrets').getSecret('raced')).value, 'a\u0000b');
  });
});
