import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Secret values exist only as ciphertext bound to vault, name and version.

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('encryption at rest', () => {
  let server: TestServer;
  const marker = 'PLAINTEXT-MARKER-7f3a9c';

  before(async () => {
    server = await startTestServer();
    await createVault(server, 'rest-vault');
  });
  after(() => server?.stop());

  it('no file in the data dir contains a stored secret value', async () => {
    const client = secretClient(server, 'rest-vault');
    await client.setSecret('marked', `{"password": "${marker}"}`);
    await client.setSecret('marked', `${marker}-v2`);
    await client.backupSecret('marked');
    await client.setSecret('marked-base64', Buffer.from(marker).toString('base64'));
    const needles = [marker, Buffer.from(marker).toString('base64'), Buffer.from(marker, 'utf16le').toString('latin1')];
    for (const file of filesUnder(server.dataDir)) {
      const content = readFileSync(file).toString('latin1');
      for (const needle of needles) assert.ok(!content.includes(needle), `${file} contains the secret value`);
    }
    // The SDK still reads it back, so the value is really stored.
    assert.equal((await client.getSecret('marked')).value, `${marker}-v2`);
  });

  it('private key files and bootstrap.json are mode 0600', async () => {
    for (const f of ['master.key', 'bootstrap.json', 'coffer.db']) {
      assert.equal(statSync(join(server.dataDir, f)).mode & 0o777, 0o600, f);
    }
  });

  it('two swapped ciphertexts fail to read with a clear error, never the other plaintext', async () => {
    const client = secretClient(server, 'rest-vault');
    await client.setSecret('alpha', 'alpha-value');
    await client.setSecret('beta', 'beta-value');
    const db = new Database(join(server.dataDir, 'coffer.db'));
    try {
      const table = db.prepare("SELECT name FROM sqlite_master WHERE type='table' AND sql LIKE '%ciphertext%'").get() as { name: string };
      const rows = db.prepare(`SELECT rowid AS row_id, name, ciphertext FROM ${table.name} WHERE name IN ('alpha','beta')`).all() as Array<{ row_id: number; name: string; ciphertext: Buffer }>;
      assert.equal(rows.length, 2);
      const [a, b] = rows as [(typeof rows)[0], (typeof rows)[0]];
      const swap = db.prepare(`UPDATE ${table.name} SET ciphertext = ? WHERE rowid = ?`);
      db.transaction(() => {
        // Each must change exactly one row, or the test would pass on untouched data.
        assert.equal(swap.run(b.ciphertext, a.row_id).changes, 1);
        assert.equal(swap.run(a.ciphertext, b.row_id).changes, 1);
      })();
    } finally {
      db.close();
    }
    for (const name of ['alpha', 'beta']) {
      await assert.rejects(client.getSecret(name), (err: { statusCode?: number; message: string }) => {
        assert.equal(err.statusCode, 500);
        assert.match(err.message, /integrity check/);
        assert.ok(!err.message.includes('-value'));
        return true;
      });
    }
  });

  it('a version row moved under another secret fails to read, never serving its value under the other name', async () => {
    const client = secretClient(server, 'rest-vault');
    const moved = await client.setSecret('moved-from', 'moved-value');
    await client.setSecret('pointed', 'pointed-value');
    await client.setSecret('copied-into', 'copied-into-value');
    const copyVersion = 'c0ffee00c0ffee00c0ffee00c0ffee00';
    await server.restart(async () => {
      const db = new Database(join(server.dataDir, 'coffer.db'));
      try {
        db.transaction(() => {
          const source = db.prepare("SELECT rowid AS row_id, vault_id FROM secret_versions WHERE name_key = 'moved-from'").get() as { row_id: number; vault_id: string };
          // The latest pointer of one secret aimed at another secret's row (one integer).
          assert.equal(db.prepare("UPDATE secrets SET latest_id = ? WHERE vault_id = ? AND name_key = 'pointed'").run(source.row_id, source.vault_id).changes, 1);
          // The row copied under another secret with its own name column left as it was, made that secret's latest.
          const copy = db
            .prepare("INSERT INTO secret_versions (vault_id, name_key, version, seq, name, ciphertext, content_type, tags, enabled, nbf, exp, created, updated) SELECT vault_id, 'copied-into', ?, 2, name, ciphertext, content_type, tags, enabled, nbf, exp, created, updated FROM secret_versions WHERE rowid = ?")
            .run(copyVersion, source.row_id);
          assert.equal(copy.changes, 1);
          assert.equal(db.prepare("UPDATE secrets SET latest_seq = 2, latest_id = ? WHERE vault_id = ? AND name_key = 'copied-into'").run(copy.lastInsertRowid, source.vault_id).changes, 1);
        })();
      } finally {
        db.close();
      }
    });
    for (const [name, version] of [['pointed', undefined], ['copied-into', undefined], ['copied-into', copyVersion]] as const) {
      await assert.rejects(client.getSecret(name, { version }), (err: { statusCode?: number; message: string }) => {
        assert.equal(err.statusCode, 500, `${name}/${version}`);
        assert.match(err.message, /integrity check/);
        assert.ok(!err.message.includes('moved-'), 'the other secret is not named');
        return true;
      });
    }
    assert.equal((await client.getSecret('moved-from')).value, 'moved-value');
    assert.equal((await client.getSecret('moved-from', { version: moved.properties.version! })).value, 'moved-value');
  });
});
