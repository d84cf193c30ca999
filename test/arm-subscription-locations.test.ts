import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { subscriptionLocations } from '../src/vaults/location-list.js';
import { credential } from './support/clients.js';
import { adminToken, api, newServicePrincipal } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Subscriptions - List Locations (GET /subscriptions/{id}/locations), as
// Resource Manager answers it: the regions coffer takes for a vault or a
// resource group, the deployment's own --location first.

describe('the subscription’s locations (Resource Manager)', () => {
  let server: TestServer;
  let token: string;
  let sub: string;
  const path = (s: string, version = '2022-12-01') => `/subscriptions/${s}/locations${version ? `?api-version=${version}` : ''}`;

  before(async () => {
    server = await startTestServer({ args: ['--location', 'onprem'] });
    sub = server.bootstrap.subscriptionId;
    token = await adminToken(server);
  });
  after(() => server?.stop());

  it('lists every location coffer takes, each in Resource Manager’s shape', async () => {
    const r = await api(server, 'GET', path(sub), undefined, token);
    assert.equal(r.status, 200);
    const value = r.body!.value as Array<Record<string, any>>;
    assert.deepEqual(Object.keys(r.body!), ['value']);
    // The deployment's --location first, then `local`, then Azure's regions in Resource Manager's order.
    assert.deepEqual(value.slice(0, 4).map((l) => l.name), ['onprem', 'local', 'eastus', 'eastus2']);
    assert.deepEqual(value[0], {
      id: `/subscriptions/${sub}/locations/onprem`,
      name: 'onprem',
      type: 'Region',
      displayName: 'onprem',
      regionalDisplayName: 'onprem',
      metadata: { regionType: 'Physical', regionCategory: 'Recommended' },
    });
    assert.equal(value[1]!.displayName, 'Local');
    const westus2 = value.find((l) => l.name === 'westus2');
    assert.deepEqual(westus2, {
      id: `/subscriptions/${sub}/locations/westus2`,
      name: 'westus2',
      type: 'Region',
      displayName: 'West US 2',
      regionalDisplayName: '(US) West US 2',
      metadata: { regionType: 'Physical', regionCategory: 'Recommended', geographyGroup: 'US' },
    });
    assert.equal(value.find((l) => l.name === 'ukwest')!.metadata.regionCategory, 'Other');
    assert.equal(value.find((l) => l.name === 'germanywestcentral')!.regionalDisplayName, '(Europe) Germany West Central');
    const names = value.map((l) => l.name);
    assert.equal(new Set(names).size, names.length, 'each location once');
    assert.equal(names.length, 70);

    // The same list whatever the subscription id's case, as the other subscription routes take it.
    const upper = await api(server, 'GET', path(sub.toUpperCase()), undefined, token);
    assert.deepEqual(upper.body!.value.map((l: { name: string }) => l.name), names);
  });

  it('lists a --location that is one of Azure’s regions as Azure lists it, first, and once', () => {
    const listed = subscriptionLocations('s', 'westeurope');
    assert.deepEqual(listed.slice(0, 3).map((l) => [l.name, l.regionalDisplayName]), [['westeurope', '(Europe) West Europe'], ['local', 'Local'], ['eastus', '(US) East US']]);
    assert.equal(listed.filter((l) => l.name === 'westeurope').length, 1);
    assert.equal(listed[0]!.id, '/subscriptions/s/locations/westeurope');
  });

  it('every location listed is one a resource group can be created in', async () => {
    const value = (await api(server, 'GET', path(sub), undefined, token)).body!.value as Array<{ name: string; displayName: string }>;
    for (const l of [value[0]!, value[1]!, value.find((x) => x.name === 'denmarkeast')!]) {
      const made = await api(server, 'PUT', `/subscriptions/${sub}/resourcegroups/rg-${l.name}?api-version=2021-04-01`, { location: l.displayName }, token);
      assert.deepEqual([made.status, made.body!.location], [201, l.name], l.name);
    }
  });

  it('asks for a token before the subscription is looked at: 401 with the challenge; without an api-version, as the other routes', async () => {
    for (const url of [path(sub), path('00000000-0000-0000-0000-000000000000')]) {
      const res = await fetch(`${server.url}${url}`);
      assert.equal(res.status, 401, url);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer authorization_uri="[^"]+", error="invalid_token"/, url);
    }
    // The same request with a token is answered: the 401 is this route's own check, not a missing route's.
    assert.equal((await api(server, 'GET', path(sub), undefined, token)).status, 200);
    // Every Resource Manager route checks the api-version first (arm-common.ts): the same answer as GET of the subscription.
    const unversioned = await fetch(`${server.url}${path(sub, '')}`);
    const showUnversioned = await fetch(`${server.url}/subscriptions/${sub}`);
    assert.deepEqual([unversioned.status, (await unversioned.json()).error.code], [showUnversioned.status, (await showUnversioned.json()).error.code]);
  });

  it('refuses a missing or malformed api-version and an unknown subscription as the other subscription routes do', async () => {
    const missing = await api(server, 'GET', path(sub, ''), undefined, token);
    assert.deepEqual([missing.status, missing.body!.error.code], [400, 'MissingApiVersionParameter']);
    const bad = await api(server, 'GET', path(sub, 'yesterday'), undefined, token);
    assert.deepEqual([bad.status, bad.body!.error.code], [400, 'InvalidApiVersionParameter']);
    const other = '00000000-0000-0000-0000-000000000000';
    const unknown = await api(server, 'GET', path(other), undefined, token);
    const show = await api(server, 'GET', `/subscriptions/${other}?api-version=2022-12-01`, undefined, token);
    assert.deepEqual([unknown.status, unknown.body], [404, { error: { code: 'SubscriptionNotFound', message: `The subscription '${other}' could not be found.` } }]);
    assert.deepEqual([unknown.status, unknown.body], [show.status, show.body]);
  });

  it('is refused, as GET of the subscription is, to a principal with no role in it', async () => {
    const sp = await newServicePrincipal(server, 'locations-no-role');
    const spToken = (await credential(server, sp.appId, sp.secret).getToken(`${server.url}/.default`)).token;
    const r = await api(server, 'GET', path(sub), undefined, spToken);
    assert.equal(r.status, 403);
    assert.equal(r.body!.error.code, 'AuthorizationFailed');
    assert.match(r.body!.error.message, /'Microsoft\.Resources\/subscriptions\/locations\/read' over scope '\/subscriptions\/[0-9a-f-]+'/);
    assert.equal((await api(server, 'GET', `/subscriptions/${sub}?api-version=2022-12-01`, undefined, spToken)).status, 403);
  });
});
