import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authorizedRaw, rawRequest } from './support/raw-http.js';
import { ROLE_IDS, adminToken, api, assignRole, newServicePrincipal } from './support/access-kit.js';
import { credential } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Hostile input to the management plane, the directory and the token
// endpoint: a clear 4xx in the service's own error shape, nothing stored,
// never a 500 (each case here was a 500 or was stored before its fix).

describe('management and directory input validation', () => {
  let server: TestServer;
  let sub: string;
  let token: string;
  before(async () => {
    server = await startTestServer();
    sub = server.bootstrap.subscriptionId;
    token = await adminToken(server);
  });
  after(() => server?.stop());

  const raw = authorizedRaw(
    () => server.url,
    () => token,
  );
  const deep = (levels: number, inner = '"x"') => `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`;

  it('deeply nested JSON is refused before anything walks or stores it, with or without a token', async () => {
    const tokenEndpoint = await rawRequest(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"a":${deep(60_000, '"\\u0000"')}}`,
    });
    assert.equal(tokenEndpoint.status, 400);
    const vault = await raw('PUT', `/subscriptions/${sub}/resourceGroups/rg-deep/providers/Microsoft.KeyVault/vaults/deepv?api-version=2023-07-01`, `{"location":"local","properties":{"foo":${deep(60_000)}}}`);
    assert.equal(vault.status, 400);
    assert.equal(vault.json?.error?.code, 'BadParameter');
    assert.match(vault.json!.error!.message, /deeper than 32 levels/);
    const shallow = await raw('PUT', `/subscriptions/${sub}/resourceGroups/rg-deep?api-version=2021-04-01`, `{"location":"local","tags":{"a":${deep(31)}}}`);
    assert.equal(shallow.status, 400, 'within the depth, the tags are still checked');
  });

  it('an unparsable body is refused without quoting it: it may hold a secret', async () => {
    const vaultPath = `/subscriptions/${sub}/resourceGroups/rg-x/providers/Microsoft.KeyVault/vaults/quoted?api-version=2023-07-01`;
    const res = await raw('PUT', vaultPath, '{"location": hunter2pw}');
    assert.equal(res.status, 400);
    assert.doesNotMatch(res.text, /hunter2pw|'h'/);
    // ARM's code and wording for a body that does not deserialize.
    assert.equal(res.json!.error!.code, 'InvalidRequestContent');
    assert.match(res.json!.error!.message, /^The request content was invalid and could not be deserialized: it does not parse( at position \d+)?\.$/);
  });

  it('resource group names follow Azure’s rule: Unicode letters and digits, _ - . ( ), up to 90 characters, not ending in a period', async () => {
    const put = (name: string) => api(server, 'PUT', `/subscriptions/${sub}/resourceGroups/${encodeURIComponent(name)}?api-version=2021-04-01`, { location: 'local' });
    for (const name of ['rg-café', 'grupo_é(1).x', 'группа', '\u{1D49C}'.repeat(90), 'r'.repeat(90)]) {
      const res = await put(name);
      assert.equal(res.status, 201, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body!.name, name);
    }
    // Found again whatever the case, as Resource Manager compares names.
    const found = await api(server, 'GET', `/subscriptions/${sub}/resourceGroups/${encodeURIComponent('RG-CAFÉ')}?api-version=2021-04-01`);
    assert.equal(found.status, 200);
    assert.equal(found.body!.name, 'rg-café');
    for (const name of ['bad name', 'ends.', 'r'.repeat(91), 'semi;colon', 'emoji-\u{1F600}', 'a+b']) {
      const res = await put(name);
      assert.equal(res.status, 400, name);
      assert.equal(res.body!.error.message, `Resource group name '${name}' is invalid.`, name);
    }
  });

  it('resource group tags and location are checked like a vault’s', async () => {
    const rg = (name: string, body: unknown) => api(server, 'PUT', `/subscriptions/${sub}/resourceGroups/${name}?api-version=2021-04-01`, body);
    for (const [label, body] of [
      ['nested tag', { location: 'local', tags: { a: { b: [1, 2] } } }],
      ['number tag', { location: 'local', tags: { n: 5 } }],
      ['array tags', { location: 'local', tags: [1, 2, 3] }],
      ['empty location', { location: '' }],
      ['location with a slash', { location: 'a/b' }],
      ['tag value over 256', { location: 'local', tags: { t: 'v'.repeat(257) } }],
    ] as const) {
      const res = await rg('rg-checked', body);
      assert.equal(res.status, 400, label);
    }
    // Resource Manager's reserved characters in tag names, with its code and message.
    for (const name of ['a<b', 'x>y', '50%', 'a&b', 'back\\slash', 'what?', 'a/b', 'tab\there']) {
      const res = await rg('rg-checked', { location: 'local', tags: { [name]: 'v', fine: 'v' } });
      assert.equal(res.status, 400, name);
      assert.equal(res.body!.error.code, 'InvalidTagNameCharacters', name);
      assert.match(res.body!.error.message, /^The tag names '.+' have reserved characters '<,>,%,&,\\,\?,\/' or control characters\.$/, name);
    }
    assert.equal((await api(server, 'GET', `/subscriptions/${sub}/resourceGroups/rg-checked?api-version=2021-04-01`)).status, 404, 'nothing was stored');
    assert.equal((await rg('rg-checked', { location: 'West Europe', tags: { team: 'data', 'cost-center.v2 (x)': 'a<b&c' } })).status, 201);
  });

  it('repeated query parameters and malformed api-versions are 400s', async () => {
    const base = `/subscriptions/${sub}/providers/Microsoft.Authorization`;
    for (const path of [`${base}/roleAssignments?api-version=2022-04-01&$filter=atScope()&$filter=x`, `${base}/roleDefinitions?api-version=2022-04-01&$filter=a&$filter=b`]) {
      const res = await api(server, 'GET', path);
      assert.equal(res.status, 400, path);
      assert.match(res.body!.error.message, /\$filter' is given more than once/);
    }
    for (const version of ['banana', '2023-13-45', '2023-02-30', '1900-01-01', '2014-03-31']) {
      const bad = await api(server, 'GET', `/subscriptions/${sub}/resourceGroups?api-version=${version}`);
      assert.equal(bad.status, 400, version);
      assert.equal(bad.body!.error.code, 'InvalidApiVersionParameter', version);
    }
    // coffer's own routes (directory, audit, check-access): repeated parameters are a 400, not a 500.
    // A page size is decimal digits, as Key Vault's maxresults: not Number()'s hex, exponents or spaces.
    for (const path of ['/coffer/audit?vault=a&vault=b', '/coffer/audit?secret=a&secret=b', '/coffer/audit?resultType=x&resultType=y', '/v1.0/servicePrincipals?$filter=a&$filter=b', '/coffer/audit?maxresults=0x2', '/coffer/audit?maxresults=1e1', '/coffer/audit?maxresults=%202']) {
      const res = await api(server, 'GET', path);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body!.error.code, 'BadParameter', path);
    }
  });

  it('a body that is not JSON is 415 UnsupportedMediaType, as Resource Manager answers', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'application/jsonx']) {
      const res = await rawRequest(`${server.url}/subscriptions/${sub}/resourceGroups/rg-form?api-version=2021-04-01`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': type },
        body: type.includes('json') ? JSON.stringify({ location: 'local' }) : 'location=local',
      });
      assert.equal(res.status, 415, `${type}: ${res.text}`);
      assert.deepEqual(JSON.parse(res.text), { error: { code: 'UnsupportedMediaType', message: `The content media type '${type}' is not supported. Only 'application/json' is supported.` } });
    }
    assert.equal((await api(server, 'GET', `/subscriptions/${sub}/resourceGroups/rg-form?api-version=2021-04-01`)).status, 404, 'nothing was created');
    // Bytes that are not UTF-8, or a body compressed: refused, not stored with U+FFFD or as it came.
    const notUtf8 = await rawRequest(`${server.url}/subscriptions/${sub}/resourceGroups/rg-form?api-version=2021-04-01`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from('{"location": "local", "tags": {"t": "'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}')]),
    });
    assert.equal(notUtf8.status, 400, notUtf8.text);
    assert.equal(JSON.parse(notUtf8.text).error.code, 'InvalidRequestContent');
    const gzip = await rawRequest(`${server.url}/subscriptions/${sub}/resourceGroups/rg-form?api-version=2021-04-01`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: JSON.stringify({ location: 'local' }),
    });
    assert.equal(gzip.status, 415, gzip.text);
    assert.equal(JSON.parse(gzip.text).error.code, 'UnsupportedMediaType');
    assert.equal((await api(server, 'GET', `/subscriptions/${sub}/resourceGroups/rg-form?api-version=2021-04-01`)).status, 404, 'still nothing was created');
  });

  it('a URI that does not decode gets the service’s error shape', async () => {
    const res = await rawRequest(`${server.url}/v1.0/users/%E0%A4%A`, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 400);
    assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'BadParameter');
  });

  it('an oversized body names the limit it broke', async () => {
    const res = await raw('PUT', `/subscriptions/${sub}/resourceGroups/rg-big?api-version=2021-04-01`, JSON.stringify({ location: 'local', pad: 'x'.repeat(300 * 1024) }));
    assert.equal(res.status, 413);
    assert.match(res.json!.error!.message, /maximum size of 262144 bytes/);
  });

  it('service principal secret lifetimes are bounded, and nothing is stored for a refused one', async () => {
    const count = async () => (await api(server, 'GET', '/v1.0/servicePrincipals')).body!.value.length as number;
    const before = await count();
    for (const years of [1e6, 1e300, -5, 0, '2']) {
      const res = await api(server, 'POST', '/v1.0/servicePrincipals', { displayName: `bad-years-${years}`, years });
      assert.equal(res.status, 400, String(years));
      assert.equal(res.body!.error.code, 'Request_BadRequest');
    }
    // Graph's code for a body it cannot use, as for the lifetimes above.
    for (const body of [{}, { displayName: '' }, [{ displayName: 'in-an-array' }]]) {
      const res = await api(server, 'POST', '/v1.0/servicePrincipals', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body!.error.code, 'Request_BadRequest', JSON.stringify(body));
    }
    assert.equal(await count(), before);
    const sp = await api(server, 'POST', '/v1.0/servicePrincipals', { displayName: 'two-years', years: 2 });
    assert.equal(sp.status, 201);
    const id = sp.body!.id as string;
    assert.equal((await api(server, 'GET', `/v1.0/servicePrincipals/${id.toUpperCase()}`)).status, 200, 'object ids are GUIDs: any case');
    for (const endDateTime of ['+275760-09-13T00:00:00Z', '2001-01-01T00:00:00Z', 'soon']) {
      const res = await api(server, 'POST', `/v1.0/servicePrincipals/${id}/addPassword`, { passwordCredential: { endDateTime } });
      assert.equal(res.status, 400, endDateTime);
    }
    const added = await api(server, 'POST', `/v1.0/servicePrincipals/${id}/addPassword`, { passwordCredential: { displayName: 42 } });
    assert.equal(added.status, 200);
    assert.equal(added.body!.displayName, null, 'only what was stored is sent back');
    assert.equal((await api(server, 'GET', `/v1.0/servicePrincipals/${id}`)).status, 200);
  });

  it('role assignments and definitions: secret scopes, end times, names and descriptions are checked', async () => {
    await api(server, 'PUT', `/subscriptions/${sub}/resourceGroups/rg-test?api-version=2021-04-01`, { location: 'local' });
    const vaultPath = `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/scoped-vault`;
    const properties = { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, enableRbacAuthorization: true };
    assert.equal((await api(server, 'PUT', `${vaultPath}?api-version=2023-07-01`, { location: 'local', properties })).status, 200);
    const me = (await api(server, 'GET', '/v1.0/me')).body;
    const principalId = me?.id ?? (await api(server, 'GET', '/v1.0/servicePrincipals')).body!.value[0].id;
    const assign = (scope: string, extra: Record<string, unknown> = {}) =>
      api(server, 'PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`, {
        properties: { roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6`, principalId, ...extra },
      });
    assert.equal((await assign(`${vaultPath}/secrets/${encodeURIComponent('bad name!é')}`)).status, 400);
    assert.equal((await assign(`${vaultPath}/secrets/${'s'.repeat(128)}`)).status, 400);
    assert.equal((await assign(`${vaultPath}/secrets/fine`, { endDateTime: 99999 })).status, 400);
    assert.equal((await assign(`${vaultPath}/secrets/not-yet-created`)).status, 201, 'a secret scope need not exist yet');
    const definition = (properties: Record<string, unknown>) =>
      api(server, 'PUT', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${crypto.randomUUID()}?api-version=2022-04-01`, {
        properties: { permissions: [{ actions: ['*/read'] }], assignableScopes: [`/subscriptions/${sub}`], ...properties },
      });
    assert.equal((await definition({ roleName: 'Long Description', description: 'd'.repeat(2049) })).status, 400);
    assert.equal((await definition({ roleName: ' Padded ' })).status, 400);
    // Invisible characters would let a custom role read as a built-in one (found by a fuzzing helper).
    for (const roleName of ['Key Vault Secrets User\u200b', 'Key Vault\u2060 Reader', 'Owner\u202e', 'Tab\there']) {
      const refused = await definition({ roleName });
      assert.equal(refused.status, 400, JSON.stringify(roleName));
      assert.match(refused.body!.error.message, /may not contain control or invisible formatting characters/);
    }
    assert.equal((await definition({ roleName: 'Fine Role', description: 'reads' })).status, 201);
    assert.equal((await definition({ roleName: 'Rôle café ünïcode', description: 'visible letters of any script are fine' })).status, 201);
  });

  it('users get Entra ID’s name limits', async () => {
    const user = (fields: Record<string, unknown>) => api(server, 'POST', '/v1.0/users', { passwordProfile: { password: 'A long enough password 1' }, ...fields });
    for (const [label, fields] of [
      ['no @', { userPrincipalName: 'dave' }],
      ['two @', { userPrincipalName: 'dave@x@coffer.local' }],
      ['over-long UPN', { userPrincipalName: `${'d'.repeat(64)}@${'c'.repeat(48)}.local` }],
      // Only ASCII letters, digits and ' . - _ ! # ^ ~ in the name (found by a fuzzing helper): no look-alikes.
      ['accented letters', { userPrincipalName: 'd\u00e4ve@coffer.local' }],
      ['a Kelvin sign for a K', { userPrincipalName: 'dave@coffer.loca\u212a' }],
      ['a plus', { userPrincipalName: 'dave+tag@coffer.local' }],
      ['a period before the @', { userPrincipalName: 'dave.@coffer.local' }],
      ['a period first', { userPrincipalName: '.dave@coffer.local' }],
      ['two periods in a row', { userPrincipalName: 'da..ve@coffer.local' }],
      ['huge display name', { userPrincipalName: 'dave@coffer.local', displayName: 'D'.repeat(200_000) }],
      ['empty display name', { userPrincipalName: 'dave@coffer.local', displayName: ' ' }],
    ] as const) {
      assert.equal((await user(fields)).status, 400, label);
    }
    assert.equal((await user({ userPrincipalName: 'dave@coffer.local', displayName: 'Dave' })).status, 201);
    assert.equal((await user({ userPrincipalName: "o'neil.x_y!#^~-1@coffer.local", displayName: 'Entra allows these' })).status, 201);
  });

  it('checkNameAvailability takes only the type Microsoft.KeyVault/vaults (any case), and needs a name and a type', async () => {
    const check = (body: unknown) => api(server, 'POST', `/subscriptions/${sub}/providers/Microsoft.KeyVault/checkNameAvailability?api-version=2023-07-01`, body);
    for (const type of ['Microsoft.KeyVault/vaults', 'microsoft.keyvault/VAULTS']) {
      const ok = await check({ name: 'free-name', type });
      assert.equal(ok.status, 200, type);
      assert.equal(ok.body!.nameAvailable, true, type);
    }
    for (const [label, body, message] of [
      ['another type', { name: 'free-name', type: 'Microsoft.KeyVault/managedHSMs' }, /'Microsoft\.KeyVault\/managedHSMs'; it must be 'Microsoft\.KeyVault\/vaults'/],
      ['an empty type', { name: 'free-name', type: '' }, /it must be 'Microsoft\.KeyVault\/vaults'/],
      ['no type', { name: 'free-name' }, /^The property 'type' is required\.$/],
      ['a type that is not a string', { name: 'free-name', type: 7 }, /^The property 'type' is required\.$/],
      ['no name', { type: 'Microsoft.KeyVault/vaults' }, /^The property 'name' is required\.$/],
    ] as const) {
      const res = await check(body);
      assert.equal(res.status, 400, `${label}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body!.error.code, 'BadRequest', label);
      assert.match(res.body!.error.message, message, label);
    }
    // An invalid name with the right type is still an answer, not an error.
    const invalid = await check({ name: '-bad-', type: 'Microsoft.KeyVault/vaults' });
    assert.equal(invalid.status, 200);
    assert.equal(invalid.body!.reason, 'AccountNameInvalid');
  });

  it('checkNameAvailability is 403 AuthorizationFailed for a caller with no role in the subscription, before its body is read; any role there lets it ask', async () => {
    const url = `/subscriptions/${sub}/providers/Microsoft.KeyVault/checkNameAvailability?api-version=2023-07-01`;
    assert.equal((await api(server, 'PUT', `/subscriptions/${sub}/resourceGroups/rg-names-check?api-version=2021-04-01`, { location: 'local' })).status, 201);
    assert.equal((await api(server, 'PUT', `/subscriptions/${sub}/resourceGroups/rg-names-check/providers/Microsoft.KeyVault/vaults/taken-name-kv?api-version=2023-07-01`, { location: 'local', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' } } })).status, 200);
    const sp = await newServicePrincipal(server, 'name-checker');
    const spToken = (await credential(server, sp.appId, sp.secret).getToken(`${server.url}/.default`)).token;
    for (const body of [{ name: 'taken-name-kv', type: 'Microsoft.KeyVault/vaults' }, {}]) {
      const refused = await api(server, 'POST', url, body, spToken);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body!.error.code, 'AuthorizationFailed');
      assert.match(refused.body!.error.message, new RegExp(`object id '${sp.id}' does not have authorization to perform action 'Microsoft\\.KeyVault/checkNameAvailability/read' over scope '/subscriptions/${sub}'`));
    }
    // Contributor at one group only (who may create a vault there) may check a name first.
    assert.equal((await assignRole(server, `/subscriptions/${sub}/resourceGroups/rg-names-check`, ROLE_IDS.Contributor, sp.id)).status, 201);
    const answered = await api(server, 'POST', url, { name: 'taken-name-kv', type: 'Microsoft.KeyVault/vaults' }, spToken);
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    assert.equal(answered.body!.reason, 'AlreadyExists');
  });

  it('a type that coffer’s namespaces do not have is 404 InvalidResourceType, as Resource Manager answers; a served type keeps its answers', async () => {
    const scopes = [`/subscriptions/${sub}`, `/subscriptions/${sub}/resourceGroups/rg-types`, ''];
    for (const scope of scopes) {
      for (const method of ['GET', 'PUT', 'DELETE', 'POST']) {
        const res = await raw(method, `${scope}/providers/Microsoft.Authorization/bogusThings?api-version=2022-04-01`, method === 'PUT' || method === 'POST' ? '{}' : undefined);
        assert.equal(res.status, 404, `${method} ${scope}: ${res.text}`);
        assert.equal(res.json!.error!.code, 'InvalidResourceType', `${method} ${scope}`);
        assert.equal(res.json!.error!.message, "The resource type could not be found in the namespace 'Microsoft.Authorization' for api version '2022-04-01'.");
      }
    }
    for (const path of [
      `/subscriptions/${sub}/providers/Microsoft.KeyVault/bogusThings`,
      `/subscriptions/${sub}/providers/microsoft.keyvault/bogusThings/x`,
      `/subscriptions/${sub}/resourceGroups/rg-types/providers/Microsoft.KeyVault/vaults/v1/bogus`,
      `/subscriptions/${sub}/providers/Microsoft.KeyVault/locations/local/bogus`,
      `/subscriptions/${sub}/resourceGroups/rg-types/providers/Microsoft.KeyVault/vaults/v1/providers/Microsoft.Authorization/roleAssignments/x/bogus`,
    ]) {
      for (const method of ['GET', 'POST']) {
        const res = await raw(method, `${path}?api-version=2023-07-01`, method === 'POST' ? '{}' : undefined);
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
        assert.equal(res.json!.error!.code, 'InvalidResourceType', `${method} ${path}`);
        assert.match(res.json!.error!.message, /^The resource type could not be found in the namespace 'Microsoft\.(KeyVault|Authorization)' for api version '2023-07-01'\.$/);
      }
    }
    // Served types: their own answers, unchanged.
    assert.equal((await raw('GET', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01`)).status, 200);
    // Read decoded, as the routes read the path.
    assert.equal((await raw('GET', `/subscriptions/${sub}/providers/Microsoft.Authorization/role%44efinitions?api-version=2022-04-01`)).status, 200);
    assert.equal((await raw('GET', `/subscriptions/${sub}/resourceGroups/rg-types/providers/Microsoft.KeyVault/vaults/nosuchvault?api-version=2023-07-01`)).status, 404);
    assert.equal((await raw('GET', `/subscriptions/${sub}/resourceGroups/rg-types/providers/Microsoft.KeyVault/vaults/nosuchvault?api-version=2023-07-01`)).json!.error!.code, 'ResourceGroupNotFound');
    assert.equal((await raw('DELETE', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01`)).status, 405);
    assert.equal((await raw('GET', `/subscriptions/${sub}/providers/Microsoft.Storage/bogusThings?api-version=2023-07-01`)).json!.error!.code, 'NotFound', 'another namespace');
    // A subscription's classic administrators (az's --include-classic-administrators): served, and there are none.
    const classic = await raw('GET', `/subscriptions/${sub}/providers/Microsoft.Authorization/classicAdministrators?api-version=2015-06-01`);
    assert.equal(classic.status, 200, classic.text);
    assert.deepEqual(classic.json, { value: [] });
    assert.equal((await raw('PUT', `/subscriptions/${sub}/providers/Microsoft.Authorization/classicAdministrators?api-version=2015-06-01`, '{}')).status, 405);
  });

  it('an unknown type is looked at after the checks every Resource Manager request gets, whatever the method: the api-version, then the token', async () => {
    for (const path of [`/subscriptions/${sub}/providers/Microsoft.KeyVault/bogusThings`, `/subscriptions/${sub}/providers/Microsoft.Authorization/bogusThings`, '/providers/Microsoft.Authorization/bogusThings']) {
      for (const method of ['GET', 'PUT', 'DELETE', 'POST', 'PATCH']) {
        const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
        const anonymous = await rawRequest(`${server.url}${path}?api-version=2023-07-01`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body });
        assert.equal(anonymous.status, 401, `${method} ${path}: ${anonymous.text}`);
        assert.match(String(anonymous.headers['www-authenticate']), /^Bearer authorization_uri="[^"]+", error="invalid_token"/);
        const unversioned = await raw(method, path, body);
        assert.deepEqual([unversioned.status, unversioned.json!.error!.code], [400, 'MissingApiVersionParameter'], `${method} ${path}`);
      }
    }
    // A served type's POST or PATCH that no route takes is still not found, once authenticated.
    const patch = await raw('PATCH', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/x?api-version=2022-04-01`, '{}');
    assert.deepEqual([patch.status, patch.json!.error!.code], [404, 'NotFound']);
    const anonymous = await rawRequest(`${server.url}/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/x?api-version=2022-04-01`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(anonymous.status, 401);
  });
});
