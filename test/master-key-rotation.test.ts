import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { rowHash, sealedPoint } from '../src/audit/audit-chain.js';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupAad, IntegrityError, open, secretAad } from '../src/crypto/envelope.js';
import { unwrapVaultKey } from '../src/crypto/vault-key-wrap.js';
import { unwrapFrom } from '../src/crypto/wrapped-setting.js';
import { unpackBackup } from '../src/secrets/secret-backup.js';
import { loadKeyring } from '../src/crypto/keyring.js';
import { rotateKeyringFile } from '../src/crypto/master-key-rotation.js';
import { createVaultKeys } from '../src/crypto/vault-keys.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { VaultStore } from '../src/storage/store-types.js';
import { createVaultService } from '../src/vaults/vault-service.js';
import { after, before, describe, it } from 'node:test';
import { createVault, secretClient } from './support/clients.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

const ADMIN = { name: 'admin-app', type: 'Application' } as const;

// `coffer admin rotate-master-key` rewraps every vault key under a new master
// key while the server runs, and offline; nothing becomes unreadable.

/** The settings table's values, read from the server's SQLite file. */
function readSettings(s: TestServer): Record<string, string> {
  const db = new Database(join(s.dataDir, 'coffer.db'), { readonly: true });
  try {
    return Object.fromEntries((db.prepare('SELECT key, value FROM settings').all() as Array<{ key: string; value: string }>).map((r) => [r.key, r.value]));
  } finally {
    db.close();
  }
}

const keyFile = (s: TestServer) => JSON.parse(readFileSync(join(s.dataDir, 'master.key'), 'utf8')) as { primary: string; keys: Record<string, string> };

describe('master key rotation', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'rotate-a');
    await createVault(server, 'rotate-b');
    await secretClient(server, 'rotate-a').setSecret('s', 'alpha');
    await secretClient(server, 'rotate-b').setSecret('s', 'bravo');
  });
  after(() => server?.stop());

  it('rotates online: new primary, old key gone, every secret still readable', async () => {
    const before = keyFile(server);
    const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { renewedDataKeys: number; vaultKeys: number; primaryId: string; retired: string[] };
    assert.equal(result.renewedDataKeys, 2);
    assert.equal(result.vaultKeys, 2, "the two vaults' previous keys, rewrapped");
    const after = keyFile(server);
    assert.notEqual(after.primary, before.primary);
    assert.deepEqual(Object.keys(after.keys), [after.primary]);
    assert.deepEqual(result.retired, [before.primary]);
    assert.equal((await secretClient(server, 'rotate-a').getSecret('s')).value, 'alpha');
    // A vault created after the rotation uses the new key, and survives a restart.
    await createVault(server, 'rotate-c');
    await secretClient(server, 'rotate-c').setSecret('s', 'charlie');
    await server.restart();
    for (const [v, value] of [['rotate-a', 'alpha'], ['rotate-b', 'bravo'], ['rotate-c', 'charlie']]) {
      assert.equal((await secretClient(server, v!).getSecret('s')).value, value);
    }
  });

  it('a vault looked up before an online rotation is read again after it; two rotations at once leave every key usable', async () => {
    await server.restart(); // no data key in memory
    // The data plane caches the vault row on its first lookup, before authentication: the row names the old master key.
    assert.equal((await fetch(`${server.vaultUrl('rotate-b')}/secrets/s?api-version=7.6`)).status, 401);
    const rotate = () => coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    const [one, two] = await Promise.all([rotate(), rotate()]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    assert.equal((await secretClient(server, 'rotate-b').getSecret('s')).value, 'bravo');
    await server.restart();
    for (const [v, value] of [['rotate-a', 'alpha'], ['rotate-b', 'bravo'], ['rotate-c', 'charlie']]) {
      assert.equal((await secretClient(server, v!).getSecret('s')).value, value);
    }
    assert.deepEqual(Object.keys(keyFile(server).keys), [keyFile(server).primary]);
    const settings = readSettings(server);
    assert.equal((JSON.parse(settings.auditKey!) as { renewals: unknown[] }).renewals.length, 3, 'one audit key generation per rotation (with the first test\'s)');
    assert.equal((JSON.parse(readFileSync(join(server.dataDir, 'audit-key.json'), 'utf8')) as { generation: number }).generation, 3, 'recorded outside the database');
  });

  it('rotates offline when the server is stopped; the audit trail, keyed before, still verifies', async () => {
    await server.kill();
    const before = keyFile(server);
    const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).auditKey, true);
    assert.equal(JSON.parse(r.stdout).credentialPepper, true);
    const recorded = JSON.parse(readFileSync(join(server.dataDir, 'credential-pepper.json'), 'utf8')) as { generation: number; converted: boolean };
    const pepperRow = JSON.parse(readSettings(server).credentialPepper!) as { generation: number };
    assert.deepEqual(recorded, { ...recorded, generation: pepperRow.generation, converted: true }, 'the offline rotation records its renewal in the data dir, as a server would');
    assert.notEqual(keyFile(server).primary, before.primary);
    assert.deepEqual(Object.keys(keyFile(server).keys), [keyFile(server).primary], 'no old key is kept for the audit key');
    await server.restart();
    assert.equal((await secretClient(server, 'rotate-b').getSecret('s')).value, 'bravo');
    const home = cliHome();
    assert.equal((await coffer(home, ['login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none'])).code, 0);
    const verified = await coffer(home, ['audit', 'verify']);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.json<{ ok: boolean; checked: number }>().ok, true);
  });
});

