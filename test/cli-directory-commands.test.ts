import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credential } from './support/clients.js';
import { cliHome, cliRunners } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The directory commands (ad sp, ad user, ad group) against a running server,
// as a subprocess: az's output, errors and exit codes.

describe('coffer CLI directory commands', () => {
  let server: TestServer;
  let home: string;
  const { cli, json, fails, signIn } = cliRunners(() => home);

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
  });
  after(() => server?.stop());

  it("ad sp create-for-rbac takes az's deprecated options: --display-name for --name, --skip-assignment a no-op, --sdk-auth the SDKs' auth file", async () => {
    const sdk = await cli('ad', 'sp', 'create-for-rbac', '--display-name', 'sdk-sp', '--skip-assignment', '--sdk-auth', '-o', 'table');
    assert.match(sdk.stderr, /^WARNING: Option '--sdk-auth' has been deprecated and will be removed in a future release\.$/m);
    assert.match(sdk.stderr, /^WARNING: Option '--skip-assignment' has been deprecated and will be removed in a future release\.$/m);
    const auth = sdk.json<Record<string, string>>();
    assert.deepEqual(Object.keys(auth), ['clientId', 'clientSecret', 'subscriptionId', 'tenantId', 'activeDirectoryEndpointUrl', 'resourceManagerEndpointUrl', 'activeDirectoryGraphResourceId', 'sqlManagementEndpointUrl', 'galleryEndpointUrl', 'managementEndpointUrl']);
    assert.equal(auth.subscriptionId, server.bootstrap.subscriptionId);
    assert.equal(auth.activeDirectoryEndpointUrl, server.url);
    assert.ok((await credential(server, auth.clientId, auth.clientSecret).getToken(`${server.url}/.default`)).token);
    assert.deepEqual((await json<Array<{ displayName: string }>>('ad', 'sp', 'list', '--display-name', 'sdk-sp')).map((p) => p.displayName), ['sdk-sp']);
  });

  it('ad sp list/show/delete, ad user list, ad group create/member add/member list', async () => {
    const sp = await json('ad', 'sp', 'create-for-rbac', '--name', 'dir-sp');
    assert.ok((await json<Array<{ appId: string }>>('ad', 'sp', 'list', '--display-name', 'dir-')).some((x) => x.appId === sp.appId));
    const shown = await json('ad', 'sp', 'show', '--id', sp.appId);
    assert.equal((await json('ad', 'sp', 'show', '--id', shown.id)).appId, sp.appId, 'by object id too');
    // As az 2.45: by a service principal name or object id, not by display name.
    await fails(['ad', 'sp', 'show', '--id', 'dir-sp'], /^ERROR: Service principal 'dir-sp' doesn't exist\n$/, 3);
    // As az: read whole, with the client secrets' metadata (never their text).
    assert.deepEqual(Object.keys(shown.passwordCredentials[0]).sort(), ['displayName', 'endDateTime', 'hint', 'keyId', 'startDateTime']);
    assert.deepEqual((await json<Array<{ appId: string }>>('ad', 'sp', 'list', '--spn', sp.appId)).map((x) => x.appId), [sp.appId]);
    assert.deepEqual((await json<Array<{ appId: string }>>('ad', 'sp', 'list', '--filter', "displayName eq 'dir-sp'")).map((x) => x.appId), [sp.appId]);
    assert.ok((await json<Array<{ appId: string }>>('ad', 'sp', 'list', '--all')).some((x) => x.appId === sp.appId));
    const group = await json('ad', 'group', 'create', '--display-name', 'connectors', '--mail-nickname', 'connectors');
    await cli('ad', 'group', 'member', 'add', '--group', 'connectors', '--member-id', shown.id);
    assert.deepEqual((await json<Array<{ id: string }>>('ad', 'group', 'member', 'list', '--group', group.id)).map((m) => m.id), [shown.id]);
    assert.ok((await json<Array<{ id: string }>>('ad', 'group', 'list')).some((g) => g.id === group.id));
    // az's validate_group: a name exactly, else by a prefix only one group has; an object id as given (show: exit 3 when absent).
    assert.equal((await json('ad', 'group', 'show', '--group', 'connect')).id, group.id);
    await fails(['ad', 'group', 'show', '--group', 'no-such-group'], /^ERROR: No group matches the name of 'no-such-group'\n$/);
    await fails(['ad', 'group', 'show', '--group', shown.id], /does not exist or one of its queried reference-property objects are not present/, 3);
    await cli('ad', 'group', 'member', 'remove', '--group', 'connectors', '--member-id', shown.id);
    assert.deepEqual(await json('ad', 'group', 'member', 'list', '--group', 'connectors'), []);
    await cli('ad', 'group', 'create', '--display-name', 'short-lived', '--mail-nickname', 'short-lived', '-o', 'none');
    await cli('ad', 'group', 'delete', '--group', 'short-lived');
    await fails(['ad', 'group', 'show', '--group', 'short-lived'], /^ERROR: No group matches the name of 'short-lived'\n$/);
    await cli('ad', 'user', 'create', '--user-principal-name', 'lee@coffer.local', '--display-name', 'Lee', '--password', 'A long password 1', '-o', 'none');
    assert.ok((await json<Array<{ userPrincipalName: string }>>('ad', 'user', 'list')).some((u) => u.userPrincipalName === 'lee@coffer.local'));
    await cli('ad', 'sp', 'delete', '--id', sp.appId);
    // az's _resolve_service_principal: a GUID found by no filter is asked for as an object id (Graph's 404), a name is not; show exits 3.
    await fails(['ad', 'sp', 'show', '--id', sp.appId], new RegExp(`^ERROR: Resource '${sp.appId}' does not exist or one of its queried reference-property objects are not present\\.\n$`), 3);
    await fails(['ad', 'sp', 'show', '--id', 'no-such-sp'], /^ERROR: Service principal 'no-such-sp' doesn't exist\n$/, 3);
    await fails(['ad', 'sp', 'delete', '--id', 'no-such-sp'], /^ERROR: Service principal 'no-such-sp' doesn't exist\n$/, 1);
    // az's Graph client prints a Graph error's message without its code.
    await fails(['ad', 'sp', 'list', '--filter', 'bogus'], /^ERROR: Unsupported or invalid query filter clause specified: bogus\n$/, 1);
  });
});
