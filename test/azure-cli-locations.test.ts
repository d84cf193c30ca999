import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Debian's azure-cli 2.45, unchanged, listing coffer's locations
// (`az account list-locations`, through azure-mgmt-resource's
// SubscriptionClient), and `coffer account list-locations` printing the
// same, character for character, for the same server answer.

const run = promisify(execFile);

describe('az account list-locations against coffer', () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;
  let home: string;
  const az = (args: string[]) =>
    run('/usr/bin/az', args, { env, timeout: 120_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
    );
  const ours = async (args: string[]) => {
    const r = await coffer(home, args);
    return { code: r.code, stdout: r.stdout, stderr: r.stderr.replaceAll('coffer', 'az') };
  };

  before(async () => {
    server = await startTestServer({ args: ['--location', 'onprem'] });
    const azHome = mkdtempSync(join(tmpdir(), 'coffer-az-'));
    env = { ...process.env, AZURE_CONFIG_DIR: azHome, REQUESTS_CA_BUNDLE: process.env.COFFER_TEST_CA_BUNDLE, AZURE_CORE_COLLECT_TELEMETRY: 'false' };
    const base = `${server.url}/`;
    const cloud = {
      endpoints: { resourceManager: base, activeDirectory: `${server.url}/adfs`, activeDirectoryResourceId: base, activeDirectoryGraphResourceId: base, microsoftGraphResourceId: base },
      suffixes: { keyvaultDns: `.${server.bootstrap.vaultDnsSuffix}:${server.port}` },
    };
    const file = join(azHome, 'coffer-cloud.json');
    writeFileSync(file, JSON.stringify(cloud));
    for (const args of [['cloud', 'register', '-n', 'coffer', '--cloud-config', `@${file}`], ['cloud', 'set', '-n', 'coffer']]) assert.equal((await az(args)).code, 0);
    const b = server.bootstrap;
    const login = ['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '-o', 'none'];
    assert.equal((await az(login)).code, 0);
    home = cliHome();
    assert.equal((await coffer(home, [...login, '--server', server.url])).code, 0);
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
