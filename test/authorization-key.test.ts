import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { assignRole, newServicePrincipal, ROLE_IDS, statusOf } from './support/access-kit.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { addPrimaryToFile, loadKeyring } from '../src/crypto/keyring.js';
import {
  beginRenewal,
  checkAuthorizationKeyRecord,
  checkRenewedAuthorizationKey,
  recordAuthorizationKey,
  rewrapAuthorizationKey,
  sealOfStoredKey,
} from '../src/authorization/authorization-key.js';
import { openAuthorizationSeal, renewAuthorizationKey } from '../src/authorization/authorization-binding.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { cliHome, coffer } from './support/cli.js';

// The authorization key's life (authorization/authorization-key.ts): made and
// bound at the first start (sealing the rows stored before, only when that is
// safe), refused when removed or put back, renewed by a master key rotation.

describe('the authorization key', () => {
  it('seals the rows stored before it once, at the first start that makes it; later starts refuse it removed or put back unbound', async () => {
    // Rows changed below stop the start by themselves (the authorization digest: authorization-replay.test.ts): accepted
    // as found at every start, as an operator might, a row without its seal still grants nothing.
    const server = await startTestServer({ env: { COFFER_ACCEPT_AUTHORIZATION_ROWS: '1' } });
    const file = join(server.dataDir, 'coffer.db');
    const sql = sqlOn(file);
    try {
      await createVault(server, 'seal-upgrade', { enableRbacAuthorization: true });
      await secretClient(server, 'seal-upgrade').setSecret('s', 'v');
      const sp = await newServicePrincipal(server, 'upgraded');
      const scope = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/seal-upgrade`;
      assert.equal((await assignRole(server, scope, ROLE_IDS['Key Vault Secrets User'], sp.id)).status, 201);
      const asSp = () => secretClient(server, 'seal-upgrade', credential(server, sp.appId, sp.secret));
      assert.equal((await asSp().getSecret('s')).value, 'v');

      // The database as a build from before seals left it: no key, no seals, no record.
      await server.kill();
      sql("DELETE FROM settings WHERE key IN ('authorizationKey', 'adminObjectIdSeal', 'authorizationDigest')");
      for (const table of ['role_assignments', 'role_definitions', 'group_members', 'vaults']) sql(`UPDATE ${table} SET mac = NULL`);
      rmSync(join(server.dataDir, 'authorization-key.json'));
      rmSync(join(server.dataDir, 'authorization-digest.json'));
      await server.restart();
      assert.match(server.logs(), /"rows":\d+.*sealed the role assignments, custom roles, group memberships and vaults stored before/);
      assert.equal((await asSp().getSecret('s')).value, 'v', 'the assignment stored before is sealed and grants');
      const d = new Database(file, { readonly: true });
      const unsealed = d.prepare('SELECT (SELECT COUNT(*) FROM role_assignments WHERE mac IS NULL) + (SELECT COUNT(*) FROM vaults WHERE mac IS NULL) AS n').get() as { n: number };
      const stored = (d.prepare("SELECT value FROM settings WHERE key = 'authorizationKey'").get() as { value: string }).value;
      d.close();
      assert.equal(unsealed.n, 0);
      assert.equal(JSON.parse(stored).bound, true);
      assert.equal(JSON.parse(readFileSync(join(server.dataDir, 'authorization-key.json'), 'utf8')).bound, true);

      // A second start seals nothing more: a row without a seal now is refused, not sealed.
      await server.kill();
      sql('UPDATE role_assignments SET mac = NULL WHERE principal_id = ?', sp.id);
      const before = server.logs().length;
      await server.restart();
      assert.doesNotMatch(server.logs().slice(before), /sealed the role assignments/);
      assert.equal(await statusOf(asSp().getSecret('s')), 403);

      // The key removed from the database (to have a new one seal rows of the writer's): the start refuses.
      await server.kill();
      sql("DELETE FROM settings WHERE key = 'authorizationKey'");
      await assert.rejects(server.restart(), /authorization key is missing/);
      // Put back as it was while it was made, before the rows were sealed (a replay): refused as well.
      const keyring = loadKeyring({ file: join(server.dataDir, 'master.key') }).keyring;
      const { sealed: _s, keyId: _k, ...rest } = JSON.parse(stored) as Record<string, unknown>;
      assert.deepEqual(rest, { bound: true });
      const bytes = keyring.unwrap(JSON.parse(stored).keyId, Buffer.from(JSON.parse(stored).sealed, 'base64'), 'coffer/authorization-key/v1|bound');
      const unbound = keyring.wrap(bytes, 'coffer/authorization-key/v1|binding');
      sql("INSERT INTO settings (key, value) VALUES ('authorizationKey', ?)", JSON.stringify({ keyId: unbound.keyId, sealed: unbound.sealed.toString('base64') }));
      await assert.rejects(server.restart(), /marked as not yet bound, though it was/);
      // The bound row back: the server starts, and the row unsealed above still grants nothing.
      sql("UPDATE settings SET value = ? WHERE key = 'authorizationKey'", stored);
      await server.restart();
      assert.equal(await statusOf(asSp().getSecret('s')), 403);
    } finally {
      await server.stop();
    }
  });

  it('is not made to seal unsealed rows by a data dir that never ran against the database, unless the operator says so', async () => {
    const server = await startTestServer();
    let second: TestServer | undefined;
    try {
      await createVault(server, 'seal-fresh-dir', { enableRbacAuthorization: true });
      await secretClient(server, 'seal-fresh-dir').setSecret('s', 'v');
      const intruder = await newServicePrincipal(server, 'fresh-dir-intruder');
      await server.kill();
      // The key removed, and an assignment of the writer's own added without a seal.
      const d = new Database(join(server.dataDir, 'coffer.db'));
      d.prepare("DELETE FROM settings WHERE key IN ('authorizationKey', 'adminObjectIdSeal')").run();
      for (const table of ['role_assignments', 'role_definitions', 'group_members', 'vaults']) d.prepare(`UPDATE ${table} SET mac = NULL`).run();
      const sample = d.prepare('SELECT scope FROM role_assignments LIMIT 1').get() as { scope: string };
      d.prepare(
        `INSERT INTO role_assignments (id, scope, role_definition_id, principal_id, principal_type, end_time, created_at, updated_at, created_by, mac)
         VALUES (?, ?, ?, ?, 'ServicePrincipal', NULL, 1, 1, 'x', NULL)`,
      ).run(randomUUID(), sample.scope, ROLE_IDS['Key Vault Secrets Officer'], intruder.id);
      d.close();
      // A data dir without its records (a new cluster member, a container's fresh one): the start refuses.
      rmSync(join(server.dataDir, 'authorization-key.json'));
      rmSync(join(server.dataDir, 'authorization-digest.json'));
      rmSync(join(server.dataDir, 'audit-key.json'));
      await assert.rejects(server.restart(), /holds \d+ role assignments, custom roles, memberships or vaults without a seal, and no authorization key/);
      // On the operator's word, it seals them as they are (the writer's too: the operator vouched for the database).
      second = await startTestServer({ dataDir: server.dataDir, env: { COFFER_SEAL_STORED_AUTHORIZATION: '1' } });
      assert.match(second.logs(), /sealed the role assignments, custom roles, group memberships and vaults stored before/);
      const asIntruder = secretClient(second, 'seal-fresh-dir', credential(second, intruder.appId, intruder.secret));
      assert.equal((await asIntruder.getSecret('s')).value, 'v');
    } finally {
      await second?.stop();
      await server.stop();
    }
  });

  it("is renewed by a master key rotation: every row is sealed again, and the old key's holder seals nothing", async () => {
    const server = await startTestServer();
    const file = join(server.dataDir, 'coffer.db');
    const sql = sqlOn(file);
    try {
      await createVault(server, 'seal-rotated', { enableRbacAuthorization: true });
      await secretClient(server, 'seal-rotated').setSecret('s', 'v');
      const sp = await newServicePrincipal(server, 'rotated-reader');
      const intruder = await newServicePrincipal(server, 'rotated-intruder');
      const scope = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/seal-rotated`;
      assert.equal((await assignRole(server, scope, ROLE_IDS['Key Vault Secrets User'], sp.id)).status, 201);
      const asSp = () => secretClient(server, 'seal-rotated', credential(server, sp.appId, sp.secret));
      const asIntruder = () => secretClient(server, 'seal-rotated', credential(server, intruder.appId, intruder.secret));
      // What whoever leaks the master key (and copies the database) holds from before the rotation.
      const oldKeyring = loadKeyring({ file: join(server.dataDir, 'master.key') }).keyring;
      const oldSeal = sealOfStoredKey(readSetting(server, 'authorizationKey'), oldKeyring);
      assert.equal(oldSeal.generation, 0);

      const rotated = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
      assert.equal(rotated.code, 0, rotated.stderr);
      const result = JSON.parse(rotated.stdout);
      assert.equal(result.renewedAuthorizationKey, true);
      const stored = JSON.parse(readSetting(server, 'authorizationKey'));
      assert.equal(stored.generation, 1);
      assert.equal(stored.previous, undefined, 'the old generation is dropped');
      const macs = (() => {
        const d = new Database(file, { readonly: true });
        try {
          return d.prepare("SELECT mac FROM role_assignments UNION ALL SELECT mac FROM vaults UNION ALL SELECT mac FROM group_members").all() as Array<{ mac: string }>;
        } finally {
          d.close();
        }
      })();
      // Generation 1 (a vault's seal format is a2: it covers the deletion state).
      assert.ok(macs.length >= 3 && macs.every((r) => /^a[12]\.1\./.test(r.mac)), JSON.stringify(macs));
      assert.equal(JSON.parse(readFileSync(join(server.dataDir, 'authorization-key.json'), 'utf8')).generation, 1);
      // Access goes on, written during and after the rotation alike.
      assert.equal((await asSp().getSecret('s')).value, 'v');
      await secretClient(server, 'seal-rotated').setSecret('after', 'rotation');

      // The old key's holder writes an assignment sealed under it: it grants nothing.
      const forged = { id: randomUUID(), scope, roleDefinitionId: ROLE_IDS['Key Vault Secrets Officer'], principalId: intruder.id, principalType: 'ServicePrincipal' as const, description: null, endTime: null, createdAt: 1, updatedAt: 1, createdBy: 'x' };
      sql(
        `INSERT INTO role_assignments (id, scope, role_definition_id, principal_id, principal_type, end_time, created_at, updated_at, created_by, mac) VALUES (?, ?, ?, ?, 'ServicePrincipal', NULL, 1, 1, 'x', ?)`,
        forged.id,
        forged.scope,
        forged.roleDefinitionId,
        forged.principalId,
        oldSeal.assignment(forged),
      );
      await server.restart();
      assert.equal(await statusOf(asIntruder().getSecret('s')), 403);
      assert.equal((await asSp().getSecret('s')).value, 'v');
      sql('DELETE FROM role_assignments WHERE id = ?', forged.id);

      // A renewal a stop cut short (the new generation stored, rows not yet sealed again) is finished by the next start.
      await server.kill();
      const keyring = loadKeyring({ file: join(server.dataDir, 'master.key') }).keyring;
      const raw = openSqliteStore({ file });
      const renewal = await beginRenewal(raw.settings, keyring);
      await raw.close();
      assert.equal(renewal?.to.generation, 2);
      const before = server.logs().length;
      await server.restart();
      assert.match(server.logs().slice(before), /"rows":[1-9]\d*.*finished the authorization key renewal a stop had cut short/);
      assert.equal(JSON.parse(readSetting(server, 'authorizationKey')).previous, undefined);
      assert.equal((await asSp().getSecret('s')).value, 'v');
      await server.restart();
      assert.equal((await asSp().getSecret('s')).value, 'v');
    } finally {
      await server.stop();
    }
  });
});

