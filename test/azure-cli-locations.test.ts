import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { azSignedIn } from './support/az-cli.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Debian's azure-cli 2.45, unchanged, listing coffer's locations
// (`az account list-locations`, through azure-mgmt-resource's
// SubscriptionClient), and `coffer account list-locations` printing the
// same, character for character, for the same server answer.

describe('az account list-locations against coffer', () => {
  let server: TestServer;
  let az: Awaited<ReturnType<typeof azSignedIn>>;
  let home: string;
  const ours = async (args: string[]) => {
    const r = await coffer(home, args);
    return { code: r.code, stdout: r.stdout, stderr: r.stderr.replaceAll('coffer', 'az') };
  };

  before(async () => {
    server = await startTestServer({ args: ['--location', 'onprem'] });
    az = await azSignedIn(server);
    const b = server.bootstrap;
    home = cliHome();
    assert.equal((await coffer(home, ['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '-o', 'none', '--server', server.url])).code, 0);
  });
  after(() => server?.stop());

  it('az lists the locations the server answers, the deployment’s first', async () => {
    const r = await az(['account', 'list-locations']);
    assert.equal(r.code, 0, r.stderr);
    const listed = JSON.parse(r.stdout) as Array<Record<string, any>>;
    assert.deepEqual(listed.slice(0, 3).map((l) => [l.name, l.displayName, l.regionalDisplayName]), [
      ['onprem', 'onprem', 'onprem'],
      ['local', 'Local', 'Local'],
      ['eastus', 'East US', '(US) East US'],
    ]);
    assert.equal(listed.length, 70);
    // The SDK model's attributes, null where the server sends none (coordinates, pairing); `type` kept as an additional property.
    const sub = server.bootstrap.subscriptionId;
    assert.deepEqual(listed[2], {
      id: `/subscriptions/${sub}/locations/eastus`,
      subscriptionId: null,
      name: 'eastus',
      type: 'Region',
      displayName: 'East US',
      regionalDisplayName: '(US) East US',
      metadata: { regionType: 'Physical', regionCategory: 'Recommended', geographyGroup: 'US', longitude: null, latitude: null, physicalLocation: null, pairedRegion: null },
    });
  });

  it('coffer account list-locations prints what az prints, in every format and with --query', async () => {
    const command = ['account', 'list-locations'];
    for (const extra of [[], ['-o', 'json'], ['-o', 'jsonc'], ['-o', 'tsv'], ['-o', 'yaml'], ['-o', 'table'], ['-o', 'none'], ['--query', "[?metadata.geographyGroup=='Europe'].{n: name, r: regionalDisplayName}", '-o', 'table'], ['--query', '[0].metadata'], ['--que', '[1].name', '-o', 'tsv']]) {
      const [theirs, mine] = [await az([...command, ...extra]), await ours([...command, ...extra])];
      assert.equal(theirs.code, 0, theirs.stderr);
      assert.deepEqual(mine, theirs, extra.join(' '));
    }
  });

  it('refuses what az 2.45 refuses: --include-extended-locations (a later az’s) and --subscription', async () => {
    for (const extra of [['--include-extended-locations'], ['--subscription', 'x'], ['-s', 'x']]) {
      const [theirs, mine] = [await az(['account', 'list-locations', ...extra]), await ours(['account', 'list-locations', ...extra])];
      assert.equal(theirs.code, 2, theirs.stderr);
      assert.deepEqual([mine.code, mine.stdout, mine.stderr.split('\n')[0]], [theirs.code, theirs.stdout, theirs.stderr.split('\n')[0]], extra.join(' '));
    }
  });
});
