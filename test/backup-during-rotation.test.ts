import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rotateKeyringFile } from '../src/crypto/master-key-rotation.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { createVault, secretClient } from './support/clients.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A backup taken while a master key rotation ran holds keys under the old
// master key and the new one (found by a fuzzing helper): the backup says
// so, and the restore, refused with only one of them, names both and how to
// give them, rather than pointing at the other key file each time.

describe('a backup of a database in the middle of a master key rotation', () => {
  let server: TestServer;
  const dataDir = mkdtempSync(join(tmpdir(), 'coffer-mid-rotation-'));
  const backupDir = mkdtempSync(join(tmpdir(), 'coffer-mid-rotation-backups-'));
  const keyFile = join(dataDir, 'master.key');
  const keys = () => JSON.parse(readFileSync(keyFile, 'utf8')) as { primary: string; keys: Record<string, string> };

  before(async () => {
    server = await startTestServer({ dataDir });
    for (const name of ['mid-a', 'mid-b']) {
      await createVault(server, name);
      await secretClient(server, name).setSecret('s', `value of ${name}`);
    }
    await server.stop();
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(backupDir, { recursive: true, force: true });
  });

  it('names both master keys; the restore with one names both and how to give them; with both it restores', async () => {
    const old = keys().primary;
    // A rotation stopped after the first vault's new data key (as a rotation killed there leaves the database).
    const store = openSqliteStore({ file: join(dataDir, 'coffer.db') });
    try {
      await assert.rejects(
        rotateKeyringFile(keyFile, store, {
          renewed: () => {
            throw new Error('stopped midway');
          },
        }),
        /stopped midway/,
      );
    } finally {
      await store.close();
    }
    const { primary: fresh, keys: both } = keys();
    assert.notEqual(fresh, old);

    const file = join(backupDir, 'mid.db');
    const backup = await coffer(cliHome(), ['admin', 'backup', '--data-dir', dataDir, '--file', file, '-o', 'json']);
    assert.equal(backup.code, 0, backup.stderr);
    const summary = backup.json<{ masterKeys: string[]; note?: string }>();
    assert.deepEqual([...summary.masterKeys].sort(), [old, fresh].sort());
    assert.match(summary.note!, /^the backup names 2 master keys \(a rotation was under way, or a key no longer opens\): restoring it needs all of them/);

    const onlyNew = await coffer(cliHome(), ['admin', 'restore', '--data-dir', dataDir, '--file', file], { COFFER_MASTER_KEY: both[fresh]! });
    assert.equal(onlyNew.code, 1);
    assert.match(onlyNew.stderr, new RegExp(`was made under master keys (${old} and ${fresh}|${fresh} and ${old}) \\(taken while a master key rotation ran, it holds keys under both\\); this data dir's keyring holds only ${fresh}\\.`));
    assert.match(onlyNew.stderr, /COFFER_MASTER_KEY set to one of them and COFFER_PREVIOUS_MASTER_KEYS to the others/);

    const env = { COFFER_MASTER_KEY: both[fresh]!, COFFER_PREVIOUS_MASTER_KEYS: both[old]! };
    const restored = await coffer(cliHome(), ['admin', 'restore', '--data-dir', dataDir, '--file', file], env);
    assert.equal(restored.code, 0, restored.stderr);
    server = await startTestServer({ dataDir, env });
    for (const name of ['mid-a', 'mid-b']) assert.equal((await secretClient(server, name).getSecret('s')).value, `value of ${name}`);
  });
});
