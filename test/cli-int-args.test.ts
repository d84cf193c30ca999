import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { pyInt } from '../src/cli/arg-types.js';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// az 2.45's integer arguments: --maxresults and --years are argparse's
// type=int, read with the command line (exit 2, before the login is loaded);
// --retention-days has no type and meets int() in the command itself.

const SAMPLES = ['7', ' 12 ', '+3', '-0', '007', '1_0', '_1', '1_', '1__0', '٣٢', '𝟐𝟑', '\u30005', '\x855', '\x1c5', '\ufeff5', '+ 5', '0x10', '1.5', '', 'ten'];

describe("az's integer arguments", () => {
  let server: TestServer;
  let home: string;
  const { cli, json, signIn } = cliRunners(() => home);
  /** A refusal: exactly these stderr lines and the exit code, nothing on stdout. */
  const refuses = async (at: string, args: string[], stderr: string, code: number) => {
    const r = await coffer(at, args);
    assert.deepEqual([r.code, r.stderr, r.stdout], [code, stderr, ''], args.join(' '));
  };

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'int-vault', '-g', 'rg', '-o', 'none');
  });
  after(() => server?.stop());

  it("reads numbers as Python's int() does", () => {
    const python = spawnSync('/usr/bin/python3', ['-c', 'import json,sys\ndef f(s):\n  try: return int(s)\n  except ValueError: return None\nprint(json.dumps([f(s) for s in json.load(sys.stdin)]))'], { input: JSON.stringify(SAMPLES), encoding: 'utf8' });
    assert.equal(python.status, 0, python.stderr);
    assert.deepEqual(SAMPLES.map((s) => pyInt(s) ?? null), JSON.parse(python.stdout));
  });

  it('refuses a --maxresults or --years that is not one as argparse does, before the login is loaded', async () => {
    const nobody = cliHome();
    for (const cmd of [['list'], ['list-deleted'], ['list-versions', '-n', 's']]) {
      await refuses(nobody, ['keyvault', 'secret', ...cmd, '--vault-name', 'int-vault', '--maxresults', 'x'], "ERROR: argument --maxresults: invalid int value: 'x'\n", 2);
    }
    // Left to right, the first bad value is reported; argparse's %r quoting.
    await refuses(nobody, ['keyvault', 'secret', 'list', '--maxresults', "it's", '--vault-name', 'int-vault', '--maxresults', 'y'], 'ERROR: argument --maxresults: invalid int value: "it\'s"\n', 2);
    await refuses(nobody, ['ad', 'sp', 'credential', 'reset', '--id', 'x', '--years', '1.5'], "ERROR: argument --years: invalid int value: '1.5'\n", 2);
    await refuses(nobody, ['ad', 'sp', 'create-for-rbac', '--years', '1_0', '--years', ' 3x'], "ERROR: argument --years: invalid int value: ' 3x'\n", 2);
    // Before the required arguments too (list-versions needs a name or --id: a check of its own, after parsing).
    await refuses(home, ['keyvault', 'secret', 'list-versions', '--vault-name', 'int-vault', '--maxresults', ''], "ERROR: argument --maxresults: invalid int value: ''\n", 2);
  });

  it("takes --maxresults in int()'s other forms", async () => {
    for (const name of ['a', 'b', 'c']) await cli('keyvault', 'secret', 'set', '--vault-name', 'int-vault', '-n', name, '--value', 'v', '-o', 'none');
    assert.equal((await json<unknown[]>('keyvault', 'secret', 'list', '--vault-name', 'int-vault', '--maxresults', ' 2 ')).length, 2);
    assert.equal((await json<unknown[]>('keyvault', 'secret', 'list', '--vault-name', 'int-vault', '--maxresults', '٢')).length, 2);
    assert.equal((await json<unknown[]>('keyvault', 'secret', 'list', '--vault-name', 'int-vault', '--maxresults', '1_0')).length, 3);
  });

  it("--retention-days meets int() where az's create_vault and update_vault do: an unexpected error (exit 1), nothing changed", async () => {
    const unexpected = (v: string) => `ERROR: The command failed with an unexpected error. Here is the traceback:\nERROR: invalid literal for int() with base 10: '${v}'\n`;
    await refuses(home, ['keyvault', 'update', '-n', 'int-vault', '--retention-days', 'x'], unexpected('x'), 1);
    assert.equal((await json('keyvault', 'show', '-n', 'int-vault')).properties.softDeleteRetentionInDays, 90);
    // After the vault is looked up, as in az (its generic update's getter runs first).
    await refuses(home, ['keyvault', 'update', '-n', 'no-such-vault', '--retention-days', 'x'], "ERROR: The Vault 'no-such-vault' not found within subscription.\n", 1);
    await refuses(home, ['keyvault', 'create', '-n', 'int-vault-2', '-g', 'rg', '--retention-days', 'seven'], unexpected('seven'), 1);
    assert.equal((await coffer(home, ['keyvault', 'show', '-n', 'int-vault-2'])).code, 1, 'not created');
    // (The retention is fixed after creation: an update may only repeat it.)
    assert.equal((await json('keyvault', 'update', '-n', 'int-vault', '--retention-days', ' 9_0 ')).properties.softDeleteRetentionInDays, 90);
    assert.equal((await json('keyvault', 'create', '-n', 'int-vault-3', '-g', 'rg', '--retention-days', '+8')).properties.softDeleteRetentionInDays, 8);
  });
});
