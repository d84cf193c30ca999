import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// `keyvault secret` arguments as az 2.45 parses them: --expires/--not-before
// (keyvault's datetime_type) and --id (validate_key_id's KeyVaultIdentifier).

describe('coffer keyvault secret arguments, as az 2.45 reads them', () => {
  let server: TestServer;
  let home: string;
  const { cli, json, signIn } = cliRunners(() => home);
  /** A refusal: exactly `ERROR: message` and the exit code. */
  const refuses = async (args: string[], message: string, code: number) => {
    const r = await coffer(home, args);
    assert.deepEqual([r.code, r.stderr], [code, `ERROR: ${message}\n`], r.stdout);
  };

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'args-vault', '-g', 'rg', '-o', 'none');
  });
  after(() => server?.stop());

  it("--expires and --not-before take datetime_type's four forms, UTC, as strptime reads them", async () => {
    await cli('keyvault', 'secret', 'set', '--vault-name', 'args-vault', '-n', 'dated', '--value', 'x', '-o', 'none');
    const cases = [
      ['2031-02-03T04:05:06Z', '2031-02-03T04:05:06+00:00'],
      ['2031-02-03T04:05Z', '2031-02-03T04:05:00+00:00'],
      ['2031-02-03T04Z', '2031-02-03T04:00:00+00:00'],
      ['2031-02-03', '2031-02-03T00:00:00+00:00'],
      // strptime: one-digit fields, any case, a day as ' 3'.
      ['2031-2-3t4:5:6z', '2031-02-03T04:05:06+00:00'],
      ['2032-02- 9', '2032-02-09T00:00:00+00:00'],
    ];
    for (const [given, expected] of cases) {
      const set = await json('keyvault', 'secret', 'set-attributes', '--vault-name', 'args-vault', '-n', 'dated', '--expires', given!, '--not-before', given!);
      assert.deepEqual([set.attributes.expires, set.attributes.notBefore], [expected, expected], given);
    }
    const created = await json('keyvault', 'secret', 'set', '--vault-name', 'args-vault', '-n', 'dated', '--value', 'y', '--not-before', '2030-01-01T00Z');
    assert.equal(created.attributes.notBefore, '2030-01-01T00:00:00+00:00');
  });

  it('refuses every other date as argparse does (exit 2), before anything is sent or validated', async () => {
    await cli('keyvault', 'secret', 'set', '--vault-name', 'args-vault', '-n', 'kept', '--value', 'v', '--expires', '2030-01-01T00:00:00Z', '-o', 'none');
    const attrs = ['keyvault', 'secret', 'set-attributes', '--vault-name', 'args-vault', '-n', 'kept'];
    // No zone (JavaScript would read it as local or UTC), an offset, fractions, 31 February, second 60, a space after: all refused by az.
    for (const bad of ['2031-06-01T12:00:00', '2031-06-01T12:00:00+00:00', '2031-06-01T12:00:00.5Z', '2031-02-31', '2031-06-01T12:00:60Z', '2031-06-01 ', 'June 1, 2031', '31/12/2027', '']) {
      await refuses([...attrs, '--expires', bad], `argument --expires: invalid datetime_type value: '${bad}'`, 2);
    }
    await refuses([...attrs, '--not-before', "it's"], `argument --not-before: invalid datetime_type value: "it's"`, 2);
    // argparse reads the value before az's validators look for --value or the secret.
    await refuses(['keyvault', 'secret', 'set', '--vault-name', 'args-vault', '-n', 'kept', '--expires', '2031'], "argument --expires: invalid datetime_type value: '2031'", 2);
    await refuses(['keyvault', 'secret', 'set-attributes', '--vault-name', 'args-vault', '--expires', 'soon'], "argument --expires: invalid datetime_type value: 'soon'", 2);
    const kept = await json('keyvault', 'secret', 'show', '--vault-name', 'args-vault', '-n', 'kept');
    assert.deepEqual([kept.value, kept.attributes.expires], ['v', '2030-01-01T00:00:00+00:00']);
    assert.equal((await json<unknown[]>('keyvault', 'secret', 'list-versions', '--vault-name', 'args-vault', '-n', 'kept')).length, 1);
  });

  it("--id names a secret's collection: secrets for most commands, deletedsecrets (the recovery id) for show-deleted, recover and purge", async () => {
    const set = await json<{ id: string }>('keyvault', 'secret', 'set', '--vault-name', 'args-vault', '-n', 'moving', '--value', 'v');
    const secretId = set.id;
    const base = secretId.replace(/\/secrets\/.*$/, '');
    const recoveryId = `${base}/deletedsecrets/moving`;
    // (delete's warning comes first in az too: resolve_warnings runs before the validators.)
    for (const cmd of ['show', 'set-attributes', 'delete', 'list-versions', 'backup']) {
      await refuses(['keyvault', 'secret', cmd, '--id', recoveryId, '--only-show-errors', ...(cmd === 'backup' ? ['--file', 'never'] : [])], 'invalid id: The collection "deletedsecrets" does not match the expected "secrets"', 2);
    }
    assert.equal((await json('keyvault', 'secret', 'show', '--id', secretId)).value, 'v', 'still there');
    const deleted = await json<{ recoveryId: string }>('keyvault', 'secret', 'delete', '--id', `${base}/secrets/moving`, '--only-show-errors');
    assert.equal(deleted.recoveryId, recoveryId);
    for (const cmd of ['show-deleted', 'recover', 'purge']) {
      await refuses(['keyvault', 'secret', cmd, '--id', `${base}/secrets/moving`], 'invalid id: The collection "secrets" does not match the expected "deletedsecrets"', 2);
    }
    assert.equal((await json('keyvault', 'secret', 'show-deleted', '--id', recoveryId)).name, 'moving');
    assert.equal((await json('keyvault', 'secret', 'recover', '--id', recoveryId)).name, 'moving');
    assert.equal((await json('keyvault', 'secret', 'show', '--id', `${base}/secrets//moving/`)).value, 'v', 'empty segments are dropped, as urlparse and the SDK do');
  });

  it("refuses malformed ids in KeyVaultIdentifier's words (exit 2)", async () => {
    const { id } = await json<{ id: string }>('keyvault', 'secret', 'set', '--vault-name', 'args-vault', '-n', 'named', '--value', 'v');
    const base = id.replace(/\/secrets\/.*$/, '');
    const format = (uri: string) => `invalid id: The specified uri "${uri}", does to match the specified format "{vault}/{collection}/{name}/{version?}"`;
    await refuses(['keyvault', 'secret', 'show', '--id', `${base}/secrets`], format(`${base}/secrets`), 2);
    await refuses(['keyvault', 'secret', 'show', '--id', base], format(base), 2);
    await refuses(['keyvault', 'secret', 'show', '--id', `${id}/extra`], format(`${id}/extra`), 2);
    await refuses(['keyvault', 'secret', 'show', '--id', 'args-vault/secrets/named'], "'args-vault/secrets/named' is not not a valid URI", 2);
    await refuses(['keyvault', 'secret', 'show', '--id', `${base}/keys/named`], 'invalid id: The collection "keys" does not match the expected "secrets"', 2);
  });
});
