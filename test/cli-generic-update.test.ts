import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CliError } from '../src/cli/cli-error.js';
import { applyGenericUpdate } from '../src/cli/generic-update.js';
import { cliHome, coffer, type CliResult } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// az's generic update arguments (--set, --add, --remove) on `keyvault update`
// and `group update`, as Microsoft's docs use them.

describe('generic update arguments', () => {
  it('set by a path in any case (JSON values, else text), add to a list, remove a key or a list item', () => {
    const resource = { tags: { Env: 'dev' }, properties: { enablePurgeProtection: false, accessPolicies: [{ objectId: 'a' }, { objectId: 'b' }] } };
    const changed = applyGenericUpdate(resource, {
      set: ['properties.enablepurgeprotection=true', 'tags.env=prod', 'tags.team=data ops', 'properties.accessPolicies[1].objectId=c', 'properties.networkAcls.defaultAction=Deny'],
      add: ['properties.accessPolicies', 'objectId=d', 'tenantId=t'],
      remove: ['properties.accessPolicies', '0'],
    });
    assert.deepEqual(changed, {
      tags: { Env: 'prod', team: 'data ops' },
      properties: { enablePurgeProtection: true, accessPolicies: [{ objectId: 'c' }, { objectId: 'd', tenantId: 't' }], networkAcls: { defaultAction: 'Deny' } },
    });
    assert.equal(resource.properties.enablePurgeProtection, false, 'the resource as read is left alone');
    assert.deepEqual(applyGenericUpdate(resource, { remove: ['tags.ENV'] }).tags, {});
    for (const bad of [{ set: ['no-equals'] }, { remove: ['tags.missing'] }, { add: ['tags', 'x'] }, { remove: ['properties.accessPolicies', '7'] }, { set: ['properties.accessPolicies[9].objectId=x'] }]) {
      assert.throws(() => applyGenericUpdate(resource, bad), CliError, JSON.stringify(bad));
    }
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
      assert.match(refused.stderr, /^ERROR: Couldn't find 'nothing' in 'tags\.nothing'\.$/m);
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

    it('group update --set and --remove change its tags', async () => {
      const set = (await cli('group', 'update', '-n', 'rg', '--set', 'tags.owner=ops')).json<{ tags: Record<string, string> }>();
      assert.deepEqual(set.tags, { keep: '1', owner: 'ops' });
      const removed = (await cli('group', 'update', '-n', 'rg', '--remove', 'tags.keep')).json<{ tags: Record<string, string> }>();
      assert.deepEqual(removed.tags, { owner: 'ops' });
    });

    it('--force-string keeps --set and --add values as text', async () => {
      const r = (await cli('group', 'update', '-n', 'rg', '--set', 'tags.n=5', '--force-string')).json<{ tags: Record<string, unknown> }>();
      assert.equal(r.tags.n, '5');
      const resource = { properties: { list: [] as unknown[], flag: false } };
      assert.deepEqual(applyGenericUpdate(resource, { set: ['properties.flag=true'], add: ['properties.list', '{"a": 1}'], forceString: true }).properties, { list: ['{"a": 1}'], flag: 'true' });
      assert.deepEqual(applyGenericUpdate(resource, { set: ['properties.flag=true'], add: ['properties.list', '{"a": 1}'] }).properties, { list: [{ a: 1 }], flag: true });
    });
  });
});
