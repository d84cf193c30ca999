import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// `role assignment create` arguments as az 2.45 takes them (role/custom.py
// create_role_assignment): --name, and the preview --description,
// --condition and --condition-version.

// knack's StatusTag message: 'WARNING: ' and the text when stderr is not a terminal.
const PREVIEW = (flag: string) => `WARNING: Argument '${flag}' is in preview and under development. Reference and support levels: https://aka.ms/CLI_refstatus\n`;

describe('coffer role assignment create arguments, as az 2.45 takes them', () => {
  let server: TestServer;
  let home: string;
  let scope: string;
  let appId: string;
  const { cli, json, signIn } = cliRunners(() => home);
  const assignments = async () => json<Array<{ name: string; description: string | null }>>('role', 'assignment', 'list', '--scope', scope);
  const create = (...args: string[]) => ['role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', appId, '--scope', scope, ...args];

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    scope = (await json('keyvault', 'create', '-n', 'role-args-vault', '-g', 'rg')).id;
    appId = (await json('ad', 'sp', 'create-for-rbac', '--name', 'role-args-sp', '--only-show-errors')).appId;
  });
  after(() => server?.stop());

  it('--name/-n is the assignment name in the PUT; ARM refuses one that is not a GUID', async () => {
    const name = '0b6a1c6e-2f0c-4e55-9d3a-6f1f8b0c7a11';
    const created = await json('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', appId, '--scope', scope, '-n', name);
    assert.equal(created.name, name);
    assert.equal(created.id, `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`);
    await cli('role', 'assignment', 'delete', '--ids', created.id);
    const r = await coffer(home, create('--name', 'not-a-guid'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^ERROR: \(InvalidRoleAssignmentId\) The role assignment ID 'not-a-guid' is not valid\. The role assignment ID must be a GUID\./);
    // Quoted into one path segment, as the SDK quotes it: it names no other resource.
    assert.notEqual((await coffer(home, create('--name', '../../roleAssignments/x'))).code, 0);
    assert.deepEqual(await assignments(), []);
  });

  it("--condition is sent, never dropped: the server refuses it (coffer evaluates no conditions); --condition-version needs it", async () => {
    const r = await coffer(home, create('--condition', "@Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals 'db'"));
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.startsWith(PREVIEW('--condition')), r.stderr);
    assert.match(r.stderr, /ERROR: \(InvalidRoleAssignmentRequest\) Role assignment conditions \(condition, conditionVersion\) are not supported by coffer/);
    const alone = await coffer(home, create('--condition-version', '2.0'));
    assert.deepEqual([alone.code, alone.stderr], [1, `${PREVIEW('--condition-version')}ERROR: usage error: When --condition-version is set, --condition must be set as well.\n`]);
    assert.deepEqual(await assignments(), [], 'nothing was assigned');
  });

  it("--assignee-object-id without --assignee-principal-type: az's warning, and the type looked up in the directory", async () => {
    const objectId = (await json<Array<{ id: string }>>('ad', 'sp', 'list', '--display-name', 'role-args-sp'))[0]!.id;
    const byId = ['role', 'assignment', 'create', '--role', 'Key Vault Reader', '--assignee-object-id', objectId, '--scope', scope];
    const r = await cli(...byId);
    assert.equal(r.stderr, 'WARNING: RBAC service might reject creating role assignment without --assignee-principal-type in the future. Better to specify --assignee-principal-type manually.\n');
    const created = r.json<{ id: string; principalType: string }>();
    assert.equal(created.principalType, 'ServicePrincipal');
    await cli('role', 'assignment', 'delete', '--ids', created.id);
  });

  it("prints the preview and deprecation notices as az does: in command-line order, one per occurrence, deprecations first, before the login is loaded", async () => {
    const r = await coffer(home, create('--condition-version', '2.0', '--description', 'd', '--condition-version', '2.0'));
    const usage = 'ERROR: usage error: When --condition-version is set, --condition must be set as well.\n';
    assert.deepEqual([r.code, r.stderr], [1, PREVIEW('--condition-version') + PREVIEW('--description') + PREVIEW('--condition-version') + usage]);
    const nobody = cliHome();
    const logIn = "ERROR: Please run 'coffer login' to setup account.\n";
    const previews = await coffer(nobody, create('--condition', 'c', '--description', 'd'));
    assert.deepEqual([previews.code, previews.stderr], [1, PREVIEW('--condition') + PREVIEW('--description') + logIn]);
    const deprecated = (flag: string) => `WARNING: Option '${flag}' has been deprecated and will be removed in a future release.\n`;
    const sp = await coffer(nobody, ['ad', 'sp', 'create-for-rbac', '--skip-assignment', '--sdk-auth', '--skip-assignment', 'false']);
    assert.deepEqual([sp.code, sp.stderr], [1, deprecated('--skip-assignment') + deprecated('--sdk-auth') + deprecated('--skip-assignment') + logIn]);
    assert.equal((await coffer(nobody, [...create('--condition', 'c'), '--only-show-errors'])).stderr, logIn);
    assert.deepEqual(await assignments(), [], 'nothing was assigned');
  });

  it("--description is kept, with az's preview notice (none with --only-show-errors)", async () => {
    const r = await cli(...create('--description', 'for the db connector'));
    assert.equal(r.stderr, PREVIEW('--description'));
    assert.equal(r.json<{ description: string }>().description, 'for the db connector');
    assert.deepEqual((await assignments()).map((a) => a.description), ['for the db connector']);
    const quiet = await cli(...create('--description', 'again', '--only-show-errors', '-o', 'none'));
    assert.equal(quiet.stderr, '');
    const [only] = await assignments();
    await cli('role', 'assignment', 'delete', '--ids', `${scope}/providers/Microsoft.Authorization/roleAssignments/${only!.name}`);
  });

  it('role assignment list takes --include-classic-administrators (az three-state flag); coffer has no classic administrators to add', async () => {
    const plain = await assignments();
    assert.deepEqual(await json('role', 'assignment', 'list', '--scope', scope, '--include-classic-administrators'), plain);
    assert.deepEqual(await json('role', 'assignment', 'list', '--scope', scope, '--include-classic-administrators', 'false'), plain);
    const bad = await coffer(home, ['role', 'assignment', 'list', '--include-classic-administrators', 'maybe']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^ERROR: coffer role assignment list: 'maybe' is not a valid value for '--include-classic-administrators'\. Allowed values: true, false\.$/m);
  });
});
