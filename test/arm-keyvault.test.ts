import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { armClient, createVault, credential } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// @azure/arm-keyvault with `endpoint` set to coffer: vault lifecycle.

describe('@azure/arm-keyvault against coffer', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  it('creates, reads, lists, updates and deletes a vault', async () => {
    const created = await createVault(server, 'arm-vault', { softDeleteRetentionInDays: 30, enableRbacAuthorization: true });
    assert.equal(created.name, 'arm-vault');
    assert.equal(created.type, 'Microsoft.KeyVault/vaults');
    assert.equal(created.id, `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/arm-vault`);
    assert.equal(created.properties.vaultUri, `${server.vaultUrl('arm-vault')}/`);
    assert.equal(created.properties.tenantId, server.bootstrap.tenantId);
    assert.equal(created.properties.enableSoftDelete, true);
    assert.equal(created.properties.softDeleteRetentionInDays, 30);
    assert.equal(created.properties.enableRbacAuthorization, true);
    assert.equal(created.properties.provisioningState, 'Succeeded');

    const arm = armClient(server);
    const got = await arm.vaults.get('rg-test', 'arm-vault');
    assert.equal(got.properties.vaultUri, created.properties.vaultUri);

    const names = [];
    for await (const v of arm.vaults.listByResourceGroup('rg-test')) names.push(v.name);
    assert.deepEqual(names, ['arm-vault']);
    const bySub = [];
    for await (const v of arm.vaults.listBySubscription()) bySub.push(v.name);
    assert.ok(bySub.includes('arm-vault'));

    const updated = await arm.vaults.update('rg-test', 'arm-vault', { properties: { enablePurgeProtection: true, enableRbacAuthorization: false }, tags: { env: 'test' } });
    assert.equal(updated.properties.enablePurgeProtection, true);
    assert.equal(updated.properties.enableRbacAuthorization, false);
    assert.deepEqual(updated.tags, { env: 'test' });
    assert.equal((await arm.vaults.get('rg-test', 'arm-vault')).properties.enablePurgeProtection, true);

    await assert.rejects(arm.vaults.update('rg-test', 'arm-vault', { properties: { enablePurgeProtection: false } }), (err: { statusCode?: number }) => err.statusCode === 400);
    await assert.rejects(arm.vaults.update('rg-test', 'arm-vault', { properties: { enableSoftDelete: false } }), (err: { statusCode?: number }) => err.statusCode === 400);

    await arm.vaults.delete('rg-test', 'arm-vault');
    await assert.rejects(arm.vaults.get('rg-test', 'arm-vault'), (err: { statusCode?: number; code?: string }) => err.statusCode === 404 && err.code === 'ResourceNotFound');
  });

  it('from api-version 2026-02-01 a vault created without the flag uses RBAC, and a PUT without it keeps the model', async () => {
    const arm = armClient(server);
    const base = { location: 'local', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A' as const, name: 'standard' as const } } };
    // The SDK sends 2026-02-01.
    const created = await arm.vaults.beginCreateOrUpdateAndWait('rg-test', 'rbac-by-default', base);
    assert.equal(created.properties.enableRbacAuthorization, true);
    const again = await arm.vaults.beginCreateOrUpdateAndWait('rg-test', 'rbac-by-default', { ...base, tags: { put: 'again' } });
    assert.equal(again.properties.enableRbacAuthorization, true, 'a PUT without the flag keeps RBAC');
    const explicit = await arm.vaults.beginCreateOrUpdateAndWait('rg-test', 'policies-asked', { ...base, properties: { ...base.properties, enableRbacAuthorization: false } });
    assert.equal(explicit.properties.enableRbacAuthorization, false);
    const kept = await arm.vaults.beginCreateOrUpdateAndWait('rg-test', 'policies-asked', base);
    assert.equal(kept.properties.enableRbacAuthorization, false, 'and keeps access policies');

    // Earlier api-versions created access-policy vaults.
    const token = (await credential(server).getToken(`${server.url}/.default`)).token;
    const res = await fetch(`${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/older-api?api-version=2023-07-01`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(base),
    });
    assert.equal(res.status, 200, 'a create answers 200, as Key Vault does');
    assert.equal(((await res.json()) as { properties: { enableRbacAuthorization: boolean } }).properties.enableRbacAuthorization, false);
    for (const name of ['rbac-by-default', 'policies-asked', 'older-api']) await arm.vaults.delete('rg-test', name);
  });

  it('answers as Key Vault does: permission spellings kept, recover of nothing and purge under purge protection refused', async () => {
    const token = (await credential(server).getToken(`${server.url}/.default`)).token;
    const base = `${server.url}/subscriptions/${server.bootstrap.subscriptionId}`;
    const vaultUrl = (name: string) => `${base}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/${name}?api-version=2023-07-01`;
    const call = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, any> };
    };
    const reader = '3c8a5b1e-6d2f-4e7a-9b0c-1d2e3f4a5b6c';
    const entry = { tenantId: server.bootstrap.tenantId, objectId: reader, permissions: { secrets: ['Get', 'LIST', 'get', 'Get'], keys: ['wrapKey', 'unwrapKey'] } };
    const created = await call('PUT', vaultUrl('spelling'), { location: 'local', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [entry] } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    // Exact repeats go; spellings stay, "get" beside "Get" included (Azure keeps both).
    assert.deepEqual(created.body.properties.accessPolicies[0].permissions, { secrets: ['Get', 'LIST', 'get'], keys: ['wrapKey', 'unwrapKey'] });
    const added = await call('PUT', `${base}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/spelling/accessPolicies/add?api-version=2023-07-01`, {
      properties: { accessPolicies: [{ ...entry, permissions: { secrets: ['Set', 'Get'] } }] },
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const removed = await call('PUT', `${base}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/spelling/accessPolicies/remove?api-version=2023-07-01`, {
      properties: { accessPolicies: [{ ...entry, permissions: { secrets: ['list'] } }] },
    });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    const vault = await call('GET', vaultUrl('spelling'));
    assert.deepEqual(vault.body.properties.accessPolicies[0].permissions.secrets, ['Get', 'get', 'Set'], 'add merges exact spellings; remove drops any spelling');

    const recover = await call('PUT', vaultUrl('never-deleted'), { location: 'local', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, createMode: 'recover' } });
    assert.equal(recover.status, 400);
    assert.deepEqual(recover.body.error, {
      code: 'SoftDeletedVaultDoesNotExist',
      message: 'A soft deleted vault with the given name does not exist. Ensure that the name for the vault that is being attempted to recover is in a recoverable state.',
    });

    const arm = armClient(server);
    await createVault(server, 'protected', { enablePurgeProtection: true });
    await arm.vaults.delete('rg-test', 'protected');
    const purge = await call('POST', `${base}/providers/Microsoft.KeyVault/locations/local/deletedVaults/protected/purge?api-version=2023-07-01`);
    assert.equal(purge.status, 405);
    assert.deepEqual(purge.body.error, { code: 'MethodNotAllowed', message: "Operation 'DeletedVaultPurge' is not allowed." });
    await arm.vaults.delete('rg-test', 'spelling');
  });

  it('systemData names the creator and the last modifier as Azure does: an application by its id, a person by UPN', async () => {
    const created = await createVault(server, 'system-data');
    assert.equal(created.systemData?.createdBy, server.bootstrap.clientId);
    assert.equal(created.systemData?.createdByType, 'Application');
    assert.equal(created.systemData?.lastModifiedBy, server.bootstrap.clientId);
    // The README's portal user (a person) changes it.
    const signIn = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'c0ffee00-0000-4000-8000-0000000000c2', username: 'admin@coffer.local', password: 'Coffer-dev-password-do-not-use-in-production', scope: `${server.url}/.default` }),
    });
    const token = ((await signIn.json()) as { access_token: string }).access_token;
    const path = `${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/system-data?api-version=2023-07-01`;
    const patched = await fetch(path, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ tags: { by: 'a person' } }) });
    assert.equal(patched.status, 200);
    const after = await armClient(server).vaults.get('rg-test', 'system-data');
    assert.equal(after.systemData?.createdBy, server.bootstrap.clientId, 'the creator stays');
    assert.equal(after.systemData?.lastModifiedBy, 'admin@coffer.local');
    assert.equal(after.systemData?.lastModifiedByType, 'User');
    await armClient(server).vaults.delete('rg-test', 'system-data');
  });

  it('refuses invalid names, a missing tenant, bad retention and a taken name', async () => {
    const arm = armClient(server);
    await createVault(server, 'taken-name');
    const base = { location: 'local', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A' as const, name: 'standard' as const } } };
    await assert.rejects(arm.vaults.beginCreateOrUpdateAndWait('rg-test', 'x', base), (err: { statusCode?: number; code?: string }) => err.statusCode === 400 && err.code === 'VaultNameNotValid');
    await assert.rejects(arm.vaults.beginCreateOrUpdateAndWait('rg-test', 'double--hyphen', base), (err: { statusCode?: number }) => err.statusCode === 400);
    await assert.rejects(
      arm.vaults.beginCreateOrUpdateAndWait('rg-test', 'bad-retention', { ...base, properties: { ...base.properties, softDeleteRetentionInDays: 3 } }),
      (err: { statusCode?: number }) => err.statusCode === 400,
    );
    await assert.rejects(
      arm.vaults.beginCreateOrUpdateAndWait('rg-test', 'foreign-tenant', { ...base, properties: { ...base.properties, tenantId: '11111111-1111-4111-8111-111111111111' } }),
      (err: { statusCode?: number }) => err.statusCode === 400,
    );
    await assert.rejects(arm.vaults.beginCreateOrUpdateAndWait('no-such-rg', 'orphan-vault', base), (err: { statusCode?: number; code?: string }) => err.statusCode === 404 && err.code === 'ResourceGroupNotFound');
    await assert.rejects(arm.vaults.get('no-such-rg', 'orphan-vault'), (err: { statusCode?: number; code?: string }) => err.statusCode === 404 && err.code === 'ResourceGroupNotFound');
    const token = await credential(server).getToken(`${server.url}/.default`);
    await fetch(`${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourcegroups/rg-other?api-version=2021-04-01`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ location: 'local' }),
    });
    await assert.rejects(arm.vaults.beginCreateOrUpdateAndWait('rg-other', 'taken-name', base), (err: { statusCode?: number; code?: string }) => err.statusCode === 409 && err.code === 'VaultAlreadyExists');
  });

  it('a PUT that would move an existing resource group or vault to another region is refused (409), in any spelling of the same one accepted', async () => {
    const arm = armClient(server);
    const token = await credential(server).getToken(`${server.url}/.default`);
    const putGroup = (location: string) =>
      fetch(`${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourcegroups/rg-regions?api-version=2021-04-01`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ location }),
      });
    const created = await putGroup('West Europe');
    assert.equal(created.status, 201);
    assert.equal(((await created.json()) as { location: string }).location, 'westeurope', 'stored as Resource Manager names it');
    assert.equal((await putGroup('westeurope')).status, 200);
    const moved = await putGroup('eastus');
    assert.equal(moved.status, 409);
    assert.deepEqual(await moved.json(), {
      error: { code: 'InvalidResourceGroupLocation', message: "Invalid resource group location 'eastus'. The Resource group already exists in location 'westeurope'." },
    });

    const base = { location: 'West Europe', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A' as const, name: 'standard' as const } } };
    const vault = await arm.vaults.beginCreateOrUpdateAndWait('rg-regions', 'regional', base);
    assert.equal(vault.location, 'westeurope');
    await arm.vaults.beginCreateOrUpdateAndWait('rg-regions', 'regional', { ...base, location: 'westeurope', tags: { same: 'region' } });
    await assert.rejects(arm.vaults.beginCreateOrUpdateAndWait('rg-regions', 'regional', { ...base, location: 'eastus' }), (err: { statusCode?: number; code?: string; message?: string }) => {
      assert.equal(err.statusCode, 409);
      assert.equal(err.code, 'InvalidResourceLocation');
      assert.equal(
        err.message,
        "The resource 'regional' already exists in location 'westeurope' in resource group 'rg-regions'. A resource with the same name cannot be created in location 'eastus'. Please select a new resource name.",
      );
      return true;
    });
    const kept = await arm.vaults.get('rg-regions', 'regional');
    assert.deepEqual([kept.location, kept.tags], ['westeurope', { same: 'region' }]);
  });

  it('a deleted vault stops serving its data plane', async () => {
    await createVault(server, 'gone-vault');
    const token = await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}/.default`);
    const before = await fetch(`${server.vaultUrl('gone-vault')}/secrets?api-version=7.6`, { headers: { authorization: `Bearer ${token.token}` } });
    assert.equal(before.status, 200);
    await armClient(server).vaults.delete('rg-test', 'gone-vault');
    const afterDelete = await fetch(`${server.vaultUrl('gone-vault')}/secrets?api-version=7.6`, { headers: { authorization: `Bearer ${token.token}` } });
    assert.equal(afterDelete.status, 404);
  });

  it('management calls need a management token', async () => {
    const url = `${server.url}/subscriptions/${server.bootstrap.subscriptionId}/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01`;
    const none = await fetch(url);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'AuthenticationFailed');
    const vaultToken = await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}/.default`);
    const wrong = await fetch(url, { headers: { authorization: `Bearer ${vaultToken.token}` } });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'InvalidAuthenticationTokenAudience');
  });
  it('purge protection needs soft delete; deleted vaults are shown as the service shows them and found by any spelling of their region', async () => {
    const token = (await credential(server).getToken(`${server.url}/.default`)).token;
    const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}?api-version=2023-07-01`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
    };
    const path = (name: string) => `${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/${name}`;
    const base = { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' } };
    const incoherent = /^The property "enablePurgeProtection" can be set to true only for a vault with soft delete enabled/;

    // Refused at create, and through a PUT or PATCH of a vault without soft delete: nothing is stored.
    const created = await call('PUT', path('no-soft-delete'), { location: 'local', properties: { ...base, enableSoftDelete: false, enablePurgeProtection: true } });
    assert.equal(created.status, 400);
    assert.match(created.body!.error.message, incoherent);
    assert.equal((await call('GET', path('no-soft-delete'))).status, 404);
    assert.equal((await call('PUT', path('no-soft-delete'), { location: 'local', properties: { ...base, enableSoftDelete: false } })).status, 200);
    const patched = await call('PATCH', path('no-soft-delete'), { properties: { enablePurgeProtection: true } });
    assert.equal(patched.status, 400);
    assert.match(patched.body!.error.message, incoherent);
    const put = await call('PUT', path('no-soft-delete'), { location: 'local', properties: { ...base, enableSoftDelete: false, enablePurgeProtection: true } });
    assert.equal(put.status, 400);
    const kept = await call('GET', path('no-soft-delete'));
    assert.equal(kept.body!.properties.enablePurgeProtection, undefined, 'still unprotected, as it says');
    // Turning soft delete on and protection with it, in one PATCH, is coherent.
    const both = await call('PATCH', path('no-soft-delete'), { properties: { enableSoftDelete: true, enablePurgeProtection: true } });
    assert.equal(both.status, 200);
    assert.equal(both.body!.properties.enablePurgeProtection, true);
    const off = await call('PATCH', path('no-soft-delete'), { properties: { enableSoftDelete: false } });
    assert.equal(off.status, 400);
    assert.equal(off.body!.error.message, 'The property "enableSoftDelete" can be set to false only for creating new vault. Enabling the \'soft delete\' functionality is an irreversible action.');

    // A deleted vault: whole-second dates, purgeProtectionEnabled only when on, found under 'Local' as under 'local'.
    assert.equal((await call('PUT', path('shown-deleted'), { location: 'local', properties: base })).status, 200);
    assert.equal((await call('DELETE', path('shown-deleted'))).status, 200);
    const shown = await call('GET', `${sub}/providers/Microsoft.KeyVault/locations/Local/deletedVaults/shown-deleted`);
    assert.equal(shown.status, 200);
    assert.match(shown.body!.properties.deletionDate, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.match(shown.body!.properties.scheduledPurgeDate, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.ok(!('purgeProtectionEnabled' in shown.body!.properties));
    assert.equal((await call('DELETE', path('no-soft-delete'))).status, 200);
    const protectedOne = (await call('GET', `${sub}/providers/Microsoft.KeyVault/deletedVaults`)).body!.value.find((d: { name: string }) => d.name === 'no-soft-delete');
    assert.equal(protectedOne.properties.purgeProtectionEnabled, true);
    // Paged as the service pages it (azure-cli's recordings): a page of one, then the nextLink to the other.
    const first = (await (await fetch(`${server.url}${sub}/providers/Microsoft.KeyVault/deletedVaults?api-version=2023-07-01&$top=1`, { headers: { authorization: `Bearer ${token}` } })).json()) as { value: { name: string }[]; nextLink: string };
    assert.equal(first.value.length, 1);
    const second = (await (await fetch(first.nextLink, { headers: { authorization: `Bearer ${token}` } })).json()) as { value: { name: string }[] };
    assert.ok(second.value.length >= 1 && second.value[0]!.name > first.value[0]!.name);

    const badName = await call('PUT', path('ab--cd'), { location: 'local', properties: base });
    assert.equal(badName.body!.error.code, 'VaultNameNotValid');
    assert.match(badName.body!.error.message, /consecutive hyphens\. Follow this link for more information: https:\/\/go\.microsoft\.com\/fwlink\/\?linkid=2147742$/);
  });

  it('pages vault lists by $top, following nextLink in name order, and refuses a bad $top or $skiptoken', async () => {
    const arm = armClient(server);
    const token = (await credential(server).getToken(`${server.url}/.default`)).token;
    const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    const put = await fetch(`${server.url}${sub}/resourcegroups/rg-pages?api-version=2021-04-01`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ location: 'local' }),
    });
    assert.equal(put.status, 201);
    const base = { location: 'local', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A' as const, name: 'standard' as const } } };
    const names = ['page-e', 'Page-A', 'page-c', 'page-b', 'page-d'];
    for (const name of names) await arm.vaults.beginCreateOrUpdateAndWait('rg-pages', name, base);

    const pages: string[][] = [];
    for await (const page of arm.vaults.listByResourceGroup('rg-pages', { top: 2 }).byPage()) pages.push(page.map((v) => v.name!));
    assert.deepEqual(pages, [['Page-A', 'page-b'], ['page-c', 'page-d'], ['page-e']]);
    const whole = [];
    for await (const v of arm.vaults.listByResourceGroup('rg-pages')) whole.push(v.name);
    assert.deepEqual(whole, ['Page-A', 'page-b', 'page-c', 'page-d', 'page-e']);

    // By subscription and through /resources (az keyvault list): every vault once, across pages of one.
    const bySub: string[] = [];
    let subPages = 0;
    for await (const page of arm.vaults.listBySubscription({ top: 1 }).byPage()) {
      subPages += 1;
      bySub.push(...page.map((v) => v.name!));
    }
    assert.equal(new Set(bySub).size, bySub.length, 'no vault twice');
    assert.ok(names.every((n) => bySub.includes(n)));
    assert.equal(subPages, bySub.length);
    const generic: string[] = [];
    for await (const v of arm.vaults.list({ top: 2 })) generic.push(v.name!);
    assert.deepEqual([...generic].sort(), [...bySub].sort());

    const raw = (query: string) => fetch(`${server.url}${sub}/resourceGroups/rg-pages/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01&${query}`, { headers: { authorization: `Bearer ${token}` } });
    const first = (await (await raw('$top=3')).json()) as { value: { name: string }[]; nextLink: string };
    assert.deepEqual(first.value.map((v) => v.name), ['Page-A', 'page-b', 'page-c']);
    assert.match(first.nextLink, /^https:\/\/[^/]+\/subscriptions\/[^/]+\/resourceGroups\/rg-pages\/providers\/Microsoft\.KeyVault\/vaults\?api-version=2023-07-01&\$top=3&\$skiptoken=[A-Za-z0-9_-]+$/);
    const rest = (await (await fetch(first.nextLink, { headers: { authorization: `Bearer ${token}` } })).json()) as { value: { name: string }[] };
    assert.deepEqual(rest.value.map((v) => v.name), ['page-d', 'page-e']);
    assert.ok(!('nextLink' in (await (await raw('$top=5')).json())), 'the last page has no nextLink');
    for (const bad of ['$top=0', '$top=two', '$skiptoken=AAAA', '$skiptoken=not*ours']) {
      const refused = await raw(bad);
      assert.equal(refused.status, 400, bad);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'BadRequest', bad);
    }
  });
  it('a PUT of a taken name in another group tells a Contributor of its own group nothing of the vault that has it', async () => {
    await createVault(server, 'elsewhere-vault', { enableRbacAuthorization: true });
    const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    await api(server, 'PUT', `${sub}/resourcegroups/rg-put-elsewhere?api-version=2021-04-01`, { location: 'local' });
    const contributor = await newServicePrincipal(server, 'elsewhere-contributor');
    assert.equal((await assignRole(server, `${sub}/resourceGroups/rg-put-elsewhere`, ROLE_IDS.Contributor, contributor.id)).status, 201);
    const token = (await credential(server, contributor.appId, contributor.secret).getToken(`${server.url}/.default`)).token;
    // Without the flag under an old api-version a PUT would switch the existing vault's model, which only holders
    // of roleAssignments/write there may do: that check named the other vault's group (403). It is not this PUT's vault.
    for (const enableRbacAuthorization of [undefined, true]) {
      const r = await api(
        server,
        'PUT',
        `${sub}/resourceGroups/rg-put-elsewhere/providers/Microsoft.KeyVault/vaults/elsewhere-vault?api-version=2019-09-01`,
        { location: 'local', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [], enableRbacAuthorization } },
        token,
      );
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.body!.error.code, 'VaultAlreadyExists');
      assert.doesNotMatch(JSON.stringify(r.body), /rg-test/i);
    }
  });

  it("carries Resource Manager's correlation id: the client's when it sent a GUID, else one of its own, errors included", async () => {
    const token = (await credential(server).getToken(`${server.url}/.default`)).token;
    const url = `${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test?api-version=2021-04-01`;
    const sent = 'A1B2C3D4-0000-4000-8000-0000000000FF';
    const echoed = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'x-ms-correlation-request-id': sent } });
    assert.equal(echoed.headers.get('x-ms-correlation-request-id'), sent.toLowerCase());
    const own = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'x-ms-correlation-request-id': 'not a guid' } });
    assert.match(own.headers.get('x-ms-correlation-request-id') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const refused = await fetch(url.replace('api-version=2021-04-01', 'api-version=nope'), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 400);
    assert.ok(refused.headers.get('x-ms-correlation-request-id'));
  });
});