describe('master key rotation after the master key leaked', () => {
  it('gives each vault a new data key: what is written afterwards does not open with the old master key, and everything reads', async () => {
    const server = await startTestServer();
    const dir = mkdtempSync(join(tmpdir(), 'coffer-leak-'));
    try {
      await createVault(server, 'leaked');
      const client = secretClient(server, 'leaked');
      const before = await client.setSecret('db', 'written-before');
      // What the attacker holds: the master key and a database copy, both from before the rotation.
      copyFileSync(join(server.dataDir, 'master.key'), join(dir, 'master.key'));
      const leakedKeyring = loadKeyring({ file: join(dir, 'master.key') }).keyring;
      const readVault = () => {
        const db = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
        try {
          return db.prepare('SELECT id, dek_wrapped, master_key_id, dek_generation FROM vaults WHERE name = ?').get('leaked') as { id: string; dek_wrapped: Buffer; master_key_id: string; dek_generation: number };
        } finally {
          db.close();
        }
      };
      const copied = readVault();
      const leakedDataKey = unwrapVaultKey(leakedKeyring, { id: copied.id, generation: 0, masterKeyId: copied.master_key_id, dekWrapped: copied.dek_wrapped }).raw;
      const settingsCopy = readSettings(server);
      const copiedBackupKey = JSON.parse(settingsCopy.backupKey!) as { keyId: string; sealed: string; born: string };
      const leakedBackupKey = unwrapFrom(leakedKeyring, copiedBackupKey, `coffer/backup-key/v1|born:${copiedBackupKey.born}`);
      const backupBefore = (await client.backupSecret('db'))!;

      const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).renewedDataKeys, 1);
      const after = await client.setSecret('db', 'written-after');
      await client.setSecret('other', 'also-after');

      const now = readVault();
      assert.equal(now.dek_generation, 1);
      assert.throws(() => unwrapVaultKey(leakedKeyring, { id: now.id, generation: 1, masterKeyId: now.master_key_id, dekWrapped: now.dek_wrapped }), 'the old master key does not unwrap the new data key');
      const db = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
      const ciphertext = (version: string) =>
        (db.prepare('SELECT ciphertext FROM secret_versions WHERE vault_id = ? AND version = ?').get(now.id, version) as { ciphertext: Buffer }).ciphertext;
      try {
        assert.equal(open(leakedDataKey, ciphertext(before.properties.version!), secretAad(now.id, 'db', before.properties.version!)).toString(), 'written-before', "the copy's own values were exposed already");
        assert.throws(() => open(leakedDataKey, ciphertext(after.properties.version!), secretAad(now.id, 'db', after.properties.version!)), IntegrityError, 'a value written after the rotation is not');
      } finally {
        db.close();
      }

      // Backups: the copy's backup key opens those made before the rotation, not those made after.
      const backupAfter = (await client.backupSecret('other'))!;
      const openWithLeaked = (blob: Uint8Array) => {
        const { sealed } = unpackBackup(Buffer.from(blob).toString('base64url'));
        return open(leakedBackupKey, sealed, backupAad(settingsCopy.deploymentId!)).toString();
      };
      assert.match(openWithLeaked(backupBefore), /written-before/, "the copy's own backup key was exposed already");
      assert.throws(() => openWithLeaked(backupAfter), IntegrityError, 'a backup made after the rotation is sealed with a renewed key');

      for (const restart of [false, true]) {
        if (restart) await server.restart(); // the earlier generation is then read from the store
        const reader = secretClient(server, 'leaked');
        assert.equal((await reader.getSecret('db', { version: before.properties.version! })).value, 'written-before');
        assert.equal((await reader.getSecret('db')).value, 'written-after');
        assert.equal((await reader.getSecret('other')).value, 'also-after');
      }
      // Both backups restore, each with its own generation's key.
      for (const [name, blob] of [['db', backupBefore], ['other', backupAfter]] as const) {
        await (await client.beginDeleteSecret(name)).pollUntilDone();
        await client.purgeDeletedSecret(name);
        await client.restoreSecretBackup(blob);
      }
      assert.equal((await client.getSecret('db')).value, 'written-before', 'the backup from before the rotation holds only the first version');
      assert.equal((await client.getSecret('other')).value, 'also-after');
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('master key rotation and the audit key', () => {
  it('renews the audit key: a record made after the rotation cannot be forged with the old master key and a database copy', async () => {
    const server = await startTestServer();
    const dir = mkdtempSync(join(tmpdir(), 'coffer-audit-leak-'));
    const verify = async () => {
      const home = cliHome();
      assert.equal((await coffer(home, ['login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none'])).code, 0);
      return coffer(home, ['audit', 'verify']);
    };
    try {
      await createVault(server, 'audited');
      await secretClient(server, 'audited').setSecret('db', 'before');
      // What the attacker holds: the master key and the audit key's row, both from before the rotation.
      copyFileSync(join(server.dataDir, 'master.key'), join(dir, 'master.key'));
      const leakedKeyring = loadKeyring({ file: join(dir, 'master.key') }).keyring;
      const stored = JSON.parse(readSettings(server).auditKey!) as { since: number; keyId: string; sealed: string };
      const leakedAuditKey = createSecretKey(unwrapFrom(leakedKeyring, stored, `coffer/audit-key/v1/since=${stored.since}`));

      const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).renewedAuditKey, true);
      await secretClient(server, 'audited').setSecret('db', 'after');
      const across = await verify();
      assert.equal(across.code, 0, across.stderr);
      assert.equal(across.json<{ ok: boolean }>().ok, true, 'the trail verifies across the renewal');
      await server.restart();
      const restarted = await verify();
      assert.equal(restarted.json<{ ok: boolean }>().ok, true, 'and after a restart (the earlier generation read from the store)');
      await server.kill();

      // The forgery: the last record (made after the rotation) blamed on nobody, MACed again under the
      // old key, and the head checkpoint sealed again under it.
      const db = new Database(join(server.dataDir, 'coffer.db'));
      try {
        const last = db.prepare('SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1').get() as Record<string, unknown>;
        const row = { seq: last.seq as number, time: last.time as string, vault: last.vault as string, secret: last.secret as string, principal: null,
          operation: last.operation as string, resultType: last.result_type as string, httpStatus: last.http_status as number, record: last.record as string, prevHash: last.prev_hash as string };
        const hash = rowHash(row, leakedAuditKey);
        db.prepare('UPDATE audit_events SET principal = NULL, hash = ? WHERE seq = ?').run(hash, row.seq);
        db.prepare("UPDATE settings SET value = ? WHERE key = 'auditHead'").run(sealedPoint(leakedAuditKey, 'head', { seq: row.seq, hash }));
      } finally {
        db.close();
      }
      await server.restart();
      const forged = await verify();
      assert.notEqual(forged.code, 0, 'the old key no longer seals the head or MACs new records');
      assert.match(forged.stderr, /AuditChainBroken.*head checkpoint is missing or was changed/);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('master key rotation through COFFER_MASTER_KEY', () => {
  it('a start with a new key and the old one as previous renews the data keys and rewraps; the old key can then go', async () => {
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('base64');
    const env: Record<string, string> = { COFFER_MASTER_KEY: oldKey };
    const server = await startTestServer({ env });
    try {
      await createVault(server, 'env-rotated');
      const before = await secretClient(server, 'env-rotated').setSecret('s', 'before');
      const row = () => {
        const db = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
        try {
          return db.prepare('SELECT dek_generation, master_key_id FROM vaults WHERE name = ?').get('env-rotated') as { dek_generation: number; master_key_id: string };
        } finally {
          db.close();
        }
      };
      assert.equal(row().dek_generation, 0);

      Object.assign(env, { COFFER_MASTER_KEY: newKey, COFFER_PREVIOUS_MASTER_KEYS: oldKey });
      await server.restart();
      assert.equal(row().dek_generation, 1, 'the start renewed the data key');
      assert.equal(row().master_key_id, loadKeyring({ file: '/nonexistent', masterKey: newKey }).keyring.primaryId);
      const after = await secretClient(server, 'env-rotated').setSecret('s', 'after');
      await server.restart();
      assert.equal(row().dek_generation, 1, 'a start with nothing to rewrap renews nothing');
      const unusedWarnings = () => server.logs().split('previous master keys are held that no stored key uses any more').length - 1;
      assert.equal(unusedWarnings(), 2, 'each start holding the old key, unused once rewrapped, says the rotation is not finished');

      delete env.COFFER_PREVIOUS_MASTER_KEYS;
      await server.restart();
      assert.equal(unusedWarnings(), 2, 'not once the old key is gone');
      const client = secretClient(server, 'env-rotated');
      assert.equal((await client.getSecret('s', { version: before.properties.version! })).value, 'before');
      assert.equal((await client.getSecret('s', { version: after.properties.version! })).value, 'after');
      // The audit key was renewed by the first start with the new key (once), and the trail verifies across it.
      assert.equal((JSON.parse(readSettings(server).auditKey!) as { renewals: unknown[] }).renewals.length, 1);
      const home = cliHome();
      assert.equal((await coffer(home, ['login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none'])).code, 0);
      const verified = await coffer(home, ['audit', 'verify']);
      assert.equal(verified.code, 0, verified.stderr);
      assert.equal(verified.json<{ ok: boolean }>().ok, true);
    } finally {
      await server.stop();
    }
  });
});

describe('master key rotation with a signing key written into the database without the master key', () => {
  it('rotates anyway, leaves that key as it was and reports it, and drops the old master key', async () => {
    const server = await startTestServer();
    try {
      await createVault(server, 'rotated-anyway');
      await secretClient(server, 'rotated-anyway').setSecret('s', 'kept');
      const before = keyFile(server);
      const db = new Database(join(server.dataDir, 'coffer.db'));
      // A database writer's key: it names the current master key but its seal is not one.
      db.prepare('INSERT INTO signing_keys (kid, public_jwk, private_sealed, master_key_id, created_at, retired_at) VALUES (?, ?, ?, ?, ?, NULL)').run(
        'planted-kid', '{}', randomBytes(300), before.primary, 1,
      );
      db.close();
      const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).untrustedSigningKeys, ['planted-kid']);
      const after = keyFile(server);
      assert.deepEqual(Object.keys(after.keys), [after.primary], 'the old master key is dropped all the same');
      await server.restart();
      assert.equal((await secretClient(server, 'rotated-anyway').getSecret('s')).value, 'kept', 'the server starts and serves');
    } finally {
      await server.stop();
    }
  });
});

describe('master key rotation with a vault key that does not open', () => {
  it('is refused online with the vault named and nothing changed, however often it is asked for; once the vault is purged it rotates', async () => {
    const server = await startTestServer();
    try {
      await createVault(server, 'damaged');
      await createVault(server, 'healthy');
      await secretClient(server, 'healthy').setSecret('s', 'kept');
      const db = new Database(join(server.dataDir, 'coffer.db'));
      const id = (db.prepare('SELECT id FROM vaults WHERE name = ?').get('damaged') as { id: string }).id;
      db.prepare('UPDATE vaults SET dek_wrapped = ? WHERE id = ?').run(randomBytes(60), id);
      db.close();
      const before = keyFile(server);
      for (let attempt = 0; attempt < 2; attempt++) {
        const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, new RegExp(`^ERROR: \\(Conflict\\) the data key of vault ${id} \\(generation 0, master key ${before.primary}\\) does not open under the master keyring: .*Nothing was changed\\. Delete and purge that vault`));
        assert.deepEqual(keyFile(server), before, 'no master key was added');
      }
      const home = cliHome();
      for (const args of [['login', '--bootstrap', join(server.dataDir, 'bootstrap.json')], ['keyvault', 'delete', '-n', 'damaged'], ['keyvault', 'purge', '-n', 'damaged', '--location', 'local']]) {
        const r = await coffer(home, [...args, '-o', 'none']);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      }
      const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await secretClient(server, 'healthy').getSecret('s')).value, 'kept');
    } finally {
      await server.stop();
    }
  });
});

describe('master key rotation racing a vault create', () => {
  it('a rotation waits for a vault whose key is wrapped but not yet stored, so that key is not retired under it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-rotate-race-'));
    const file = join(dir, 'master.key');
    const store = openSqliteStore({ file: join(dir, 'coffer.db') });
    try {
      const vaultKeys = createVaultKeys(loadKeyring({ file }).keyring, store.vaults);
      // The insert waits (as a PostgreSQL insert can wait on the resource group's row lock) until released.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let inserting!: () => void;
      const insertStarted = new Promise<void>((r) => (inserting = r));
      const vaults: VaultStore = {
        ...store.vaults,
        async insert(row) {
          inserting();
          await held;
          return store.vaults.insert(row);
        },
      };
      await store.resourceGroups.create({ subscriptionId: 'sub', name: 'rg', location: 'local', tags: {} });
      const service = createVaultService({ vaults, resourceGroups: store.resourceGroups, vaultKeys, location: 'local' });
      const creating = service.put({ subscriptionId: 'sub', resourceGroup: 'rg', name: 'racing', body: { location: 'local', properties: { tenantId: 't', sku: { family: 'A', name: 'standard' } } }, by: ADMIN } as Parameters<typeof service.put>[0]);
      await insertStarted;
      let rotated = false;
      const rotating = vaultKeys.rotating(() => rotateKeyringFile(file, store, { keyring: (k) => vaultKeys.useKeyring(k) })).then((r) => ((rotated = true), r));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(rotated, false, 'the rotation waits for the create');
      release();
      await creating;
      const result = await rotating;

      const row = (await store.vaults.getByName('racing'))!;
      const final = loadKeyring({ file }).keyring;
      assert.ok(final.has(row.masterKeyId), `the vault's key is wrapped under ${row.masterKeyId}, which the rotation kept`);
      assert.equal(row.masterKeyId, result.primaryId);
      assert.ok(createVaultKeys(final, store.vaults).sealingKey(row), 'and a restarted server can unwrap it');
    } finally {
      // Awaited: the writer thread may still be removing the WAL when the directory goes (ENOTEMPTY in a CI run).
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
