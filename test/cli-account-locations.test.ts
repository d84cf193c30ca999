import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// coffer account list-locations: the subscription's locations as az 2.45
// prints them (azure-mgmt-resource's 2019-11-01 Location model; no table
// transformer in az's profile module, so knack's own table of the scalar
// columns).

describe('coffer account list-locations', () => {
  let server: TestServer;
  let home: string;
  const { cli, signIn } = cliRunners(() => home);

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
  });
  after(() => server?.stop());

  it('prints every location as az does, in JSON: each attribute of the model, null where the server sends none', async () => {
    const listed = (await cli('account', 'list-locations')).json<Array<Record<string, unknown>>>();
    // The default --location is `local`: listed once, first.
    assert.deepEqual(listed.slice(0, 3).map((l) => l.name), ['local', 'eastus', 'eastus2']);
    assert.equal(listed.length, 69);
    const sub = server.bootstrap.subscriptionId;
    assert.deepEqual(listed[0], {
      displayName: 'Local',
      id: `/subscriptions/${sub}/locations/local`,
      metadata: { geographyGroup: null, latitude: null, longitude: null, pairedRegion: null, physicalLocation: null, regionCategory: 'Recommended', regionType: 'Physical' },
      name: 'local',
      regionalDisplayName: 'Local',
      subscriptionId: null,
      type: 'Region',
    });
    const northEurope = listed.find((l) => l.name === 'northeurope')!;
    assert.deepEqual([northEurope.displayName, northEurope.regionalDisplayName, (northEurope.metadata as Record<string, unknown>).geographyGroup], ['North Europe', '(Europe) North Europe', 'Europe']);
    // az's JSON: keys sorted, two-space indent.
    const raw = (await cli('account', 'list-locations', '--query', '[0]')).stdout;
    assert.ok(raw.startsWith('{\n  "displayName": "Local",\n  "id": '), raw);
    assert.equal((await cli('account', 'list-locations', '--query', "[?name=='uksouth'].regionalDisplayName", '-o', 'tsv')).stdout, '(Europe) UK South\n');
  });

  it('prints knack’s table: the scalar columns (id and type left out) in key order', async () => {
    const lines = (await cli('account', 'list-locations', '-o', 'table')).stdout.split('\n');
    assert.match(lines[0]!, /^DisplayName +Name +RegionalDisplayName$/);
    assert.match(lines[1]!, /^-+ {2}-+ {2}-+$/);
    assert.match(lines[2]!, /^Local +local +Local$/);
    assert.match(lines[3]!, /^East US +eastus +\(US\) East US$/);
    assert.ok(lines.some((l) => /^Germany West Central +germanywestcentral +\(Europe\) Germany West Central$/.test(l)));
    assert.equal(lines.filter((l) => l !== '').length, 2 + 69);
  });

  it('takes none of its own options, and not --subscription, as az 2.45; without a login, az’s error', async () => {
    for (const extra of [['--include-extended-locations'], ['--subscription', 'x']]) {
      const r = await coffer(home, ['account', 'list-locations', ...extra]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', `ERROR: unrecognized arguments: ${extra.join(' ')}\n`]);
    }
    const help = await cli('account', 'list-locations', '--help');
    assert.match(help.stdout, /List supported regions for the current subscription\.[\s\S]*Examples:\n  coffer account list-locations -o table\n/);
    const loggedOut = await coffer(cliHome(), ['account', 'list-locations']);
    assert.deepEqual([loggedOut.code, loggedOut.stderr], [1, "ERROR: Please run 'coffer login' to setup account.\n"]);
  });
});
