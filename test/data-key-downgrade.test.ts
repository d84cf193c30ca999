import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { IntegrityError, open, secretAad } from '../src/crypto/envelope.js';
import { loadKeyring } from '../src/crypto/keyring.js';
import { unwrapVaultKey } from '../src/crypto/vault-key-wrap.js';
import { cliHome, coffer } from './support/cli.js';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// After a master key rotation, whoever holds the old master key and a
// database copy knows the vaults' earlier data keys. Able to write the
// database too, they could make such a key current again and read what is
// sealed after that: coffer seals nothing with a key born under a master key
// it no longer holds, and a start renews it (crypto/vault-key-wrap.ts).

describe('a vault data key put back from before a rotation', () => {
  let server: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'coffer-downgrade-'));
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const query = <T>(sql: string, ...params: unknown[]): T => {
    const db = new Database(join(server.dataDir, 'coffer.db'));
    try {
      return db.prepare(sql).get(...params) as T;
    } finally {
      db.close();
    }
  };

  it('is renewed at the next start, and what is written then does not open with it', async () => {
    await createVault(server, 'downgrade');
    const client = secretClient(server, 'downgrade');
    await client.setSecret('db', 'written-before');
    // The attacker's copy: the master key and the vault's data key, from before the rotation.
    copyFileSync(join(server.dataDir, 'master.key'), join(dir, 'master.key'));
    const leakedKeyring = loadKeyring({ file: join(dir, 'master.key') }).keyring;
    const row = query<{ id: string; dek_wrapped: Buffer; master_key_id: string }>('SELECT id, dek_wrapped, master_key_id FROM vaults WHERE name = ?', 'downgrade');
    const leaked = unwrapVaultKey(leakedKeyring, { id: row.id, generation: 0, masterKeyId: row.master_key_id, dekWrapped: row.dek_wrapped }).raw;

    const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    await server.kill();
    // Generation 0 (rewrapped by the rotation, so it opens under the new master key) made current again.
    const db = new Database(join(server.dataDir, 'coffer.db'));
    const earlier = db.prepare('SELECT dek_wrapped, master_key_id FROM vault_earlier_keys WHERE vault_id = ? AND generation = 0').get(row.id) as { dek_wrapped: Buffer; master_key_id: string };
    db.prepare('UPDATE vaults SET dek_wrapped = ?, master_key_id = ?, dek_generation = 0 WHERE id = ?').run(earlier.dek_wrapped, earlier.master_key_id, row.id);
    db.prepare('DELETE FROM vault_earlier_keys WHERE vault_id = ?').run(row.id);
    db.close();

    await server.restart();
    const written = await secretClient(server, 'downgrade').setSecret('db', 'written-after');
    const version = written.properties.version!;
    const ciphertext = query<{ ciphertext: Buffer }>('SELECT ciphertext FROM secret_versions WHERE vault_id = ? AND version = ?', row.id, version).ciphertext;
    assert.throws(() => open(leaked, ciphertext, secretAad(row.id, 'db', version)), IntegrityError, 'sealed with a renewed key, not the one put back');
    assert.equal((await secretClient(server, 'downgrade').getSecret('db')).value, 'written-after');
    assert.match(server.logs(), /renewed vault data keys made under a master key no longer in use/);
    assert.equal(query<{ g: number }>('SELECT dek_generation AS g FROM vaults WHERE id = ?', row.id).g, 1);
  });
});
