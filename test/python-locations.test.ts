import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runPythonScript } from './support/python.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Debian's python3-azure (azure-mgmt-resource) unchanged: SubscriptionClient's
// subscriptions.list_locations against coffer.

describe('python3-azure SubscriptionClient: list_locations', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  it('reads every location into its models, at the package’s default API version and at az 2.45’s', () => {
    const out = runPythonScript<Record<string, Array<Record<string, any>>>>(server, 'subscription_locations.py');
    const sub = server.bootstrap.subscriptionId;
    for (const label of ['default', 'az']) {
      const listed = out[label]!;
      assert.equal(listed.length, 69, label);
      assert.deepEqual(listed.slice(0, 2).map((l) => l.name), ['local', 'eastus'], label);
      const eastus = listed[1]!;
      assert.equal(eastus.id, `/subscriptions/${sub}/locations/eastus`, label);
      assert.equal(eastus.display_name, 'East US', label);
      assert.equal(eastus.regional_display_name, '(US) East US', label);
      assert.deepEqual([eastus.metadata.region_type, eastus.metadata.region_category, eastus.metadata.geography_group], ['Physical', 'Recommended', 'US'], label);
    }
    // The newer models know `type` (LocationType): the default API version reads it.
    assert.equal(out.default![1]!.type, 'Region');
  });
});
