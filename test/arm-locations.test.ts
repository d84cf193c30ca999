import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServiceError } from '../src/server/errors.js';
import { locationChecker } from '../src/vaults/locations.js';
import { adminToken, api } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Locations as Resource Manager checks them: a vault or resource group is
// made only in a region its cloud has (coffer's: Azure's public regions and
// the deployment's own --location, `local` in the tests), in any spelling.

describe('vault and resource group locations', () => {
  let server: TestServer;
  let token: string;
  let sub: string;
  const group = (name: string, location: string) => api(server, 'PUT', `/subscriptions/${sub}/resourcegroups/${name}?api-version=2021-04-01`, { location }, token);
  const vault = (rg: string, name: string, location: string) =>
    api(server, 'PUT', `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${name}?api-version=2023-07-01`, { location, properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' } } }, token);

  before(async () => {
    server = await startTestServer();
    sub = server.bootstrap.subscriptionId;
    token = await adminToken(server);
  });
  after(() => server?.stop());

  it("refuses a location that is no region, with Resource Manager's codes and the list of those it takes; nothing is created", async () => {
    const badGroup = await group('rg-nowhere', 'nowhere');
    assert.equal(badGroup.status, 400);
    assert.equal(badGroup.body!.error.code, 'LocationNotAvailableForResourceGroup');
    assert.match(badGroup.body!.error.message, /^The provided location 'nowhere' is not available for resource group\. List of available regions is 'local,eastus,[a-z0-9,]*westeurope,[a-z0-9,]*'\.$/);
    assert.equal((await api(server, 'GET', `/subscriptions/${sub}/resourcegroups/rg-nowhere?api-version=2021-04-01`, undefined, token)).status, 404);

    assert.equal((await group('rg-somewhere', 'local')).status, 201);
    const badVault = await vault('rg-somewhere', 'nowhere-vault', 'Middle Earth');
    assert.equal(badVault.status, 400);
    assert.equal(badVault.body!.error.code, 'LocationNotAvailableForResourceType');
    assert.match(badVault.body!.error.message, /^The provided location 'Middle Earth' is not available for resource type 'Microsoft\.KeyVault\/vaults'\. List of available regions for the resource type is 'local,eastus,[a-z0-9,]*'\.$/);
    assert.equal((await api(server, 'GET', `/subscriptions/${sub}/resourceGroups/rg-somewhere/providers/Microsoft.KeyVault/vaults/nowhere-vault?api-version=2023-07-01`, undefined, token)).status, 404);
  });

  it("takes `local` whatever the deployment's location is, and lists the deployment's first", () => {
    const check = locationChecker('North Europe');
    check.vault('local');
    check.group('Local');
    check.vault('northeurope');
    assert.throws(() => check.group('nowhere'), (err: ServiceError) => err.message.includes("List of available regions is 'northeurope,local,eastus,"));
  });

  it("takes Azure's public regions in their display names too, and the deployment's own location", async () => {
    for (const [name, location, stored] of [['rg-west', 'West US 2', 'westus2'], ['rg-aus', 'australiacentral2', 'australiacentral2'], ['rg-local', 'Local', 'local']] as const) {
      const created = await group(name, location);
      assert.deepEqual([created.status, created.body!.location], [201, stored], location);
      const v = await vault(name, `${name}-v`, location);
      assert.deepEqual([v.status, v.body!.location], [200, stored], location);
    }
    // An existing resource moved to no region: that location is refused first, as Resource Manager checks it before the resource.
    assert.equal((await group('rg-west', 'nowhere')).body!.error.code, 'LocationNotAvailableForResourceGroup');
    assert.equal((await vault('rg-west', 'rg-west-v', 'nowhere')).body!.error.code, 'LocationNotAvailableForResourceType');
    assert.equal((await vault('rg-west', 'rg-west-v', 'eastus')).body!.error.code, 'InvalidResourceLocation');
  });
});
