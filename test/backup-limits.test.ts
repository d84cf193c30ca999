import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openBackup, sealBackup, unpackBackup } from '../src/secrets/secret-backup.js';
import { newServicePrincipal } from './support/access-kit.js';
import { auditRecords, vaultToken } from './support/audit-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { rawRequest } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Backup and restore move the largest bodies the server builds or reads:
// they are bounded by what they hold, not by a count of versions, a restore
// is authorized before its body is read, and each is audited by the secret.

describe('backup and restore limits', () => {
  let server: TestServer;
  const vault = 'limits-vault';
  let admin: string;

  before(async () => {
    server = await startTestServer();
    await createVault(server, vault);
    admin = await vaultToken(server, server.bootstrap.clientId, server.bootstrap.clientSecret);
  });
  after(() => server?.stop());

  const post = (path: string, body: string, token: string) =>
    rawRequest(`${server.vaultUrl(vault)}${path}?api-version=7.6`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
  const errorOf = (text: string) => (JSON.parse(text) as { error: { code: string; message: string } }).error;

  it('a restore by a caller without the right is refused before its body is parsed', async () => {
    const outsider = await newServicePrincipal(server, 'restore-outsider');
    const token = await vaultToken(server, outsider.appId, outsider.secret);
    // Deeper than any body may nest: parsed first, it would be a 400.
    const res = await post('/secrets/restore', `${'['.repeat(40)}${']'.repeat(40)}`, token);
    assert.equal(res.status, 403, res.text);
    assert.equal(errorOf(res.text).code, 'Forbidden');
  });

  it('a body of more values than any request holds is refused before it is parsed', async () => {
    const res = await post('/secrets/restore', `{"value":"AAAA","x":[${'{},'.repeat(120_000)}{}]}`, admin);
    assert.equal(res.status, 400);
    assert.match(errorOf(res.text).message, /more than 100000 JSON values/);
  });

  it('a secret whose versions would make a blob too large to restore is refused by backup, and stays', async () => {
    const client = secretClient(server, vault);
    // JSON escapes each control character as six: 25 KiB of them is 150 KiB in a backup.
    const value = '\u0001'.repeat(25 * 1024);
    for (let i = 0; i < 60; i++) await client.setSecret('bulky', value);
    const res = await post('/secrets/bulky/backup', '', admin);
    assert.equal(res.status, 400, res.text.slice(0, 200));
    assert.match(errorOf(res.text).message, /too large to back up: its versions hold more than 8 MiB/);
    assert.equal((await client.getSecret('bulky')).value, value);
  });

  it('a restore is audited under the secret it restored', async () => {
    const client = secretClient(server, vault);
    await client.setSecret('moved', 'v1');
    const blob = await client.backupSecret('moved');
    await (await client.beginDeleteSecret('moved')).pollUntilDone();
    await client.purgeDeletedSecret('moved');
    await client.restoreSecretBackup(blob!);
    const records = await auditRecords(server, `vault=${vault}&operation=SecretRestore&resultType=Success`);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.properties.id, `${server.vaultUrl(vault)}/secrets/moved`);
    assert.equal((await auditRecords(server, `vault=${vault}&secret=moved&operation=SecretRestore&resultType=Success`)).length, 1);
  });

  it('a blob without versions is a bad backup, not a server error', () => {
    const key = randomBytes(32);
    const blob = sealBackup(key, 0, 'deployment', { format: 1, name: 'empty', versions: [] });
    assert.throws(() => openBackup(key, 'deployment', unpackBackup(blob).sealed), (err: Error & { code?: string }) => err.message === 'Backup blob contains invalid or corrupt version.');
  });
});