describe('the authorization key against whoever held the master key a rotation retires', () => {
  // The old master key's holder can wrap a key row of their own while the old key is still in the keyring
  // (during a rotation, or at a start with COFFER_PREVIOUS_MASTER_KEYS), and may keep rows of the database's.
  it('refuses a row planted under the old master key, a finished renewal put back, and never rewraps a generation kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-authz-key-'));
    const keyFile = join(dir, 'master.key');
    const record = join(dir, 'authorization-key.json');
    const store = openSqliteStore({ file: join(dir, 'coffer.db') });
    try {
      const old = loadKeyring({ file: keyFile }).keyring;
      await openAuthorizationSeal(store, old, record, true);
      const both = addPrimaryToFile(keyFile);
      const generation0 = (await store.settings.get('authorizationKey'))!;
      const wrapAs = (keyring: typeof old, key: Buffer, aad: string, extra: object) => {
        const { sealed, keyId } = keyring.wrap(key, aad);
        return JSON.stringify({ keyId, sealed: sealed.toString('base64'), bound: true, ...extra });
      };
      const key0 = both.unwrap(JSON.parse(generation0).keyId, Buffer.from(JSON.parse(generation0).sealed, 'base64'), 'coffer/authorization-key/v1|bound');

      const renewed = (await renewAuthorizationKey(store, both))!;
      assert.equal(renewed.generation, 1);
      await checkRenewedAuthorizationKey(store.settings, both, renewed);
      recordAuthorizationKey(record, renewed, true);
      const generation1 = (await store.settings.get('authorizationKey'))!;

      // A key of the planter's own, as a newer generation wrapped under the old master key: neither the rotation's check nor a start takes it.
      await store.settings.set('authorizationKey', wrapAs(old, randomBytes(32), 'coffer/authorization-key/v1|bound|generation:2', { generation: 2 }));
      await assert.rejects(checkRenewedAuthorizationKey(store.settings, both, renewed), /changed in the database while the master key rotation renewed it/);
      await assert.rejects(checkAuthorizationKeyRecord(store.settings, both, record), /generation 2 not wrapped under the current master key/);
      // The finished renewal put back as unfinished (generation 0 beside 1, wrapped under the new master key): refused, not finished again.
      const back = { ...JSON.parse(generation1), previous: JSON.parse(wrapAs(both, key0, 'coffer/authorization-key/v1|bound', {})) };
      delete back.previous.bound;
      await store.settings.set('authorizationKey', JSON.stringify(back));
      await assert.rejects(checkAuthorizationKeyRecord(store.settings, both, record), /keeps generation 0 as unfinished, which this data dir did not see/);
      await assert.rejects(openAuthorizationSeal(store, both, record, true), /keeps generation 0 as unfinished/);
      // A rewrap leaves a kept generation as it is (a copy under the new master key could be put back later).
      const keptUnderOld = { ...JSON.parse(generation1), previous: { keyId: JSON.parse(generation0).keyId, sealed: JSON.parse(generation0).sealed } };
      await store.settings.set('authorizationKey', JSON.stringify(keptUnderOld));
      await rewrapAuthorizationKey(store.settings, both, both);
      assert.deepEqual(JSON.parse((await store.settings.get('authorizationKey'))!).previous, keptUnderOld.previous);
      // The genuine row passes.
      await store.settings.set('authorizationKey', generation1);
      await checkAuthorizationKeyRecord(store.settings, both, record);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Runs one statement on the SQLite file, as a database writer would. */
function sqlOn(file: string) {
  return (statement: string, ...params: unknown[]) => {
    const d = new Database(file);
    try {
      return d.prepare(statement).run(...params);
    } finally {
      d.close();
    }
  };
}

function readSetting(server: TestServer, key: string): string {
  const d = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
  try {
    return (d.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string }).value;
  } finally {
    d.close();
  }
}
