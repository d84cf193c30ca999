import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { azRegistered, azSignedIn, outcome, type AzResult } from './support/az-cli.js';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// az 2.45 runs a command's argument validators in order before the command: keyvault's first one finds the
// vault's group when -g is not given (a login and a listing), the others (set-policy's principal and
// permission checks, network-rule's overlapping --ip-address) need no login. What az prints, signed out and
// signed in, is what coffer prints for the same command line (its own name in "Please run ... login").

type Runner = (args: string[]) => Promise<AzResult>;

describe('CLI: argument checks before or after the login and the vault lookup, in az 2.45 order', () => {
  let server: TestServer;
  let home = '';
  const signedOutHome = cliHome();
  let az: Runner;
  let azOut: Runner;
  const { signIn, cli } = cliRunners(() => home);
  const same = async (azRun: Runner, cofferHome: string, args: string[]) => {
    const a = outcome(await azRun(args));
    const c = outcome(await coffer(cofferHome, args));
    assert.deepEqual(c, { ...a, stderr: a.stderr.replace("'az login'", "'coffer login'") }, args.join(' '));
    return a;
  };

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'order-v', '-g', 'rg', '-o', 'none');
    az = await azSignedIn(server);
    azOut = await azRegistered(server);
  });
  after(() => server?.stop());

  it('keyvault set-policy without permissions: with -g, before the login; without, after the vault lookup', async () => {
    const codes: number[] = [];
    for (const args of [
      ['-n', 'order-v', '-g', 'rg', '--upn', 'nobody@example.com'],
      ['-n', 'order-v', '-g', 'rg', '--object-id', '00000000-0000-0000-0000-000000000001'],
      ['-n', 'order-v', '-g', 'rg'],
      ['-n', 'order-v', '--object-id', '00000000-0000-0000-0000-000000000001'],
      ['-n', 'order-v', '-g', 'rg', '--spn', 'x', '--secret-permissions', 'get'],
      ['-n', 'missing-v', '--upn', 'nobody@example.com'],
      ['-n', 'missing-v', '--secret-permissions', 'get'],
    ]) {
      for (const [azRun, cofferHome] of [
        [azOut, signedOutHome],
        [az, home],
      ] as const) {
        codes.push((await same(azRun, cofferHome, ['keyvault', 'set-policy', ...args])).code);
      }
    }
    // Signed out: the argparse errors (2) with -g, the login's (1) without; signed in, the vault lookup's first.
    assert.deepEqual(codes, [2, 2, 2, 2, 2, 2, 1, 2, 1, 1, 1, 1, 1, 1]);
  });

  it("keyvault network-rule add | remove: az's --ip-address check (overlaps, host bits) in the same place", async () => {
    const codes: number[] = [];
    for (const [verb, args] of [
      ['add', ['-n', 'order-v', '-g', 'rg', '--ip-address', '10.0.0.0/8', '10.1.0.0/16']],
      ['add', ['-n', 'order-v', '-g', 'rg', '--ip-address', '::FFFF:1.2.3.4', '::ffff:102:304/128']],
      ['add', ['-n', 'order-v', '-g', 'rg', '--ip-address', '1.2.3.4/08']],
      ['add', ['-n', 'order-v', '--ip-address', 'abc']],
      ['add', ['-n', 'missing-v', '--ip-address', '1.2.3.4', '1.2.3.4/32']],
      ['remove', ['-n', 'order-v', '-g', 'rg', '--ip-address', '::/0', '::1']],
      ['remove', ['-n', 'order-v', '--ip-address', '1.2.3.4', '1.2.3.0/24']],
    ] as const) {
      for (const [azRun, cofferHome] of [
        [azOut, signedOutHome],
        [az, home],
      ] as const) {
        codes.push((await same(azRun, cofferHome, ['keyvault', 'network-rule', verb, ...args])).code);
      }
    }
    assert.deepEqual(codes, [1, 1, 1, 1, 2, 2, 1, 2, 1, 1, 1, 1, 1, 1]);
  });
});
