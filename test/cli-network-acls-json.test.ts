import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { azSignedIn, keyvaultCreateByBoth, withoutTraceback, type AzResult } from './support/az-cli.js';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// az 2.45's `keyvault create --network-acls`: a JSON string or a JSON file's path (validate_file_or_dict),
// with `ip` and `vnet` lists to which --network-acls-ips and --network-acls-vnets are added
// (_parse_network_acls). Each case runs the real az and coffer against the same server, in the same
// directory, and compares what they print.

describe('CLI: keyvault create --network-acls, as az 2.45 reads it', () => {
  let server: TestServer;
  let home = '';
  let dir = '';
  let az: (args: string[], cwd?: string) => Promise<AzResult>;
  const { signIn, cli } = cliRunners(() => home);
  /** The same `keyvault create` by az and by coffer, each with a vault name of its own. */
  const createByBoth = keyvaultCreateByBoth(() => az, (args, cwd) => coffer(home, args, {}, cwd), 'acl');
  const both = (args: string[]) => createByBoth(args, dir);

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    az = await azSignedIn(server);
    dir = mkdtempSync(join(tmpdir(), 'coffer-acl-'));
    writeFileSync(join(dir, 'acl.json'), '{"ip": ["9.9.9.9", "8.8.8.8"], "vnet": ["V1/S1"]}');
    writeFileSync(join(dir, 'bad.json'), '{bad\n');
    writeFileSync(join(dir, 'empty.json'), '');
    mkdirSync(join(dir, 'dir.json'));
  });
  after(() => server?.stop());

  it('creates the same rules from JSON text, a file, a Python literal and an empty dict', async () => {
    const query = ['--query', 'properties.networkAcls', '-o', 'json'];
    for (const args of [
      ['--default-action', 'Deny', '--network-acls', '{"ip": ["1.2.3.4", "5.6.7.0/24"], "vnet": ["MyVnet/MySubnet"], "other": 1}'],
      // The flags' values are added to the file's lists, each once.
      ['--network-acls', 'acl.json', '--network-acls-ips', '8.8.8.8', '7.7.7.7', '--network-acls-vnets', 'V1/S1', 'V2/S2'],
      ["--network-acls", "{'ip': ['4.4.4.4'], 'vnet': ('A/B',)}"],
      ['--network-acls', '{}'],
    ]) {
      const r = await both([...args, ...query]);
      assert.equal(r.az.code, 0, r.az.stderr);
      assert.deepEqual(r.coffer, r.az, args.join(' '));
    }
  });

  it('refuses what is not JSON, or a file that is not there, with az\'s messages', async () => {
    for (const value of ['{bad', '{"ip": ["1.2.3.4"]} x', 'nothing', 'missing.json', 'bad.json', 'empty.json', '{"ip": [null]}']) {
      const r = await both(['--network-acls', value]);
      assert.equal(r.az.code, 1, value);
      assert.deepEqual(r.coffer, r.az, value);
    }
  });

  it('fails where az\'s code fails on a value of another shape, as az reports an error it did not expect', async () => {
    for (const args of [['[1]'], ['"text"'], ['7'], ['{"ip": "1.2.3.4"}', '--network-acls-ips', '1.1.1.1'], ['{"ip": null}'], ['{"vnet": [1]}'], ['dir.json']]) {
      const r = await both(['--network-acls', ...args]);
      assert.equal(r.az.code, 1, args.join(' '));
      assert.match(r.az.stderr, /^ERROR: The command failed with an unexpected error/);
      assert.deepEqual(r.coffer, { ...r.az, stderr: withoutTraceback(r.az.stderr) }, args.join(' '));
    }
  });

  it('reads sets, bytes, complex numbers and ints in any base as ast.literal_eval does, then fails or sends them as az does', async () => {
    for (const args of [
      ['{1, 2}'], ["{'ip', 'vnet'}"], ["{'ip', 'vnet'}", '--network-acls-ips', '1.1.1.1'], ["b'ip'"], ['1j'], ['1+2j'], ['0x10'], ['0o7'], ['0b1'], ['1_000'],
      ["{'vnet': [0x10]}"], ["{'vnet': [b'a/b']}"], ["{'ip': [b'1.2.3.4']}"], ["{'ip': [0x1]}"], ["{'ip': [1+2j]}"], ["{'ip': [{1}]}"],
    ]) {
      const r = await both(['--network-acls', ...args]);
      assert.equal(r.az.code, 1, args.join(' '));
      const expected = r.az.stderr.startsWith('ERROR: The command failed with an unexpected error') ? { ...r.az, stderr: withoutTraceback(r.az.stderr) } : r.az;
      assert.deepEqual(r.coffer, expected, args.join(' '));
    }
    const query = ['--query', 'properties.networkAcls', '-o', 'json'];
    for (const value of ["{'ip': {'1.2.3.4'}, 'vnet': (), 1: b'x', (2, 3): 1j}", 'set()', "{'ip': [u'5.6.7.8'], 'vnet': set()}"]) {
      const r = await both(['--network-acls', value, ...query]);
      assert.equal(r.az.code, 0, r.az.stderr);
      assert.deepEqual(r.coffer, r.az, value);
    }
  });
});
