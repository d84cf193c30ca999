import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CliError } from '../src/cli/cli-error.js';
import { VAULT_MODELS } from '../src/cli/arm-models.js';
import { applyGenericUpdate, genericSteps, type GenericStep } from '../src/cli/generic-update.js';
import { cliHome, coffer, type CliResult } from './support/cli.js';
import { azSignedIn, type AzResult } from './support/az-cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// az's generic update arguments (--set, --add, --remove) on `keyvault update`
// and `group update`, as Microsoft's docs use them.

describe('generic update arguments', () => {
  const vaultModel = { root: 'Vault', models: VAULT_MODELS, warn: () => {} };

  it('set by a path (JSON values, else text), add to a list, remove a key or a list item', () => {
    const resource = { tags: { Env: 'dev' }, properties: { enablePurgeProtection: false, accessPolicies: [{ objectId: 'a' }, { objectId: 'b' }] } };
    const changed = applyGenericUpdate(
      resource,
      {
        set: ['properties.EnablePurgeProtection=true', 'tags.Env=prod', 'tags.team=data ops', 'properties.accessPolicies[1].objectId=c', 'properties.networkAcls.defaultAction=Deny'],
        add: ['properties.accessPolicies', 'objectId=d', 'tenantId=t'],
        remove: ['properties.accessPolicies', '0'],
      },
      vaultModel,
    );
    assert.deepEqual(changed, {
      tags: { Env: 'prod', team: 'data ops' },
      properties: { enablePurgeProtection: true, accessPolicies: [{ objectId: 'c' }, { objectId: 'd', tenantId: 't' }], networkAcls: { defaultAction: 'Deny' } },
    });
    assert.equal(resource.properties.enablePurgeProtection, false, 'the resource as read is left alone');
    assert.deepEqual(applyGenericUpdate(resource, { remove: ['tags.Env'] }).tags, {});
    // Names every JavaScript object has are no property of a vault's, nor values other than text, as to az.
    for (const set of ['properties.constructor.x=1', 'properties.__proto__.x=1', 'properties.toString.x=1']) {
      assert.throws(() => applyGenericUpdate(resource, { set: [set] }, vaultModel), /Couldn't find '(constructor|__proto__|toString)' in 'properties'/, set);
    }
    assert.equal(({} as Record<string, unknown>).x, undefined);
    assert.ok(Object.hasOwn(applyGenericUpdate(resource, { set: ['properties.toString=1'] }, vaultModel).properties as object, 'toString'), 'set as an additional property of its own');
    assert.deepEqual(applyGenericUpdate(resource, { set: ['tags.a=toString', 'tags.b=constructor', 'tags.c=__proto__'] }).tags, { Env: 'dev', a: 'toString', b: 'constructor', c: '__proto__' });
    for (const bad of [{ set: ['=1'] }, { remove: ['tags.ENV'] }, { add: ['tags', 'x'] }, { remove: ['properties.accessPolicies', '7'] }, { set: ['properties.accessPolicies[9].objectId=x'] }]) {
      assert.throws(() => applyGenericUpdate(resource, bad, vaultModel), CliError, JSON.stringify(bad));
    }
  });

  it('applies --set, --add and --remove in command-line order, several of each (az\'s OrderedArgsAction)', () => {
    const args = ['-n', 'v', '--remove', 'tags.a', '--set', 'tags.a=2', 'tags.b=3', '--add', 'properties.list', 'k=v', '-1', '--force-string', '--add=properties.list', 'x', '--remove', 'tags.b', '-o', 'json'];
    const steps = genericSteps(args);
    assert.deepEqual(steps, [
      { kind: 'remove', values: ['tags.a'] },
      { kind: 'set', values: ['tags.a=2', 'tags.b=3'] },
      { kind: 'add', values: ['properties.list', 'k=v', '-1'] },
      { kind: 'add', values: ['properties.list', 'x'] },
      { kind: 'remove', values: ['tags.b'] },
    ]);
    const resource = { tags: { a: '1' }, properties: { list: [] as unknown[] } };
    // Python's ints are bigints (a float stays a number: tags.a=2.0 would be sent as '2.0').
    assert.deepEqual(applyGenericUpdate(resource, { genericSteps: steps }), { tags: { a: 2n }, properties: { list: [{ k: 'v' }, -1n, 'x'] } });
    // Order matters: removing tags.b before the --set made it is refused.
    assert.throws(() => applyGenericUpdate(resource, { genericSteps: [steps[4]!, steps[1]!] }), /Couldn't find 'b' in 'tags'\. Available options: \['a'\]/);
  });

  it('--add: consecutive key=value items make one dict of text; other items are JSON, else text, each', () => {
    const resource = { properties: { accessPolicies: [] as unknown[] } };
    const added = applyGenericUpdate(resource, { add: ['properties.accessPolicies', 'objectId=o1', 'n=5', '{"x": 1}', 'plain', 'tenantId=t=u', '7'] }, vaultModel);
    assert.deepEqual(added.properties.accessPolicies, [{ objectId: 'o1', n: '5' }, { x: 1n }, 'plain', { tenantId: 't=u' }, 7n]);
    // A list that is None is made first; a path alone adds nothing.
    assert.deepEqual(applyGenericUpdate({ properties: {} }, { add: ['properties.privateEndpointConnections', 'id=p'] }, vaultModel).properties, { privateEndpointConnections: [{ id: 'p' }] });
    assert.deepEqual(applyGenericUpdate(resource, { add: ['properties.accessPolicies'] }, vaultModel), resource);
  });

  it("refuses what az refuses, with az's messages (arm.py, checked against az 2.45's functions)", () => {
    const vault = {
      location: 'local',
      tags: { env: 'dev' },
      properties: { tenantId: 't', sku: { family: 'A', name: 'standard' }, accessPolicies: [{ tenantId: 't', objectId: 'a' }, { tenantId: 't', objectId: 'b' }] },
    };
    const vaultOptions =
      "['accessPolicies', 'createMode', 'enablePurgeProtection', 'enableRbacAuthorization', 'enableSoftDelete', 'enabledForDeployment', 'enabledForDiskEncryption', 'enabledForTemplateDeployment', 'hsmPoolResourceId', 'networkAcls', 'privateEndpointConnections', 'provisioningState', 'publicNetworkAccess', 'sku', 'softDeleteRetentionInDays', 'tenantId', 'vaultUri']";
    const cases: Array<[GenericStep, string]> = [
      [{ kind: 'set', values: ['properties.bogus.x=1'] }, `Couldn't find 'bogus' in 'properties'. Available options: ${vaultOptions}`],
      [{ kind: 'set', values: ['bogus.y.x=1'] }, "Couldn't find 'bogus' in 'bogus'. Available options: ['id', 'location', 'name', 'properties', 'systemData', 'tags', 'type']"],
      [{ kind: 'set', values: ['tags.a.b=1'] }, "Couldn't find 'a' in 'tags'. Available options: ['env']"],
      [{ kind: 'set', values: ['properties.tenantId.x=1'] }, "Couldn't find 'x' in 'properties.tenantId'. 'properties.tenantId' does not support further indexing."],
      [{ kind: 'set', values: ['properties.accessPolicies[9].objectId=x'] }, "index 9 doesn't exist on accessPolicies"],
      [{ kind: 'set', values: ['properties.accessPolicies[9]=x'] }, "index 9 doesn't exist on [9]"],
      [{ kind: 'set', values: ['properties.accessPolicies.x=1'] }, "Couldn't find 'x' in 'properties.accessPolicies'. Available options: index into the collection 'properties.accessPolicies' with [<index>] or [<key=value>]"],
      [{ kind: 'set', values: ['properties[0]=1'] }, `Couldn't find '[0]' in ''. Available options: ${vaultOptions}`],
      [{ kind: 'set', values: ['properties.sku[0].x=1'] }, "Couldn't find '[0]' in 'properties.sku'. Available options: ['family', 'name']"],
      [{ kind: 'set', values: ['=1'] }, 'usage error: Empty key in --set. Correct syntax: --set KEY=VALUE [KEY=VALUE ...]'],
      [{ kind: 'set', values: ['properties.accessPolicies[objectId=q].objectId=z'] }, "item with value 'q' doesn't exist for key 'objectId' on accessPolicies"],
      [{ kind: 'set', values: ['properties.accessPolicies[tenantId=t].objectId=z'] }, "non-unique key 'tenantId' found multiple matches on accessPolicies. Key must be unique."],
      [{ kind: 'add', values: ['tags', 'x'] }, 'invalid syntax: --add property.listProperty <key=value, string or JSON string>'],
      [{ kind: 'add', values: ['properties.ghost', 'x'] }, `Couldn't find 'ghost' in 'properties'. Available options: ${vaultOptions}`],
      [{ kind: 'remove', values: ['tags.nothing'] }, "Couldn't find 'nothing' in 'tags'. Available options: ['env']"],
      [{ kind: 'remove', values: ['properties.accessPolicies', '7'] }, "index 7 doesn't exist on accessPolicies"],
      [{ kind: 'remove', values: ['properties.accessPolicies', 'x'] }, 'invalid syntax: --remove property.list <indexToRemove> OR --remove propertyToRemove'],
      [{ kind: 'remove', values: ['properties.accessPolicies[0]'] }, 'invalid syntax: --remove property.list <indexToRemove> OR --remove propertyToRemove'],
      [{ kind: 'remove', values: ['properties.sku', '0'] }, "sku doesn't exist"],
      [{ kind: 'remove', values: ['tags', '0'] }, "The command failed with an unexpected error. Here is the traceback:\nERROR: 0"],
      [{ kind: 'remove', values: [''] }, 'The command failed with an unexpected error. Here is the traceback:\nERROR: list index out of range'],
    ];
    for (const [step, message] of cases) {
      assert.throws(
        () => applyGenericUpdate(vault, { genericSteps: [step] }, vaultModel),
        (err: unknown) => err instanceof CliError && err.message === message && err.exitCode === 1,
        `${step.kind} ${step.values.join(' ')}: ${message}`,
      );
    }
    // What az takes: a filter, a negative index, an expression without `=` (an empty value), extra --remove values.
    const steps: GenericStep[] = [
      { kind: 'set', values: ['properties.accessPolicies[objectId=b].objectId=z', 'properties.accessPolicies[-2].objectId=y', 'tags.empty'] },
      { kind: 'remove', values: ['properties.accessPolicies', '-1', 'ignored'] },
    ];
    const changed = applyGenericUpdate(vault, { genericSteps: steps }, vaultModel);
    assert.deepEqual(changed.properties.accessPolicies, [{ tenantId: 't', objectId: 'y' }]);
    assert.deepEqual(changed.tags, { env: 'dev', empty: '' });
    const proto = applyGenericUpdate(vault, { set: ['tags.__proto__=x'], add: ['properties.accessPolicies', '__proto__=y'] }, vaultModel);
    assert.equal(Object.getPrototypeOf(proto.tags), Object.prototype, 'a key named __proto__ is a key');
    assert.equal(Object.getOwnPropertyDescriptor(proto.tags, '__proto__')?.value, 'x');
    assert.equal(Object.getOwnPropertyDescriptor(proto.properties.accessPolicies.at(-1), '__proto__')?.value, 'y');
  });

  describe('on the CLI', () => {
    let server: TestServer;
    let home: string;
    const cli = async (...args: string[]): Promise<CliResult> => {
      const r = await coffer(home, args);
      assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
      return r;
    };
    before(async () => {
      server = await startTestServer();
      home = cliHome();
      const b = server.bootstrap;
      await cli('login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '--server', server.url, '-o', 'none');
      await cli('group', 'create', '-n', 'rg', '-l', 'local', '--tags', 'keep=1', '-o', 'none');
      await cli('keyvault', 'create', '-n', 'generic-vault', '-g', 'rg', '--tags', 'env=dev', '-o', 'none');
    });
    after(() => server?.stop());

    it('keyvault update --set changes the properties and tags named, and only those', async () => {
      const updated = (await cli('keyvault', 'update', '-n', 'generic-vault', '--set', 'properties.enablePurgeProtection=true', 'tags.env=prod', 'properties.enabledForDeployment=true')).json<{ tags: Record<string, string>; properties: Record<string, unknown> }>();
      assert.equal(updated.properties.enablePurgeProtection, true);
      assert.equal(updated.properties.enabledForDeployment, true);
      assert.deepEqual(updated.tags, { env: 'prod' });
      assert.equal(updated.properties.enableRbacAuthorization, true, 'what --set leaves out stays');
      const removed = (await cli('keyvault', 'update', '-n', 'generic-vault', '--remove', 'tags.env')).json<{ tags: Record<string, string> }>();
      assert.deepEqual(removed.tags, {});
      const refused = await coffer(home, ['keyvault', 'update', '-n', 'generic-vault', '--remove', 'tags.nothing']);
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr, "ERROR: Couldn't find 'nothing' in 'tags'. Available options: []\n");
      // The tags as a whole: az's PUT then carries none, so the vault has none left.
      await cli('keyvault', 'update', '-n', 'generic-vault', '--set', 'tags.a=1', 'tags.b=2', '-o', 'none');
      assert.deepEqual((await cli('keyvault', 'update', '-n', 'generic-vault', '--remove', 'tags')).json<{ tags: Record<string, string> }>().tags, {});
      const properties = await coffer(home, ['keyvault', 'update', '-n', 'generic-vault', '--remove', 'properties']);
      assert.equal(properties.code, 1);
    });

    it("keyvault update --set of a name the vault's model lacks warns as az does, once per name, and sends it", async () => {
      const r = await cli('keyvault', 'update', '-n', 'generic-vault', '--set', 'properties.bogus=1', 'properties.enabledForDiskEncryption=true', 'tags.anything=x', 'properties.sku.extra=2', 'properties.networkAcls.whatever=3');
      // Not for tags, a dict; networkAcls is a model (keyvault create sets it).
      assert.equal(
        r.stderr,
        "WARNING: Property 'bogus' not found on properties. Send it as an additional property .\n" +
          "WARNING: Property 'extra' not found on sku. Send it as an additional property .\n" +
          "WARNING: Property 'whatever' not found on networkAcls. Send it as an additional property .\n",
      );
      // A null property is made a plain dict (set_properties sets {}), whose keys are no model's attributes.
      const created = await cli('keyvault', 'update', '-n', 'generic-vault', '--set', 'properties.hsmPoolResourceId.x=1');
      assert.equal(created.stderr, '');
      const quiet = await cli('keyvault', 'update', '-n', 'generic-vault', '--set', 'bogus=1', '--only-show-errors');
      assert.equal(quiet.stderr, '');
      const root = await cli('keyvault', 'update', '-n', 'generic-vault', '--set', 'Bogus=1');
      assert.equal(root.stderr, "WARNING: Property 'Bogus' not found on root. Send it as an additional property .\n");
    });

    it('group update --set changes its tags; --add and --remove are refused as az 2.45 refuses them', async () => {
      const set = (await cli('group', 'update', '-n', 'rg', '--set', 'tags.owner=ops', 'tags.n=5', 'tags.yes=True')).json<{ tags: Record<string, string> }>();
      assert.deepEqual(set.tags, { keep: '1', owner: 'ops', n: '5', yes: 'True' }, 'tags are sent as text, as the SDK sends them');
      const refused = await coffer(home, ['group', 'update', '-n', 'rg', '--remove', 'tags.keep', '--add', 'tags', 'x', '--remove', 'tags.owner']);
      assert.equal(refused.code, 1);
      assert.equal(
        refused.stderr,
        "WARNING: Argument 'properties_to_remove' has been deprecated and will be removed in a future release.\n" +
          "WARNING: Argument 'properties_to_add' has been deprecated and will be removed in a future release.\n" +
          "WARNING: Argument 'properties_to_remove' has been deprecated and will be removed in a future release.\n" +
          "ERROR: Unexpected 'properties_to_add' was not empty.\n",
      );
      const help = await cli('group', 'update', '--help');
      assert.doesNotMatch(help.stdout, /^\s+--(add|remove)\b/m);
      assert.match(help.stdout, /--set/);
    });

    it('--force-string keeps --set and --add values as text', async () => {
      const r = (await cli('group', 'update', '-n', 'rg', '--set', 'tags.n=5', '--force-string')).json<{ tags: Record<string, unknown> }>();
      assert.equal(r.tags.n, '5');
      const resource = { properties: { list: [] as unknown[], flag: false } };
      assert.deepEqual(applyGenericUpdate(resource, { set: ['properties.flag=true'], add: ['properties.list', '{"a": 1}'], forceString: true }).properties, { list: ['{"a": 1}'], flag: 'true' });
      assert.deepEqual(applyGenericUpdate(resource, { set: ['properties.flag=true'], add: ['properties.list', '{"a": 1}'] }).properties, { list: [{ a: 1n }], flag: true });
    });
  });
});

// Debian's az 2.45 and coffer against the same server: what each prints, its
// exit code, and the vault or group each leaves.
describe('generic update arguments as az 2.45 applies them', () => {
  let server: TestServer;
  let home: string;
  let azRun: (args: string[]) => Promise<AzResult>;
  /** The command line as run: with --only-show-errors, unless it starts with 'raw' (its warnings wanted too). */
  const asRun = (args: string[]) => (args[0] === 'raw' ? args.slice(1) : [...args, '--only-show-errors']);
  /** az's output and exit code. */
  const az = (args: string[]) => azRun(asRun(args));
  const ours = async (args: string[]) => {
    const r = await coffer(home, asRun(args));
    return { code: r.code, stdout: r.stdout, stderr: r.stderr.replaceAll('coffer', 'az') };
  };
  const must = async (p: Promise<{ code?: number; stderr: string; stdout: string }>) => {
    const r = await p;
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    server = await startTestServer();
    const b = server.bootstrap;
    azRun = await azSignedIn(server);
    home = cliHome();
    await must(ours(['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '--server', server.url, '-o', 'none']));
    await must(ours(['group', 'create', '-n', 'rg', '-l', 'local', '--tags', 'keep=1', '-o', 'none']));
    for (const name of ['gu-az', 'gu-coffer']) {
      await must(ours(['keyvault', 'create', '-n', name, '-g', 'rg', '--tags', 'env=dev', '--enable-rbac-authorization', 'false', '--network-acls-ips', '198.51.100.7', '-o', 'none']));
    }
  });
  after(() => server?.stop());

  it('refuses bad paths, indexes and values with the same message and exit code', async () => {
    const cases = [
      ['--set', 'properties.bogus.x=1'],
      ['--set', 'tags.a.b=1'],
      ['--set', 'properties.tenantId.x=1'],
      ['--set', 'properties.accessPolicies[9].objectId=x'],
      ['--set', 'properties.accessPolicies.x=1'],
      ['--set', '=1'],
      ['--add', 'tags', 'x'],
      ['--remove', 'tags.nothing'],
      ['--remove', 'properties.accessPolicies', '7'],
      ['--remove', 'properties.accessPolicies', 'x'],
      ['--remove', 'properties.accessPolicies[0]'],
    ];
    for (const args of cases) {
      const command = ['keyvault', 'update', '-n', 'gu-coffer', ...args];
      const [theirs, mine] = [await az(command), await ours(command)];
      assert.deepEqual({ code: mine.code, stderr: mine.stderr }, { code: theirs.code, stderr: theirs.stderr }, args.join(' '));
    }
    for (const group of [
      ['group', 'update', '-n', 'rg', '--set', 'bogus.x=1'],
      ['group', 'update', '-n', 'rg', '--set', 'properties.bogus.x=1'],
      ['raw', 'group', 'update', '-n', 'rg', '--remove', 'tags.keep', '--add', 'tags', 'x', '--remove', 'tags.keep'],
      ['raw', 'group', 'update', '-n', 'rg', '--remove', 'tags.keep'],
    ]) {
      const [theirs, mine] = [await az(group), await ours(group)];
      assert.deepEqual({ code: mine.code, stderr: mine.stderr }, { code: theirs.code, stderr: theirs.stderr }, group.join(' '));
    }
  });

  it('applies several --set, --add and --remove in command-line order, --add key=value making an object; tags sent as text', async () => {
    const args = [
      '--remove', 'tags.env',
      '--set', 'tags.env=again', 'tags.other=x',
      '--add', 'properties.networkAcls.ipRules', 'value=198.51.100.9',
      '--add', 'properties.networkAcls.ipRules', 'value=198.51.100.10',
      '--remove', 'properties.networkAcls.ipRules', '0',
      '--remove', 'tags.other',
    ];
    type Vault = { tags: Record<string, string>; properties: { networkAcls: unknown } };
    const theirs = JSON.parse(await must(az(['keyvault', 'update', '-n', 'gu-az', ...args]))) as Vault;
    const mine = JSON.parse(await must(ours(['keyvault', 'update', '-n', 'gu-coffer', ...args]))) as Vault;
    assert.deepEqual(mine.tags, { env: 'again' });
    assert.deepEqual({ tags: mine.tags, networkAcls: mine.properties.networkAcls }, { tags: theirs.tags, networkAcls: theirs.properties.networkAcls });
    const group = ['group', 'update', '-n', 'rg', '--set', 'tags.a=1', '--set', 'tags.b=True', 'tags.a=x'];
    const azGroup = JSON.parse(await must(az(group))) as { tags: unknown };
    await must(ours(['group', 'update', '-n', 'rg', '--tags', 'keep=1', '-o', 'none']));
    const ourGroup = JSON.parse(await must(ours(group))) as { tags: unknown };
    assert.deepEqual(ourGroup.tags, { keep: '1', a: 'x', b: 'True' });
    assert.deepEqual(ourGroup.tags, azGroup.tags);
    // A list or an object is sent as Python's str() of it, as az sends it; None is sent as null, which the service refuses.
    const shaped = ['keyvault', 'update', '-n', '', '--set', 'tags.d={"a": [1, "x\'y"], "b": null}', 'tags.l=[true, "z"]'];
    const azShaped = JSON.parse(await must(az(shaped.map((a) => a || 'gu-az')))) as Vault;
    const ourShaped = JSON.parse(await must(ours(shaped.map((a) => a || 'gu-coffer')))) as Vault;
    assert.deepEqual([ourShaped.tags.d, ourShaped.tags.l], [azShaped.tags.d, azShaped.tags.l]);
    assert.equal(ourShaped.tags.l, "[True, 'z']");
    const none = ['keyvault', 'update', '-n', '', '--set', 'tags.n=null'];
    const [azNone, ourNone] = [await az(none.map((a) => a || 'gu-az')), await ours(none.map((a) => a || 'gu-coffer'))];
    assert.deepEqual([ourNone.code, ourNone.stderr.replaceAll('gu-coffer', 'gu-az')], [azNone.code, azNone.stderr]);
    assert.notEqual(ourNone.code, 0);
  });
});
