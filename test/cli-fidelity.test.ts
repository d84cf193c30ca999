import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { credential } from './support/clients.js';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { MSREST_MAXRESULTS } from './support/az-python.js';

// Where az behaves in a way coffer once did not: each case is az's behaviour
// (from az 2.45 and its source), run through the real CLI against a real server.

describe('coffer CLI behaves as az does', () => {
  let server: TestServer;
  let home: string;
  let files: string;
  const { cli, json, signIn } = cliRunners(() => home);
  /** Fails with this exit code and stderr, and prints nothing on stdout. */
  const fails = async (args: string[], pattern: RegExp, code: number) => {
    const r = await coffer(home, args);
    assert.equal(r.code, code, `expected exit ${code}: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stdout, '');
  };
  const policiesOf = async (vault: string) => (await json('keyvault', 'show', '-n', vault)).properties.accessPolicies as Array<{ objectId: string; permissions: { secrets?: string[] } }>;

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    files = mkdtempSync(join(tmpdir(), 'coffer-cli-fidelity-'));
    await signIn(server);
    await cli('group', 'create', '-n', 'rg1', '-l', 'local', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'rbac-vault', '-g', 'rg1', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'ap-vault', '-g', 'rg1', '--enable-rbac-authorization', 'false', '-o', 'none');
  });
  after(() => server?.stop());

  it('set-policy and delete-policy refuse a vault on the RBAC model, an unknown policy and no permissions, as az does', async () => {
    const objectId = crypto.randomUUID();
    await fails(['keyvault', 'set-policy', '-n', 'rbac-vault', '--object-id', objectId, '--secret-permissions', 'get'], /^ERROR: Cannot set policies to a vault with '--enable-rbac-authorization' specified\n$/, 1);
    await fails(['keyvault', 'delete-policy', '-n', 'rbac-vault', '--object-id', objectId], /^ERROR: Cannot delete policies to a vault with '--enable-rbac-authorization' specified\n$/, 1);
    assert.deepEqual(await policiesOf('rbac-vault'), [], 'nothing was sent');

    const before = await policiesOf('ap-vault');
    await fails(['keyvault', 'delete-policy', '-n', 'ap-vault', '--object-id', objectId], /^ERROR: No matching policies found\n$/, 1);
    await fails(['keyvault', 'set-policy', '-n', 'ap-vault', '--object-id', objectId], /^ERROR: specify at least one: --key-permissions, --secret-permissions, --certificate-permissions --storage-permissions\n$/, 2);
    await fails(['keyvault', 'set-policy', '-n', 'ap-vault', '--secret-permissions', 'get'], /^ERROR: specify exactly one: --object-id, --spn, --upn\n$/, 2);
    assert.deepEqual(await policiesOf('ap-vault'), before, 'nothing changed');

    // az's get_enum_type: any case, sent in the enum's spelling; repeats dropped; anything else refused before a request.
    await fails(['keyvault', 'set-policy', '-n', 'ap-vault', '--object-id', objectId, '--secret-permissions', 'get', 'bogus'], /^ERROR: coffer keyvault set-policy: 'bogus' is not a valid value for '--secret-permissions'\. Allowed values: all, get, list, set, delete, backup, restore, recover, purge\.\n$/, 2);
    assert.deepEqual(await policiesOf('ap-vault'), before, 'nothing was sent');
    await cli('keyvault', 'set-policy', '-n', 'ap-vault', '--object-id', objectId, '--secret-permissions', 'GET', 'List', 'get', '--key-permissions', 'WRAPKEY', '-o', 'none');
    const set = (await policiesOf('ap-vault')).find((p) => p.objectId === objectId)?.permissions as { secrets?: string[]; keys?: string[] };
    assert.deepEqual([set.secrets, set.keys], [['get', 'list'], ['wrapKey']]);
    await cli('keyvault', 'set-policy', '-n', 'ap-vault', '--object-id', objectId, '--secret-permissions', 'get', '-o', 'none');
    assert.deepEqual((await policiesOf('ap-vault')).find((p) => p.objectId === objectId)?.permissions.secrets, ['get']);
    await cli('keyvault', 'delete-policy', '-n', 'ap-vault', '--object-id', objectId, '-o', 'none');
    assert.deepEqual(await policiesOf('ap-vault'), before);
  });
  it("secret download without --encoding uses the secret's file-encoding tag, else utf-8", async () => {
    const binary = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    writeFileSync(join(files, 'bin'), binary);
    for (const encoding of ['base64', 'hex']) {
      await cli('keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', `dl-${encoding}`, '--file', join(files, 'bin'), '--encoding', encoding, '-o', 'none');
      const out = join(files, `dl-${encoding}.out`);
      await cli('keyvault', 'secret', 'download', '--vault-name', 'rbac-vault', '-n', `dl-${encoding}`, '--file', out);
      assert.deepEqual(readFileSync(out), binary, `${encoding}: decoded to the file's bytes`);
    }
    // No tag: utf-8 text; --encoding still wins over the tag.
    await cli('keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'dl-text', '--value', 'héllo', '-o', 'none');
    await cli('keyvault', 'secret', 'download', '--vault-name', 'rbac-vault', '-n', 'dl-text', '--file', join(files, 'dl-text.out'));
    assert.equal(readFileSync(join(files, 'dl-text.out'), 'utf8'), 'héllo');
    await cli('keyvault', 'secret', 'download', '--vault-name', 'rbac-vault', '-n', 'dl-hex', '--file', join(files, 'dl-hex.raw'), '--encoding', 'utf-8');
    assert.equal(readFileSync(join(files, 'dl-hex.raw'), 'utf8'), binary.toString('hex'));
    await fails(['keyvault', 'secret', 'download', '--vault-name', 'rbac-vault', '-n', 'dl-hex', '--file', join(files, 'dl-hex.raw')], /^ERROR: File or directory named '.*dl-hex\.raw' already exists\.\n$/, 1);
  });
  it('set --file and download: utf-16 names, a file-encoding tag on every set, malformed values leave no file', async () => {
    writeFileSync(join(files, 'crlf.txt'), 'user\r\npass\n');
    const set = await json('keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'enc-16', '--file', join(files, 'crlf.txt'), '-e', 'utf-16le');
    assert.equal(set.value, 'user\npass\n', "Python's universal newlines");
    assert.deepEqual(set.tags, { 'file-encoding': 'utf-16le' });
    await cli('keyvault', 'secret', 'download', '--vault-name', 'rbac-vault', '-n', 'enc-16', '--file', join(files, 'enc-16.out'));
    assert.equal(readFileSync(join(files, 'enc-16.out'), 'utf8'), 'user\npass\n');
    const plain = await json('keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'enc-plain', '--value', 'v', '--tags', 'file-encoding=hex', 'a=b');
    assert.deepEqual(plain.tags, { a: 'b', 'file-encoding': 'utf-8' });
    await fails(['keyvault', 'secret', 'download', '--vault-name', 'rbac-vault', '-n', 'enc-plain', '--file', join(files, 'bad.bin'), '-e', 'hex'], /^ERROR: Odd-length string\n$/, 1);
    assert.equal(existsSync(join(files, 'bad.bin')), false);
    writeFileSync(join(files, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    await fails(['keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'enc-bad', '--file', join(files, 'latin1.txt')], /^ERROR: Unable to decode file '.*latin1\.txt' with 'utf-8' encoding\.\n$/, 1);
    // Python's own errors, as az prints them: its UnicodeEncodeError (in a validator: exit 2) and its OSErrors.
    writeFileSync(join(files, 'accents.txt'), 'a\r\néx €€😀 z');
    await fails(['keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'enc-ascii', '--file', join(files, 'accents.txt'), '-e', 'ascii'], /^ERROR: 'ascii' codec can't encode character '\\xe9' in position 2: ordinal not in range\(128\)\n$/, 2);
    writeFileSync(join(files, 'run.txt'), 'ok €😀!');
    await fails(['keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'enc-ascii', '--file', join(files, 'run.txt'), '-e', 'ascii'], /^ERROR: 'ascii' codec can't encode characters in position 3-4: ordinal not in range\(128\)\n$/, 2);
    await fails(['keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'enc-none', '--file', 'no-such.txt'], /^ERROR: \[Errno 2\] No such file or directory: 'no-such\.txt'\n$/, 2);
    await fails(['keyvault', 'secret', 'restore', '--vault-name', 'rbac-vault', '--file', "it's-gone.bak"], /^ERROR: \[Errno 2\] No such file or directory: "it's-gone\.bak"\n$/, 1);
    const nowhere = join(files, 'no-dir', 'x.bak');
    await fails(['keyvault', 'secret', 'backup', '--vault-name', 'rbac-vault', '-n', 'enc-plain', '--file', nowhere], new RegExp(`^ERROR: \\[Errno 2\\] No such file or directory: '${nowhere.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'\n$`), 1);
  });

  it("secret results have the keys of az 2.45's 7.0 models (SecretBundle, SecretItem and their deleted forms), null when unset", async () => {
    const sorted = (o: object) => Object.keys(o).sort();
    const BUNDLE = ['attributes', 'contentType', 'id', 'kid', 'managed', 'name', 'tags', 'value'];
    const ITEM = ['attributes', 'contentType', 'id', 'managed', 'name', 'tags'];
    const DELETION = ['deletedDate', 'recoveryId', 'scheduledPurgeDate'];
    const set = await json('keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'shaped', '--value', 'v');
    assert.deepEqual(sorted(set), BUNDLE);
    assert.deepEqual([set.contentType, set.kid, set.managed, set.name], [null, null, null, 'shaped']);
    // API version 7.0 has no recoverableDays; times are whole seconds, as Python's isoformat of msrest's unix-time.
    assert.deepEqual(sorted(set.attributes), ['created', 'enabled', 'expires', 'notBefore', 'recoveryLevel', 'updated']);
    assert.match(set.attributes.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    assert.deepEqual(sorted(await json('keyvault', 'secret', 'show', '--vault-name', 'rbac-vault', '-n', 'shaped')), BUNDLE);
    const listed = (await json<Array<{ name: string }>>('keyvault', 'secret', 'list', '--vault-name', 'rbac-vault')).find((x) => x.name === 'shaped')!;
    assert.deepEqual(sorted(listed), ITEM, 'a list item has no value and no kid');
    assert.deepEqual(sorted((await json<object[]>('keyvault', 'secret', 'list-versions', '--vault-name', 'rbac-vault', '-n', 'shaped'))[0]!), ITEM);
    const deleted = await json('keyvault', 'secret', 'delete', '--vault-name', 'rbac-vault', '-n', 'shaped');
    assert.deepEqual(sorted(deleted), [...BUNDLE, ...DELETION].sort());
    assert.equal(deleted.value, null);
    assert.match(deleted.deletedDate, /\+00:00$/);
    assert.deepEqual(sorted(await json('keyvault', 'secret', 'show-deleted', '--vault-name', 'rbac-vault', '-n', 'shaped')), [...BUNDLE, ...DELETION].sort());
    const gone = (await json<Array<{ name: string }>>('keyvault', 'secret', 'list-deleted', '--vault-name', 'rbac-vault')).find((x) => x.name === 'shaped')!;
    assert.deepEqual(sorted(gone), [...ITEM, ...DELETION].sort());
    assert.deepEqual(sorted(await json('keyvault', 'secret', 'recover', '--vault-name', 'rbac-vault', '-n', 'shaped')), BUNDLE);
  });

  it("takes az's other spellings: option prefixes, -g for a group, --description, --id and --maxresults on lists", async () => {
    await cli('keyvault', 'secret', 'set', '--vault-n', 'rbac-vault', '--na', 'abbrev', '--val', 'one', '--descr', 'text/plain', '-o', 'none');
    await cli('keyvault', 'secret', 'set', '--vault-name=rbac-vault', '--name=abbrev', '--value=two', '-o', 'none');
    const shown = await json('keyvault', 'secret', 'show', '--vault-na', 'rbac-vault', '--na', 'abbrev');
    assert.equal(shown.value, 'two');
    await fails(['keyvault', 'secret', 'show', '--vault-name', 'rbac-vault', '--na', 'abbrev', '--ver', 'x'], /^ERROR: ambiguous option: --ver could match --verbose, --version\n$/, 2);
    // az's parser points to --query's documentation below any error that names it.
    await fails(['keyvault', 'secret', 'show', '--vault-name', 'rbac-vault', '-n', 'x', '--', '--query', 'name'], /^ERROR: unrecognized arguments: -- --query name\nTo learn more about --query, please visit: 'https:\/\/docs\.microsoft\.com\/cli\/azure\/query-azure-cli'\n$/, 2);
    const versions = await json<Array<{ contentType: string | null }>>('keyvault', 'secret', 'list-versions', '--vault-name', 'rbac-vault', '-n', 'abbrev');
    assert.deepEqual(versions.map((v) => v.contentType).sort(), [null, 'text/plain']);
    assert.equal((await json<unknown[]>('keyvault', 'secret', 'list-versions', '--vault-name', 'rbac-vault', '-n', 'abbrev', '--maxresults', '1')).length, 1);
    const vaultUrl = shown.id.split('/secrets/')[0];
    const all = await json<unknown[]>('keyvault', 'secret', 'list', '--id', vaultUrl, '--include-managed');
    assert.ok(all.length > 2);
    assert.equal((await json<unknown[]>('keyvault', 'secret', 'list', '--id', vaultUrl, '--maxresults', '2')).length, 2);
    // The track-1 SDK checks the service's page limits before sending (msrest's ValidationError, as az prints it).
    const msrest = spawnSync('/usr/bin/python3', ['-c', MSREST_MAXRESULTS], { encoding: 'utf8' });
    assert.equal(msrest.status, 0, msrest.stderr);
    const [tooMany, tooFew] = JSON.parse(msrest.stdout) as [string, string];
    for (const [n, message] of [['26', tooMany], ['0', tooFew], ['-1', tooFew]] as const) {
      await fails(['keyvault', 'secret', 'list', '--vault-name', 'rbac-vault', '--maxresults', n], new RegExp(`^ERROR: ${message.replace(/[.()]/g, '\\$&')}\n$`), 1);
    }
    assert.equal((await json<unknown[]>('keyvault', 'secret', 'list', '--vault-name', 'rbac-vault', '--maxresults', '25')).length, Math.min(25, all.length));
    await fails(['keyvault', 'secret', 'list', '--vault-name', 'rbac-vault', '--maxresults', 'ten'], /^ERROR: argument --maxresults: invalid int value: 'ten'\n$/, 2);
    assert.deepEqual(await json('keyvault', 'secret', 'list-deleted', '--vault-name', 'rbac-vault', '--maxresults', '5'), []);
    assert.equal((await json('group', 'show', '-g', 'rg1')).name, 'rg1');
    assert.equal((await json('group', 'show', '-n', 'no-such-group', '-g', 'rg1')).name, 'rg1', 'one argument in az: the last one wins');
    assert.equal((await json('group', 'show', '--resource-group', 'no-such-group', '--name', 'rg1')).name, 'rg1');
    assert.equal((await json('group', 'create', '--resource-group', 'rg-g', '-l', 'local')).name, 'rg-g');
    await fails(['group', 'show'], /^ERROR: the following arguments are required: --name\/--resource-group\/-n\/-g\n$/, 2);
    // Every other required option is named as az's parser names it (az ad group create, az group create -n x).
    await fails(['ad', 'group', 'create', '--display-name', 'x'], /^ERROR: the following arguments are required: --mail-nickname\n$/, 2);
    await fails(['group', 'create', '-n', 'x'], /^ERROR: the following arguments are required: --location\/-l\n$/, 2);
  });

  it('replaces a cached token the server refuses (revoked, or from before a key change), as the SDKs do', async () => {
    const file = join(home, 'profile.json');
    await cli('keyvault', 'secret', 'show', '--vault-name', 'rbac-vault', '-n', 'enc-plain', '-o', 'none');
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(Object.keys(profile.tokens).length, 2, 'a management and a vault token');
    for (const t of Object.values<{ token: string }>(profile.tokens)) t.token = `${t.token.slice(0, -4)}AAAA`;
    writeFileSync(file, JSON.stringify(profile));
    assert.equal((await json('keyvault', 'secret', 'show', '--vault-name', 'rbac-vault', '-n', 'enc-plain')).value, 'v');
    assert.equal((await json('keyvault', 'show', '-n', 'rbac-vault')).name, 'rbac-vault');
  });

  it('exits 3 on a 404 from ARM or from `secret show`, and 1 for the usage checks az makes in its validators', async () => {
    await fails(['keyvault', 'secret', 'show', '--vault-name', 'rbac-vault', '-n', 'no-such-secret'], /^ERROR: \(SecretNotFound\)/, 3);
    // az's keyvault_exception_handler: any other secret command prints the vault's message alone, exit 1; a vault that is not there, az's DNS words.
    await fails(['keyvault', 'secret', 'delete', '--vault-name', 'rbac-vault', '-n', 'no-such-secret', '--only-show-errors'], /^ERROR: A secret with \(name\/id\) no-such-secret was not found in this key vault\./, 1);
    await fails(['keyvault', 'secret', 'show-deleted', '--vault-name', 'rbac-vault', '-n', 'no-such-secret'], /^ERROR: Deleted Secret not found|^ERROR: [^(]/, 1);
    for (const command of [['show', '-n', 'x'], ['list']]) {
      await fails(['keyvault', 'secret', ...command, '--vault-name', 'no-such-vault'], /^ERROR: Max retries exceeded attempting to connect to Vault\. The Vault may not exist or you may need to flush your DNS cache and try again later\.\n$/, 1);
    }
    await fails(['keyvault', 'show', '-n', 'no-such-vault', '-g', 'rg1'], /^ERROR: \(ResourceNotFound\)/, 3);
    await fails(['group', 'show', '-n', 'no-such-group'], /^ERROR: \(ResourceGroupNotFound\)/, 3);
    await fails(['keyvault', 'show', '-n', 'no-such-vault'], /^ERROR: The Vault 'no-such-vault' not found within subscription\.\n$/, 1);
    const set = ['keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'usage'];
    for (const extra of [[], ['--value', ''], ['--value', 'a', '--file', join(files, 'bin')]]) {
      await fails([...set, ...extra], /^ERROR: incorrect usage: \[Required\] --value VALUE \| --file PATH\n$/, 1);
    }
    const scope = (await json('keyvault', 'show', '-n', 'rbac-vault')).id;
    const create = ['role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--scope', scope];
    await fails(create, /^ERROR: usage error: --assignee STRING \| --assignee-object-id GUID\n$/, 1);
    await fails([...create, '--assignee', server.bootstrap.clientId, '--assignee-object-id', server.bootstrap.objectId], /^ERROR: usage error: --assignee STRING \| --assignee-object-id GUID\n$/, 1);
    await fails([...create, '--assignee', server.bootstrap.clientId, '--assignee-principal-type', 'ServicePrincipal'], /^ERROR: usage error: --assignee-object-id GUID --assignee-principal-type TYPE\n$/, 1);
  });
  it('keyvault create refuses a vault that exists instead of replacing it, as az does', async () => {
    const before = await policiesOf('ap-vault');
    await fails(['keyvault', 'create', '-n', 'ap-vault', '-g', 'rg1'], /^ERROR: The specified vault: ap-vault already exists\n$/, 1);
    assert.deepEqual(await policiesOf('ap-vault'), before, 'its access policies are as they were');
    assert.equal((await json('keyvault', 'show', '-n', 'ap-vault')).properties.enableRbacAuthorization, false, 'and its model');
  });

  it('-o and --query are checked before a command does anything, as az does', async () => {
    await cli('keyvault', 'secret', 'set', '--vault-name', 'ap-vault', '-n', 'kept', '--value', 'v1', '-o', 'none');
    await fails(['keyvault', 'secret', 'delete', '--vault-name', 'ap-vault', '-n', 'kept', '-o', 'bogus'], /^ERROR: coffer keyvault secret delete: 'bogus' is not a valid value for '--output'\. Allowed values: json, jsonc, yaml, yamlc, table, tsv, none\.$/m, 2);
    await fails(['keyvault', 'secret', 'set', '--vault-name', 'ap-vault', '-n', 'kept', '--value', 'v2', '--query', '[['], /argument --query: invalid jmespath_type value: '\[\['/, 2);
    const kept = await json('keyvault', 'secret', 'show', '--vault-name', 'ap-vault', '-n', 'kept');
    assert.equal(kept.value, 'v1', 'not deleted, and no new version');
    // A query that only fails on some data (a function of null) is not refused up front.
    await fails(['keyvault', 'show', '-n', 'ap-vault', '--query', 'abs(name)'], /^ERROR: Invalid jmespath query supplied for `--query`: .+\nTo learn more about --query, please visit: 'https:\/\/docs\.microsoft\.com\/cli\/azure\/query-azure-cli'\n$/, 1);
    assert.equal((await cli('keyvault', 'show', '-n', 'ap-vault', '--query', 'length(properties.accessPolicies)', '-o', 'tsv')).stdout.trim(), String((await policiesOf('ap-vault')).length));
  });

  it('role assignment create again shows the existing assignment, as az does', async () => {
    const sp = await json('ad', 'sp', 'create-for-rbac', '--name', 'again-sp');
    const scope = `${(await json('keyvault', 'show', '-n', 'rbac-vault')).id}/secrets/again`;
    const create = ['role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--scope', scope];
    const first = await json(...create, '--assignee', sp.appId);
    const again = await json(...create, '--assignee', sp.appId);
    assert.equal(again.id, first.id);
    assert.equal(again.roleDefinitionName, 'Key Vault Secrets User');
    assert.equal(again.principalName, sp.appId);
    const byObjectId = await json(...create, '--assignee-object-id', first.principalId, '--assignee-principal-type', 'ServicePrincipal');
    assert.equal(byObjectId.id, first.id);
    assert.equal((await json<unknown[]>('role', 'assignment', 'list', '--scope', scope)).length, 1, 'still one assignment');
  });

  it('role assignment list: exactly at the scope unless --include-inherited, -g for a group, principalName filled', async () => {
    const sp = await json('ad', 'sp', 'create-for-rbac', '--name', 'listed-sp');
    await cli('ad', 'user', 'create', '--user-principal-name', 'kim@coffer.local', '--display-name', 'Kim', '--password', 'A long password 1', '-o', 'none');
    const group = await json('ad', 'group', 'create', '--display-name', 'readers', '--mail-nickname', 'readers');
    const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    const rg = `${sub}/resourceGroups/rg1`;
    const vault = (await json('keyvault', 'show', '-n', 'rbac-vault')).id;
    await cli('role', 'assignment', 'create', '--role', 'Key Vault Reader', '--assignee', sp.appId, '--scope', rg, '-o', 'none');
    await cli('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', 'kim@coffer.local', '--scope', vault, '-o', 'none');
    await cli('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee-object-id', group.id, '--assignee-principal-type', 'Group', '--scope', vault, '-o', 'none');
    type Listed = { scope: string; principalName: string; roleDefinitionName: string; principalId: string };
    const atVault = await json<Listed[]>('role', 'assignment', 'list', '--scope', vault);
    assert.deepEqual(atVault.map((a) => a.principalName).sort(), ['kim@coffer.local', 'readers']);
    assert.ok(atVault.every((a) => a.scope === vault), 'nothing inherited');
    const inherited = await json<Listed[]>('role', 'assignment', 'list', '--scope', vault, '--include-inherited');
    assert.ok(inherited.some((a) => a.scope === rg && a.principalName === sp.appId && a.roleDefinitionName === 'Key Vault Reader'));
    assert.ok(inherited.some((a) => a.scope === sub && a.principalId === server.bootstrap.objectId), "the administrator's subscription assignment");
    assert.ok(!inherited.some((a) => a.scope.startsWith(`${vault}/`)), 'nothing below');
    const byGroup = await json<Listed[]>('role', 'assignment', 'list', '-g', 'rg1');
    assert.deepEqual(byGroup.map((a) => [a.scope, a.principalName]), [[rg, sp.appId]]);
    await fails(['role', 'assignment', 'list', '-g', 'rg1', '--scope', rg], /^ERROR: Resource group "rg1" is redundant because scope is supplied\n$/, 1);
    await fails(['role', 'assignment', 'list', '--all', '-g', 'rg1'], /^ERROR: group or scope are not required when --all is used\n$/, 1);
    const all = await json<Listed[]>('role', 'assignment', 'list', '--all');
    assert.ok(all.some((a) => a.scope === vault) && all.some((a) => a.scope === rg) && all.some((a) => a.scope === sub));
  });
  it('ad sp create-for-rbac assigns --role at each of --scopes, and reuses a service principal of the same --name with a new password', async () => {
    const vault = (await json('keyvault', 'show', '-n', 'rbac-vault')).id;
    const scopes = [`${vault}/secrets/one`, `${vault}/secrets/two`];
    const r = await cli('ad', 'sp', 'create-for-rbac', '--name', 'rbac-sp', '--role', 'Key Vault Secrets User', '--scopes', ...scopes);
    const first = r.json<{ appId: string; displayName: string; password: string; tenant: string }>();
    assert.deepEqual(Object.keys(first).sort(), ['appId', 'displayName', 'password', 'tenant']);
    assert.equal(first.displayName, 'rbac-sp');
    assert.match(r.stderr, /Creating 'Key Vault Secrets User' role assignment under scope/);
    for (const scope of scopes) {
      const listed = await json<Array<{ principalName: string; roleDefinitionName: string }>>('role', 'assignment', 'list', '--scope', scope);
      assert.deepEqual(listed.map((a) => [a.principalName, a.roleDefinitionName]), [[first.appId, 'Key Vault Secrets User']]);
    }

    const again = await cli('ad', 'sp', 'create-for-rbac', '--name', 'rbac-sp', '--role', 'Key Vault Secrets User', '--scopes', scopes[0]!);
    const second = again.json<{ appId: string; password: string }>();
    assert.match(again.stderr, /Role assignment already exists/);
    assert.match(again.stderr, /^WARNING: Found an existing application instance: \(id\) [0-9a-f-]{36}\. We will patch it\.$/m);
    assert.equal(second.appId, first.appId, 'the same service principal');
    assert.notEqual(second.password, first.password);
    assert.equal((await json<unknown[]>('ad', 'sp', 'list', '--display-name', 'rbac-sp')).length, 1);
    await assert.rejects(credential(server, first.appId, first.password).getToken(`${server.url}/.default`), 'the old password is reset');
    assert.ok((await credential(server, second.appId, second.password).getToken(`${server.url}/.default`)).token);

    await fails(['ad', 'sp', 'create-for-rbac', '--name', 'half-sp', '--role', 'Key Vault Secrets User'], /^ERROR: Usage error: To create role assignments, specify both --role and --scopes\.\n$/, 1);
    await fails(['ad', 'sp', 'create-for-rbac', '--name', 'half-sp', '--scopes', scopes[0]!], /^ERROR: Usage error: To create role assignments, specify both --role and --scopes\.\n$/, 1);
    assert.deepEqual(await json('ad', 'sp', 'list', '--display-name', 'half-sp'), []);
  });
  it("adds resourceGroup, parsed from the id, to the ARM objects it prints (az's global transform)", async () => {
    await cli('group', 'create', '-n', 'rg2', '-l', 'local', '-o', 'none');
    const created = await json('keyvault', 'create', '-n', 'rg2-vault', '-g', 'rg2');
    assert.equal(created.resourceGroup, 'rg2');
    assert.equal((await cli('keyvault', 'list', '--query', "[?resourceGroup=='rg1'].name | sort(@)", '-o', 'tsv')).stdout, 'ap-vault\nrbac-vault\n');
    assert.equal((await cli('keyvault', 'show', '-n', 'rg2-vault', '--query', 'resourceGroup', '-o', 'tsv')).stdout, 'rg2\n');
    assert.equal((await json('keyvault', 'update', '-n', 'rg2-vault', '--enable-purge-protection', 'true')).resourceGroup, 'rg2');
    const objectId = crypto.randomUUID();
    assert.equal((await json('keyvault', 'set-policy', '-n', 'ap-vault', '--object-id', objectId, '--secret-permissions', 'get')).resourceGroup, 'rg1');
    assert.equal((await json('keyvault', 'delete-policy', '-n', 'ap-vault', '--object-id', objectId)).resourceGroup, 'rg1');
    const vault = (await json('keyvault', 'show', '-n', 'rg2-vault')).id;
    const assigned = await json('role', 'assignment', 'create', '--role', 'Key Vault Reader', '--assignee-object-id', server.bootstrap.objectId, '--assignee-principal-type', 'ServicePrincipal', '--scope', vault);
    assert.equal(assigned.resourceGroup, 'rg2');
    const atSubscription = await json<Array<Record<string, unknown>>>('role', 'assignment', 'list');
    assert.ok(atSubscription.length > 0 && atSubscription.every((a) => !('resourceGroup' in a)), 'none at a subscription scope');
    // As in az: a resource group's id is too short for it.
    assert.equal('resourceGroup' in (await json('group', 'show', '-n', 'rg2')), false);
  });
  it("prints management results as az 2.45 prints its SDK models: every attribute, null when unset, datetimes as isoformat", async () => {
    // JSON prints keys sorted (knack's sort_keys), so the sets are compared; cli-output checks the models' order.
    const keys = (o: object, expected: string[]) => assert.deepEqual(Object.keys(o).sort(), [...expected].sort());
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/;
    // azure.mgmt.keyvault.v2022_07_01's Vault, VaultProperties and SystemData attributes.
    const vaultKeys = ['id', 'name', 'type', 'location', 'tags', 'systemData', 'properties', 'resourceGroup'];
    const propertyKeys = ['tenantId', 'sku', 'accessPolicies', 'vaultUri', 'hsmPoolResourceId', 'enabledForDeployment', 'enabledForDiskEncryption', 'enabledForTemplateDeployment', 'enableSoftDelete', 'softDeleteRetentionInDays', 'enableRbacAuthorization', 'createMode', 'enablePurgeProtection', 'networkAcls', 'provisioningState', 'privateEndpointConnections', 'publicNetworkAccess'];
    const checkVault = (v: any, what: string) => {
      keys(v, vaultKeys);
      keys(v.properties, propertyKeys);
      keys(v.systemData, ['createdBy', 'createdByType', 'createdAt', 'lastModifiedBy', 'lastModifiedByType', 'lastModifiedAt']);
      assert.match(v.systemData.createdAt, iso, what);
      assert.match(v.systemData.lastModifiedAt, iso, what);
      assert.equal(v.properties.createMode, null, what);
      assert.equal(v.properties.hsmPoolResourceId, null, what);
      assert.equal(v.properties.privateEndpointConnections, null, what);
    };
    const created = await json('keyvault', 'create', '-n', 'model-vault', '-g', 'rg1', '--enable-rbac-authorization', 'false');
    checkVault(created, 'create');
    assert.equal(created.properties.enablePurgeProtection, null, 'not sent, as az sends none');
    // az's create sends its default network rule set.
    assert.deepEqual(created.properties.networkAcls, { bypass: 'AzureServices', defaultAction: 'Allow', ipRules: [], virtualNetworkRules: [] });
    keys(created.properties.accessPolicies[0], ['tenantId', 'objectId', 'applicationId', 'permissions']);
    assert.equal(created.properties.accessPolicies[0].applicationId, null);
    checkVault(await json('keyvault', 'show', '-n', 'model-vault'), 'show');
    checkVault(await json('keyvault', 'update', '-n', 'model-vault', '--enable-purge-protection'), 'update');
    for (const v of await json<unknown[]>('keyvault', 'list', '-g', 'rg1')) checkVault(v, 'list -g');
    // Without -g, az's VaultsOperations.list reads the generic resource listing: id, name, type, location, tags.
    for (const v of await json<object[]>('keyvault', 'list')) keys(v, ['id', 'name', 'type', 'location', 'tags', 'resourceGroup']);
    assert.equal((await cli('keyvault', 'show', '-n', 'model-vault', '--query', '{c: properties.createMode, h: properties.hsmPoolResourceId}', '-o', 'tsv')).stdout, 'None\tNone\n');
    assert.match((await cli('keyvault', 'show', '-n', 'model-vault', '--query', 'systemData.createdAt', '-o', 'tsv')).stdout, /^\S+\+00:00\n$/);

    // azure.mgmt.resource's ResourceGroup.
    const groupKeys = ['id', 'name', 'type', 'properties', 'location', 'managedBy', 'tags'];
    keys(await json('group', 'show', '-n', 'rg1'), groupKeys);
    keys(await json('group', 'create', '-n', 'rg1', '-l', 'local'), groupKeys);
    assert.equal((await cli('group', 'show', '-n', 'rg1', '--query', 'managedBy', '-o', 'json')).stdout, '', 'null prints nothing');
    for (const g of await json<Array<Record<string, unknown>>>('group', 'list')) assert.equal(g.managedBy, null);

    // core/_profile.py's account: no cloudName or server; managedByTenants as the server lists it (Azure's []).
    const account = await json('account', 'show');
    keys(account, ['id', 'name', 'state', 'user', 'isDefault', 'tenantId', 'environmentName', 'homeTenantId', 'managedByTenants']);
    assert.deepEqual(account.managedByTenants, []);
    const b = server.bootstrap;
    const loggedIn = await json<Array<Record<string, unknown>>>('login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '--server', server.url);
    keys(loggedIn[0]!, ['id', 'name', 'state', 'user', 'isDefault', 'tenantId', 'homeTenantId', 'managedByTenants', 'cloudName']);

    // authorization 2020-04-01-preview's RoleAssignment: no names (only list adds them), no endDateTime.
    const assigned = await json('role', 'assignment', 'create', '--role', 'Key Vault Reader', '--assignee-object-id', b.objectId, '--assignee-principal-type', 'ServicePrincipal', '--scope', created.id, '--end-time', '2031-01-01T00:00:00Z');
    keys(assigned, ['id', 'name', 'type', 'scope', 'roleDefinitionId', 'principalId', 'principalType', 'canDelegate', 'description', 'condition', 'conditionVersion', 'createdOn', 'updatedOn', 'createdBy', 'updatedBy', 'delegatedManagedIdentityResourceId', 'resourceGroup']);
    assert.match(assigned.createdOn, iso);
    const listed = await json<Array<Record<string, unknown>>>('role', 'assignment', 'list', '--scope', created.id);
    assert.deepEqual(listed.map((a) => [a.roleDefinitionName, a.principalName, a.canDelegate, a.endDateTime]), [['Key Vault Reader', b.clientId, null, '2031-01-01T00:00:00.000Z']]);
  });
  it('on/off flags are bare (true) or take true/false, and never swallow the next option', async () => {
    await cli('keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'flagged', '--value', 'v', '--disabled', '-o', 'none');
    const enabled = await json('keyvault', 'secret', 'set-attributes', '--vault-name', 'rbac-vault', '-n', 'flagged', '--enabled', '--expires', '2031-01-01T00:00:00Z');
    assert.equal(enabled.attributes.enabled, true);
    assert.equal(enabled.attributes.expires, '2031-01-01T00:00:00+00:00');
    assert.equal((await json('keyvault', 'secret', 'set-attributes', '--vault-name', 'rbac-vault', '-n', 'flagged', '--enabled', 'false')).attributes.enabled, false);
    assert.equal((await cli('keyvault', 'secret', 'set-attributes', '--vault-name', 'rbac-vault', '-n', 'flagged', '--query', 'attributes.enabled', '-o', 'tsv', '--enabled')).stdout, 'true\n');

    await cli('keyvault', 'create', '-n', 'flag-vault', '-g', 'rg1', '--enable-rbac-authorization', 'false', '-o', 'none');
    const updated = await json('keyvault', 'update', '-n', 'flag-vault', '--enable-rbac-authorization', '--enable-purge-protection');
    assert.equal(updated.properties.enableRbacAuthorization, true);
    assert.equal(updated.properties.enablePurgeProtection, true);
    assert.equal((await cli('keyvault', 'update', '-n', 'flag-vault', '--enable-rbac-authorization', 'False', '--query', 'properties.enableRbacAuthorization', '-o', 'tsv')).stdout, 'false\n');
    await fails(['keyvault', 'update', '-n', 'flag-vault', '--enable-rbac-authorization', 'yes'], /'yes' is not a valid value for '--enable-rbac-authorization'\. Allowed values: true, false\./, 2);
  });
  it('--tags as az reads them: k=a=b and solo, "" clears, a bare --tags takes no option', async () => {
    const set = await json('keyvault', 'secret', 'set', '--vault-name', 'rbac-vault', '-n', 'tagged', '--value', 'v', '--tags', 'k=a=b', 'solo');
    assert.deepEqual(set.tags, { k: 'a=b', solo: '', 'file-encoding': 'utf-8' });
    const cleared = await json('keyvault', 'secret', 'set-attributes', '--vault-name', 'rbac-vault', '-n', 'tagged', '--tags', '');
    assert.deepEqual(cleared.tags, {});
    await cli('keyvault', 'secret', 'set-attributes', '--vault-name', 'rbac-vault', '-n', 'tagged', '--tags', 'x=1', '-o', 'none');
    const bare = await json('keyvault', 'secret', 'set-attributes', '--vault-name', 'rbac-vault', '-n', 'tagged', '--tags', '--content-type', 'text/plain');
    assert.deepEqual(bare.tags, {});
    assert.equal(bare.contentType, 'text/plain', 'the next option is not a tag');

    assert.deepEqual((await json('group', 'create', '-n', 'tag-rg', '-l', 'local', '--tags', 'k=a=b', 'solo')).tags, { k: 'a=b', solo: '' });
    assert.deepEqual((await json('group', 'create', '-n', 'tag-rg', '-l', 'local', '--tags', '')).tags, {});
    assert.deepEqual((await json('keyvault', 'create', '-n', 'tag-vault', '-g', 'tag-rg', '--tags', 'k=a=b', 'solo')).tags, { k: 'a=b', solo: '' });
    assert.deepEqual((await json('keyvault', 'create', '-n', 'tag-vault-2', '-g', 'tag-rg', '--tags', '', '--retention-days', '7')).tags, {});
  });
  it('a custom role assignable only at a vault is found by name there, and names its assignments', async () => {
    const vaultId = (await json('keyvault', 'show', '-n', 'rbac-vault')).id as string;
    const roleId = crypto.randomUUID();
    const token = (await credential(server).getToken(`${server.url}/.default`)).token;
    const created = await fetch(`${server.url}/subscriptions/${server.bootstrap.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { roleName: 'Vault-Only Getter', permissions: [{ dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action'] }], assignableScopes: [vaultId] } }),
    });
    assert.equal(created.status, 201);
    const sp = await json('ad', 'sp', 'create-for-rbac', '--name', 'vault-only-sp');
    const assignment = await json('role', 'assignment', 'create', '--role', 'Vault-Only Getter', '--assignee', sp.appId, '--scope', vaultId);
    assert.equal(assignment.roleDefinitionId, `/subscriptions/${server.bootstrap.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`);
    const listed = await json<Array<{ roleDefinitionName: string; principalName: string }>>('role', 'assignment', 'list', '--scope', vaultId);
    assert.ok(listed.some((a) => a.roleDefinitionName === 'Vault-Only Getter' && a.principalName === sp.appId));
  });
});
