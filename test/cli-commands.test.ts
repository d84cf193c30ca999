import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credential, secretClient } from './support/clients.js';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Every coffer command against a running server, as a subprocess: exit codes,
// JSON, table output, --query, and az-style errors.

describe('coffer CLI commands', () => {
  let server: TestServer;
  let home: string;
  let files: string;
  const { ok, cli, json, fails, signIn } = cliRunners(() => home);

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    files = mkdtempSync(join(tmpdir(), 'coffer-cli-files-'));
    await signIn(server);
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'cmd-vault', '-g', 'rg', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'policy-vault', '-g', 'rg', '--enable-rbac-authorization', 'false', '-o', 'none');
  });
  after(() => server?.stop());

  it('secret set, show (--version, --id), list, list-versions and set-attributes', async () => {
    const v1 = await json('keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', 'db', '--value', 'one', '--content-type', 'text/plain', '--tags', 'env=test', 'team=data');
    assert.deepEqual(v1.tags, { env: 'test', team: 'data', 'file-encoding': 'utf-8' });
    const v2 = await json('keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', 'db', '--value', 'two', '--expires', '2030-01-01T00:00:00Z');
    assert.equal(v2.attributes.expires, '2030-01-01T00:00:00+00:00');
    const version1 = v1.id.split('/').pop();
    assert.equal((await json('keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'db', '--version', version1)).value, 'one');
    assert.equal((await json('keyvault', 'secret', 'show', '--id', v1.id)).value, 'one');
    // As az: an id without a version takes --version's (coffer showed the latest).
    assert.equal((await json('keyvault', 'secret', 'show', '--id', v1.id.slice(0, -version1.length - 1), '--version', version1)).value, 'one');
    assert.equal((await cli('keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'db', '--query', 'value', '-o', 'tsv')).stdout.trim(), 'two');
    const versions = await json<Array<{ id: string }>>('keyvault', 'secret', 'list-versions', '--vault-name', 'cmd-vault', '-n', 'db');
    assert.equal(versions.length, 2);
    const table = (await cli('keyvault', 'secret', 'list', '--vault-name', 'cmd-vault', '-o', 'table')).stdout;
    assert.match(table.split('\n')[0]!, /^Name +Id +ContentType +Enabled +Expires$/);
    assert.match(table, /\bdb\b/);
    const disabled = await json('keyvault', 'secret', 'set-attributes', '--vault-name', 'cmd-vault', '-n', 'db', '--enabled', 'false');
    assert.equal(disabled.attributes.enabled, false);
    await fails(['keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'db'], /^ERROR: Operation get is not allowed on a disabled secret/); // as az: a vault's error other than a 404 is its message alone
    await cli('keyvault', 'secret', 'set-attributes', '--id', v2.id, '--enabled', 'true', '-o', 'none');
    // az's validate_key_id: the two ways of naming a secret exclude each other, and half of one is a usage error (exit 1).
    await fails(['keyvault', 'secret', 'show', '--id', v2.id, '--vault-name', 'cmd-vault'], /^ERROR: --vault-name and --id are mutually exclusive\.\n$/);
    await fails(['keyvault', 'secret', 'show', '--vault-name', 'cmd-vault'], /^ERROR: incorrect usage: --id ID \| --vault-name\/--hsm-name VAULT\/HSM --name\/-n NAME \[--version VERSION\]\n$/);
    await fails(['keyvault', 'secret', 'list'], /^ERROR: Please specify --vault-name or --hsm-name\.\n$/);
  });

  it('secret set --file with each encoding, and download round-trips', async () => {
    const binary = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    writeFileSync(join(files, 'bin'), binary);
    writeFileSync(join(files, 'text'), 'héllo\n');
    for (const [encoding, input] of [['base64', 'bin'], ['hex', 'bin'], ['utf-8', 'text']] as const) {
      const set = await json('keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', `file-${encoding}`, '--file', join(files, input), '--encoding', encoding);
      assert.equal(set.tags['file-encoding'], encoding);
      const out = join(files, `out-${encoding}`);
      await cli('keyvault', 'secret', 'download', '--vault-name', 'cmd-vault', '-n', `file-${encoding}`, '--file', out, '--encoding', encoding);
      assert.deepEqual(readFileSync(out), readFileSync(join(files, input)));
      assert.equal(statSync(out).mode & 0o777, 0o600);
    }
    await fails(['keyvault', 'secret', 'download', '--vault-name', 'cmd-vault', '-n', 'file-hex', '--file', join(files, 'out-hex')], /already exists/);
    await fails(['keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', 'x', '--file', join(files, 'bin'), '--encoding', 'utf-16'], /^ERROR: coffer keyvault secret set: 'utf-16' is not a valid value for '--encoding'\. Allowed values: utf-8, utf-16le, utf-16be, ascii, base64, hex\.\nDid you mean 'utf-16le' \?\n$/, 2);
  });

  it('secret delete, list-deleted, show-deleted, recover, purge; backup and restore through files', async () => {
    await cli('keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', 'gone', '--value', 'bye', '-o', 'none');
    const deleting = await cli('keyvault', 'secret', 'delete', '--vault-name', 'cmd-vault', '-n', 'gone');
    const deleted = deleting.json<{ recoveryId: string }>();
    assert.match(deleted.recoveryId, /\/deletedsecrets\/gone$/);
    assert.match(deleting.stderr, /^WARNING: Warning! If you have soft-delete protection enabled on this key vault, this secret will be moved to the soft deleted state\. .*\nhttps:\/\/docs\.microsoft\.com\/azure\/key-vault\/general\/soft-delete-overview\n$/s, "az's notice");
    assert.deepEqual((await json<Array<{ name: string }>>('keyvault', 'secret', 'list-deleted', '--vault-name', 'cmd-vault')).map((d) => d.name), ['gone']);
    assert.equal((await json('keyvault', 'secret', 'show-deleted', '--id', deleted.recoveryId)).name, 'gone');
    await cli('keyvault', 'secret', 'recover', '--vault-name', 'cmd-vault', '-n', 'gone', '-o', 'none');
    assert.equal((await json('keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'gone')).value, 'bye');

    const backup = join(files, 'gone.bak');
    writeFileSync(backup, 'an older backup', { mode: 0o644 });
    // As az's backup_secret: an existing file is written over (a nightly backup to one path works).
    await cli('keyvault', 'secret', 'backup', '--vault-name', 'cmd-vault', '-n', 'gone', '--file', backup);
    await cli('keyvault', 'secret', 'backup', '--vault-name', 'cmd-vault', '-n', 'gone', '--file', backup);
    assert.equal(statSync(backup).mode & 0o777, 0o600, 'and kept readable by its owner only');
    assert.ok(!readFileSync(backup).includes(Buffer.from('bye')));
    assert.ok(!readFileSync(backup).includes(Buffer.from('an older backup')));
    assert.equal((await cli('keyvault', 'secret', 'delete', '--vault-name', 'cmd-vault', '-n', 'gone', '-o', 'none', '--only-show-errors')).stderr, '', '--only-show-errors hides it');
    await cli('keyvault', 'secret', 'purge', '--vault-name', 'cmd-vault', '-n', 'gone');
    assert.deepEqual(await json('keyvault', 'secret', 'list-deleted', '--vault-name', 'cmd-vault'), []);
    // az's global arguments, as restore takes them (--only-show-errors with --verbose is knack's error, twice, exit 1).
    await cli('keyvault', 'secret', 'restore', '--vault-name', 'cmd-vault', '--file', backup, '-o', 'none', '--verbose');
    const both = await coffer(home, ['keyvault', 'secret', 'list', '--vault-name', 'cmd-vault', '--debug', '--only-show-errors']);
    assert.deepEqual([both.code, both.stdout, both.stderr], [1, '', "--only-show-errors can't be used together with --debug or --verbose\n".repeat(2)]);
    assert.equal((await json('keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'gone')).value, 'bye');
  });

  it('vault show, list, update, delete, list-deleted, recover and purge', async () => {
    assert.equal((await json('keyvault', 'show', '-n', 'cmd-vault')).properties.enableRbacAuthorization, true);
    assert.equal((await json('keyvault', 'update', '-n', 'cmd-vault', '--enable-purge-protection', 'true')).properties.enablePurgeProtection, true);
    await cli('keyvault', 'create', '-n', 'short-lived', '-g', 'rg', '-o', 'none');
    await cli('keyvault', 'delete', '-n', 'short-lived');
    // As az: with -g the DELETE goes out at once, and a vault that is not there is no error; a group's list
    // that fails (a group that does not exist) is empty (list_vault_or_hsm's bare except).
    assert.equal((await cli('keyvault', 'delete', '-n', 'never-made', '-g', 'rg')).code, 0);
    assert.deepEqual(await json('keyvault', 'list', '-g', 'no-such-group'), []);
    // Without -g too: a subscription the server does not have (404 SubscriptionNotFound) lists nothing.
    const profile = join(home, 'profile.json');
    const saved = readFileSync(profile, 'utf8');
    const sub = (JSON.parse(saved) as { subscriptionId: string }).subscriptionId;
    writeFileSync(profile, saved.replaceAll(sub, '0badc0de-0000-4000-8000-000000000000'));
    try {
      assert.deepEqual(await json('keyvault', 'list'), []);
      await fails(['keyvault', 'list', '--resource-type', 'vault'], /^ERROR: \(SubscriptionNotFound\) The subscription '0badc0de-0000-4000-8000-000000000000' could not be found\./m, 3);
    } finally {
      writeFileSync(profile, saved);
    }
    assert.ok((await json<Array<{ name: string }>>('keyvault', 'list-deleted')).some((v) => v.name === 'short-lived'));
    // As az: -g must be the deleted vault's own group, exactly.
    await fails(['keyvault', 'recover', '-n', 'short-lived', '-g', 'RG'], /^ERROR: The specified resource group does not match that of the deleted vault or hsm short-lived\. The vault or hsm must be recovered to the original resource group rg\.$/m);
    await cli('keyvault', 'recover', '-n', 'short-lived', '-g', 'rg', '-o', 'none');
    assert.ok((await json<Array<{ name: string }>>('keyvault', 'list')).some((v) => v.name === 'short-lived'));
    await cli('keyvault', 'delete', '-n', 'short-lived');
    await cli('keyvault', 'purge', '-n', 'short-lived');
    assert.ok(!(await json<Array<{ name: string }>>('keyvault', 'list-deleted')).some((v) => v.name === 'short-lived'));
  });

  it('access policies by --spn, --upn and --object-id', async () => {
    const sp = await json('ad', 'sp', 'create-for-rbac', '--name', 'policy-sp');
    await cli('ad', 'user', 'create', '--user-principal-name', 'pat@coffer.local', '--display-name', 'Pat', '--password', 'A long password 1', '-o', 'none');
    await cli('keyvault', 'secret', 'set', '--vault-name', 'policy-vault', '-n', 'apono-mysql-user', '--value', '{"username":"u","password":"p"}', '-o', 'none');
    const vault = await json('keyvault', 'set-policy', '-n', 'policy-vault', '--spn', 'policy-sp', '--secret-permissions', 'get', 'list');
    const spObject = (await json('ad', 'sp', 'show', '--id', sp.appId)).id;
    assert.deepEqual(vault.properties.accessPolicies.find((p: { objectId: string }) => p.objectId === spObject).permissions.secrets, ['get', 'list']);
    const connector = secretClient(server, 'policy-vault', credential(server, sp.appId, sp.password));
    assert.equal((await connector.getSecret('apono-mysql-user')).value, '{"username":"u","password":"p"}');
    await cli('keyvault', 'set-policy', '-n', 'policy-vault', '--upn', 'pat@coffer.local', '--secret-permissions', 'get', '-o', 'none');
    await cli('keyvault', 'delete-policy', '-n', 'policy-vault', '--spn', sp.appId, '-o', 'none');
    await assert.rejects(connector.getSecret('apono-mysql-user'), (err: { statusCode?: number }) => err.statusCode === 403);
    // As az's enum argument: refused before any request.
    await fails(['keyvault', 'set-policy', '-n', 'policy-vault', '--object-id', spObject, '--secret-permissions', 'read'], /^ERROR: coffer keyvault set-policy: 'read' is not a valid value for '--secret-permissions'/, 2);
    // Graph's /me is for a signed-in user: a service principal's login gets its refusal.
    await fails(['ad', 'signed-in-user', 'show'], /\/me request is only valid with delegated authentication flow\./);
    // az's _object_id_args_helper: a warning naming what was not found, then one error.
    await fails(['keyvault', 'set-policy', '-n', 'policy-vault', '--spn', 'nobody-by-this-name', '--secret-permissions', 'get'], /^WARNING: Unable to find user with spn 'nobody-by-this-name'\nERROR: Unable to get object id from principal name\.\n$/);
    await fails(['keyvault', 'delete-policy', '-n', 'policy-vault', '--upn', 'nobody@coffer.local'], /^WARNING: Unable to find user with upn 'nobody@coffer.local'\nERROR: Unable to get object id from principal name\.\n$/);
  });

  it('role definition create (from a file, PowerShell-style names), update, assignment of it, delete', async () => {
    const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    const file = join(files, 'reader-role.json');
    writeFileSync(file, JSON.stringify({ Name: 'Secret Peeker', Description: 'reads one thing', Actions: [], DataActions: ['Microsoft.KeyVault/vaults/secrets/readMetadata/action'], NotDataActions: [], AssignableScopes: [sub] }));
    const created = await json('role', 'definition', 'create', '--role-definition', `@${file}`);
    assert.equal(created.roleName, 'Secret Peeker');
    assert.equal(created.roleType, 'CustomRole');
    assert.equal(created.type, 'Microsoft.Authorization/roleDefinitions');
    assert.deepEqual(created.assignableScopes, [sub]);
    assert.deepEqual(created.permissions[0].dataActions, ['Microsoft.KeyVault/vaults/secrets/readMetadata/action']);
    assert.deepEqual((await json('role', 'definition', 'list', '--name', 'Secret Peeker')).map((r: { name: string }) => r.name), [created.name]);

    // Update by name (inline JSON), keeping its id; the role's grant follows.
    const updated = await json('role', 'definition', 'update', '--role-definition', JSON.stringify({ name: 'Secret Peeker', dataActions: ['Microsoft.KeyVault/vaults/secrets/*'], assignableScopes: [sub] }));
    assert.equal(updated.name, created.name);
    assert.deepEqual(updated.permissions[0].dataActions, ['Microsoft.KeyVault/vaults/secrets/*']);
    const sp = await json('ad', 'sp', 'create-for-rbac', '--name', 'peeker-sp');
    await cli('keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', 'peeked', '--value', 'seen', '-o', 'none');
    const vaultId = (await json('keyvault', 'show', '-n', 'cmd-vault')).id as string;
    await cli('role', 'assignment', 'create', '--role', 'Secret Peeker', '--assignee', sp.appId, '--scope', vaultId, '-o', 'none');
    assert.equal((await secretClient(server, 'cmd-vault', credential(server, sp.appId, sp.password)).getSecret('peeked')).value, 'seen');

    // az's messages for a bad definition; an update of a role that does not exist.
    await fails(['role', 'definition', 'create', '--role-definition', '[1]'], /^ERROR: Invalid role definition\. A valid dictionary JSON representation is expected\.$/m);
    // Neither JSON nor a Python literal: az's shell_safe_json_parse error, Python's words for the JSON error.
    const unparsed = await coffer(home, ['role', 'definition', 'create', '--role-definition', '{bad json']);
    assert.equal(unparsed.code, 1);
    assert.equal(unparsed.stderr, "ERROR: Failed to parse string as JSON:\n{bad json\nError detail: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)\nThe provided JSON string may have been parsed by the shell. See https://docs.microsoft.com/cli/azure/use-cli-effectively#use-quotation-marks-in-arguments\n");
    await fails(['role', 'definition', 'create', '--role-definition', '{"Description":"x"}'], /^ERROR: please provide role name$/m);
    await fails(['role', 'definition', 'create', '--role-definition', '{"Name":"No Scopes"}'], /^ERROR: please provide 'assignableScopes'$/m);
    await fails(['role', 'definition', 'update', '--role-definition', `{"Name":"Nobody's Role","AssignableScopes":["${sub}"]}`], /^ERROR: No role definition is found with name: Nobody's Role$/m);

    // Assigned, it cannot go (409); unassigned, it goes, and deleting it again does nothing.
    await fails(['role', 'definition', 'delete', '--name', 'Secret Peeker'], /assign/i);
    await cli('role', 'assignment', 'delete', '--assignee', sp.appId, '--role', 'Secret Peeker', '--scope', vaultId);
    assert.equal((await cli('role', 'definition', 'delete', '--name', 'Secret Peeker', '--custom-role-only')).stdout, '');
    assert.deepEqual(await json('role', 'definition', 'list', '--name', 'Secret Peeker'), []);
    await cli('role', 'definition', 'delete', '--name', 'Secret Peeker');
  });

  it('role assignment create (with --end-time), list, delete; role definition list; check-access', async () => {
    const sp = await json('ad', 'sp', 'create-for-rbac', '--name', 'role-sp');
    await cli('keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', 'granted', '--value', 'yes', '-o', 'none');
    const vaultId = (await json('keyvault', 'show', '-n', 'cmd-vault')).id;
    const scope = `${vaultId}/secrets/granted`;
    const created = await json('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', sp.appId, '--scope', scope);
    assert.equal(created.scope, scope);
    assert.equal(created.roleDefinitionId.split('/').pop(), '4633458b-17de-408a-b874-0445c86b69e6');
    assert.equal(created.principalType, 'ServicePrincipal');
    assert.equal('endDateTime' in created, false, "az's create prints the RoleAssignment model, which has none");
    const client = secretClient(server, 'cmd-vault', credential(server, sp.appId, sp.password));
    assert.equal((await client.getSecret('granted')).value, 'yes');

    const listed = await json<Array<{ name: string; roleDefinitionName: string }>>('role', 'assignment', 'list', '--scope', scope, '--assignee', sp.appId);
    assert.deepEqual(listed.map((a) => a.roleDefinitionName), ['Key Vault Secrets User']);
    assert.equal('endDateTime' in listed[0]!, false, 'no endDateTime column for an assignment without one (az -o tsv columns)');
    // A scope without its leading '/' works as in az (it goes into a URL template after one).
    assert.deepEqual(await json('role', 'assignment', 'list', '--scope', scope.slice(1), '--assignee', sp.appId), listed);
    const explained = await json('role', 'check-access', '--assignee', 'role-sp', '--scope', scope);
    assert.equal(explained.data.find((d: { operation: string }) => d.operation === 'SecretGet').allowed, true);
    assert.equal(explained.data.find((d: { operation: string }) => d.operation === 'SecretSet').allowed, false);

    await cli('role', 'assignment', 'delete', '--assignee', sp.appId, '--role', 'Key Vault Secrets User', '--scope', scope);
    await assert.rejects(client.getSecret('granted'), (err: { statusCode?: number }) => err.statusCode === 403);

    const end = new Date(Date.now() + 3600_000).toISOString();
    const timed = await json('role', 'assignment', 'create', '--role', '4633458b-17de-408a-b874-0445c86b69e6', '--assignee-object-id', created.principalId, '--assignee-principal-type', 'ServicePrincipal', '--scope', scope, '--end-time', end);
    // az's create prints no endDateTime; coffer's list shows it.
    const [listedTimed] = await json<Array<{ id: string; endDateTime: string }>>('role', 'assignment', 'list', '--scope', scope, '--assignee', sp.appId);
    assert.equal(listedTimed!.id, timed.id);
    assert.equal(listedTimed!.endDateTime, new Date(Math.floor(Date.parse(end) / 1000) * 1000).toISOString());
    const ignored = await cli('role', 'assignment', 'delete', '--ids', timed.id.slice(1), '--role', 'Key Vault Secrets User');
    assert.equal(ignored.stderr, "WARNING: option '--role' will be ignored due to use of '--ids'.\n");

    // az's delete_role_assignments: --include-inherited takes the matching ones above the scope too; nothing to narrow it asks first.
    const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    for (const at of [sub, scope]) await cli('role', 'assignment', 'create', '--role', 'Key Vault Reader', '--assignee', sp.appId, '--scope', at, '-o', 'none');
    await cli('role', 'assignment', 'delete', '--assignee', sp.appId, '--role', 'Key Vault Reader', '--scope', scope);
    assert.deepEqual((await json<Array<{ scope: string }>>('role', 'assignment', 'list', '--assignee', sp.appId, '--role', 'Key Vault Reader', '--all')).map((a) => a.scope), [sub], 'the one above stays without it');
    await cli('role', 'assignment', 'create', '--role', 'Key Vault Reader', '--assignee', sp.appId, '--scope', scope, '-o', 'none');
    await cli('role', 'assignment', 'delete', '--assignee', sp.appId, '--role', 'Key Vault Reader', '--scope', scope, '--include-inherited');
    assert.deepEqual(await json('role', 'assignment', 'list', '--assignee', sp.appId, '--role', 'Key Vault Reader', '--all'), []);
    await fails(['role', 'assignment', 'delete', '--assignee', sp.appId, '--role', 'Key Vault Reader', '--scope', scope], /^ERROR: No matched assignments were found to delete\n$/);
    await fails(['role', 'assignment', 'delete'], /^ERROR: Unable to prompt for confirmation as no tty available\. Use --yes\.\n$/);

    // The RoleDefinition model's key order, as az shows it with --query.
    assert.deepEqual(await json('role', 'definition', 'list', '--name', 'Key Vault Reader', '--query', '[0] | keys(@)'), ['id', 'name', 'type', 'roleName', 'description', 'roleType', 'permissions', 'assignableScopes']);
    const roles = await json<Array<{ roleName: string }>>('role', 'definition', 'list', '--query', "[?starts_with(roleName, 'Key Vault')]");
    assert.ok(roles.some((r) => r.roleName === 'Key Vault Secrets User'));
    assert.equal((await cli('role', 'definition', 'list', '-n', 'Key Vault Reader', '--query', '[0].name', '-o', 'tsv')).stdout.trim(), '21090545-7ca7-4776-b22c-e363652d74d2');
    // As az's _search_role_definitions: an exact match by name or id, and none is an empty list (exit 0).
    assert.deepEqual(await json('role', 'definition', 'list', '-n', 'no such role'), []);
    assert.deepEqual(await json('role', 'definition', 'list', '-n', 'key vault reader'), []);
    assert.equal((await json<unknown[]>('role', 'definition', 'list', '-n', '21090545-7ca7-4776-b22c-e363652d74d2', '-g', 'rg')).length, 1);
    assert.deepEqual(await json('role', 'definition', 'list', '--custom-role-only', 'true', '--query', "[?roleType!='CustomRole']"), []);
    await fails(['role', 'assignment', 'create', '--role', 'No Such Role', '--assignee', sp.appId, '--scope', scope], /^ERROR: Role 'No Such Role' doesn't exist\.$/m);
  });

  it("role assignment create as az: the scope defaults to -g's group, role names are looked up at the scope, so a vault's own access administrator can assign there", async () => {
    const sp = await json('ad', 'sp', 'create-for-rbac', '--name', 'scoped-reader');
    const inGroup = await json('role', 'assignment', 'create', '--role', 'Key Vault Reader', '--assignee', sp.appId, '-g', 'rg');
    assert.equal(inGroup.scope, `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg`);
    await fails(['role', 'assignment', 'create', '--role', 'Key Vault Reader', '--assignee', sp.appId, '-g', 'rg', '--scope', inGroup.scope], /^ERROR: Resource group "rg" is redundant because scope is supplied$/m);

    // Key Vault Data Access Administrator on one vault only: it may not read the subscription's roles.
    const vaultId = (await json('keyvault', 'show', '-n', 'cmd-vault')).id;
    const admin = await json('ad', 'sp', 'create-for-rbac', '--name', 'vault-access-admin', '--role', 'Key Vault Data Access Administrator', '--scopes', vaultId);
    const theirs = cliHome();
    ok(await coffer(theirs, ['login', '--service-principal', '-u', admin.appId, '-p', admin.password, '--tenant', server.bootstrap.tenantId, '--server', server.url, '-o', 'none']));
    const asAdmin = async (...args: string[]) => ok(await coffer(theirs, args)).json<any>();
    const granted = await asAdmin('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee-object-id', inGroup.principalId, '--assignee-principal-type', 'ServicePrincipal', '--scope', vaultId);
    assert.equal(granted.scope, vaultId);
    const listed = await asAdmin('role', 'assignment', 'list', '--scope', vaultId, '--role', 'Key Vault Secrets User');
    assert.deepEqual(listed.map((a: { principalId: string }) => a.principalId), [inGroup.principalId]);
    ok(await coffer(theirs, ['role', 'assignment', 'delete', '--scope', vaultId, '--role', 'Key Vault Secrets User']));
    assert.deepEqual(await json('role', 'assignment', 'list', '--scope', vaultId, '--role', 'Key Vault Secrets User'), []);
  });

  it('group delete asks for confirmation as az does, then takes the group and its vaults (soft-deleted)', async () => {
    await cli('group', 'create', '-n', 'rg-cli-gone', '-l', 'local', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'cli-gone-vault', '-g', 'rg-cli-gone', '-o', 'none');
    // No terminal to ask on (a pipe): refused, nothing deleted.
    // az registers group delete with confirmation=True: knack warns, then cancels.
    await fails(['group', 'delete', '-n', 'rg-cli-gone'], /^WARNING: Unable to prompt for confirmation as no tty available\. Use --yes\.\nERROR: Operation cancelled\.\n$/);
    assert.equal((await json('group', 'show', '-n', 'rg-cli-gone')).name, 'rg-cli-gone');
    const deleted = await cli('group', 'delete', '-n', 'rg-cli-gone', '--yes');
    assert.equal(deleted.stdout, '');
    await fails(['group', 'show', '-n', 'rg-cli-gone'], /ResourceGroupNotFound/, 3);
    assert.ok((await json<Array<{ name: string }>>('keyvault', 'list-deleted')).some((d) => d.name === 'cli-gone-vault'));
    await fails(['group', 'delete', '-g', 'rg-cli-gone', '-y'], /\(ResourceGroupNotFound\) Resource group 'rg-cli-gone' could not be found\./, 3);
  });

  it('denied access and bad input exit non-zero with az-style messages', async () => {
    const outsider = await json('ad', 'sp', 'create-for-rbac', '--name', 'cli-outsider');
    const other = cliHome();
    const login = await coffer(other, ['login', '--service-principal', '-u', outsider.appId, '-p', outsider.password, '--tenant', server.bootstrap.tenantId, '--server', server.url]);
    assert.equal(login.code, 1, 'no role, no subscription');
    // With a role on one secret only, everything else is denied.
    const vaultId = (await json('keyvault', 'show', '-n', 'cmd-vault')).id;
    await cli('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', outsider.appId, '--scope', `${vaultId}/secrets/granted`, '-o', 'none');
    assert.equal((await coffer(other, ['login', '--service-principal', '-u', outsider.appId, '-p', outsider.password, '--tenant', server.bootstrap.tenantId, '--server', server.url, '-o', 'none'])).code, 0);
    const denied = await coffer(other, ['keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'db']);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^ERROR: Caller is not authorized to perform action on resource/);
    const noVault = await coffer(other, ['keyvault', 'secret', 'show', '--vault-name', 'ghost-vault', '-n', 'db']);
    assert.equal(noVault.code, 1, "as az, whose request for a vault that is not there finds no host");
    assert.match(noVault.stderr, /^ERROR: Max retries exceeded attempting to connect to Vault\. The Vault may not exist/);
    // Resource Manager's errors as az's azure-core clients print them: the code and message again below.
    const noGroup = await coffer(home, ['group', 'show', '-n', 'no-such-group']);
    assert.equal(noGroup.code, 3);
    const text = "Resource group 'no-such-group' could not be found.";
    assert.equal(noGroup.stderr, `ERROR: (ResourceGroupNotFound) ${text}\nCode: ResourceGroupNotFound\nMessage: ${text}\n`);
    // az 2.45's track-1 SDK checks a name it sets before it sends anything.
    for (const name of ['bad_name', '']) {
      await fails(['keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', name, '--value', 'x'], /^ERROR: Parameter 'secret_name' must conform to the following pattern: '\^\[0-9a-zA-Z-\]\+\$'\.\n$/, 1);
    }
    await fails(['keyvault', 'secret', 'show', '--vault-name', 'cmd-vault'], /^ERROR: incorrect usage: --id ID/, 1);
    await fails(['keyvault', 'show', '-g', 'rg-cli'], /^ERROR: Please specify --vault-name or --hsm-name\.\n$/, 1);
  });

  it('output formats, --debug without secrets, and logout', async () => {
    const yaml = (await cli('keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'granted', '-o', 'yaml')).stdout;
    assert.match(yaml, /^name: granted$/m);
    assert.equal((await cli('keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'granted', '-o', 'none')).stdout, '');
    const debug = await cli('keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'granted', '--debug', '-o', 'none');
    assert.match(debug.stderr, /DEBUG: GET https:\/\/cmd-vault\.vault\.localhost:\d+\/secrets\/granted -> 200/);
    assert.doesNotMatch(debug.stderr, /yes|Bearer|eyJ/);
    await fails(['keyvault', 'list', '-o', 'XML'], /^ERROR: coffer keyvault list: 'xml' is not a valid value for '--output'\. Allowed values: json, jsonc, yaml, yamlc, table, tsv, none\.\n$/, 2);
    const other = cliHome();
    ok(await coffer(other, ['login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none']));
    ok(await coffer(other, ['logout']));
    assert.equal(existsSync(join(other, 'profile.json')), false);
    const again = await coffer(other, ['logout']);
    assert.equal(again.code, 1);
  });
  it("argument values are checked as az's argparse reads them: the first bad one, before the login", async () => {
    const loggedOut = cliHome();
    const logged = async (args: string[], pattern: RegExp) => {
      const r = await coffer(loggedOut, args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, pattern);
    };
    const attrs = ['keyvault', 'secret', 'set-attributes', '--vault-name', 'cmd-vault', '-n', 'x'];
    await logged([...attrs, '--enabled', 'ture', '--expires', 'bad'], /^ERROR: coffer keyvault secret set-attributes: 'ture' is not a valid value for '--enabled'\. Allowed values: true, false\.\nDid you mean 'true' \?\n$/);
    await logged([...attrs, '--expires', 'bad', '--enabled', 'ture'], /^ERROR: argument --expires: invalid datetime_type value: 'bad'\n$/);
    await logged(['keyvault', 'update', '-n', 'v', '--bypass', 'none', '--default-action', 'Alow'], /^ERROR: coffer keyvault update: 'Alow' is not a valid value for '--default-action'\. Allowed values: Allow, Deny\.\nDid you mean 'Allow' \?\n$/);
    await logged(['keyvault', 'set-policy', '-n', 'v', '--object-id', 'o', '--secret-permissions', 'GET', 'lst'], /^ERROR: coffer keyvault set-policy: 'lst' is not a valid value for '--secret-permissions'\. Allowed values: all, get, list, set, delete, backup, restore, recover, purge\.\nDid you mean 'list' \?\n$/);
    await logged(['account', 'get-access-token', '--resource-type', 'graph'], /^ERROR: coffer account get-access-token: 'graph' is not a valid value for '--resource-type'\. Allowed values: oss-rdbms, arm, aad-graph, ms-graph, batch, media, data-lake\.\nDid you mean 'ms-graph' \?\n$/);
    await logged(['role', 'assignment', 'create', '--role', 'r', '--assignee-object-id', 'o', '--assignee-principal-type', 'user1'], /'user1' is not a valid value for '--assignee-principal-type'\. Allowed values: User, Group, ServicePrincipal, ForeignGroup\.\n$/);
    // A value that passes (any case) leaves the login check to say its piece.
    const r = await coffer(loggedOut, [...attrs, '--enabled', 'FALSE', '-o', 'TSV']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /coffer login/);
  });

  it('usage mistakes az refuses are refused, and change nothing', async () => {
    await cli('keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', 'guarded', '--value', 'kept', '--expires', '2030-01-01T00:00:00Z', '-o', 'none');
    const set = ['keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', 'guarded'];
    // az checks these in a validator with a CLIError: exit 1.
    await fails([...set, '--tags', 'owner=x'], /^ERROR: incorrect usage: \[Required\] --value VALUE \| --file PATH$/m, 1);
    await fails([...set, '--value', 'a', '--file', join(files, 'bin')], /^ERROR: incorrect usage: \[Required\] --value VALUE \| --file PATH$/m, 1);
    await fails([...set, '--value', ''], /^ERROR: incorrect usage: \[Required\] --value VALUE \| --file PATH$/m, 1);
    await fails(['keyvault', 'secret', 'set-attributes', '--vault-name', 'cmd-vault', '-n', 'guarded', '--expires', '31/12/2027'], /^ERROR: argument --expires: invalid datetime_type value: '31\/12\/2027'$/m, 2);
    // az's datetime_type forms: to the second, the minute, the hour, or a date.
    await cli('keyvault', 'secret', 'set', '--vault-name', 'cmd-vault', '-n', 'dated', '--value', 'x', '-o', 'none');
    for (const [given, expected] of [['2031-02-03T04:05:06Z', '2031-02-03T04:05:06+00:00'], ['2031-02-03T04:05Z', '2031-02-03T04:05:00+00:00'], ['2031-02-03T04Z', '2031-02-03T04:00:00+00:00'], ['2031-02-03', '2031-02-03T00:00:00+00:00']]) {
      const set = await json('keyvault', 'secret', 'set-attributes', '--vault-name', 'cmd-vault', '-n', 'dated', '--expires', given!);
      assert.equal(set.attributes.expires, expected, given);
    }
    await fails(['keyvault', 'secret', 'set-attributes', '--vault-name', 'cmd-vault', '-n', 'guarded', '--enabled', 'yes'], /^ERROR: coffer keyvault secret set-attributes: 'yes' is not a valid value for '--enabled'\. Allowed values: true, false\.\n$/, 2);
    const kept = await json('keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'guarded');
    assert.equal(kept.value, 'kept');
    assert.equal(kept.attributes.expires, '2030-01-01T00:00:00+00:00');
    assert.equal((await json('keyvault', 'secret', 'list-versions', '--vault-name', 'cmd-vault', '-n', 'guarded')).length, 1);
    const utc = await json('keyvault', 'secret', 'set-attributes', '--vault-name', 'cmd-vault', '-n', 'guarded', '--expires', '2031-06-01T12:00:00Z', '--enabled', 'True');
    assert.equal(utc.attributes.expires, '2031-06-01T12:00:00+00:00');
    assert.equal(utc.attributes.enabled, true);

    await fails(['keyvault', 'update', '-n', 'cmd-vault', '--enable-rbac-authorization', 'flase'], /^ERROR: coffer keyvault update: 'flase' is not a valid value for '--enable-rbac-authorization'\. Allowed values: true, false\.\nDid you mean 'false' \?\n$/, 2);
    assert.equal((await json('keyvault', 'show', '-n', 'cmd-vault')).properties.enableRbacAuthorization, true);
    // Names, scopes and ids stay on this server: a token never goes elsewhere.
    await fails(['keyvault', 'secret', 'show', '--vault-name', 'evil.example:443/x?', '-n', 'guarded'], /is not a vault name/, 2);
    // An id goes after a '/' of this server's URL, as az puts it into its URL template: never to another host.
    await fails(['role', 'assignment', 'delete', '--ids', '@evil.example/x'], /^ERROR: \(NotFound\) The requested resource '\/@evil\.example\/x' was not found\./, 3);
    // An --id naming another host's vault is refused, not read from this server's vault of the same name.
    const own = await json('keyvault', 'secret', 'show', '--vault-name', 'cmd-vault', '-n', 'guarded');
    assert.equal((await json('keyvault', 'secret', 'show', '--id', own.id)).value, 'kept');
    await fails(['keyvault', 'secret', 'show', '--id', own.id.replace(/^https:\/\/cmd-vault\.[^/]+/, 'https://cmd-vault.example.com')], /is not a secret identifier of this server's vaults/, 2);
    await fails(['keyvault', 'secret', 'list', '--id', 'https://cmd-vault.example.com'], /is not the URL of this server's vaults/, 2);
  });
});
