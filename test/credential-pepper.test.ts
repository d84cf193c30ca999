import assert from 'node:assert/strict';
import { createHash, randomBytes, scryptSync } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { api, newServicePrincipal, type Principal } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Credential hashes keyed with the deployment's pepper: a database from before
// the pepper is converted once, on the first start that makes it; an unkeyed
// hash written into the database afterwards never becomes usable.

const PUBLIC_CLIENT = 'c0ffee00-0000-4000-8000-0000000000c2';
const PASSWORD = 'Pepper password 1';

describe('credential pepper', () => {
  let server: TestServer;
  let sp: Principal;
  const db = () => new Database(join(server.dataDir, 'coffer.db'));
  const appToken = (appId: string, secret: string) =>
    fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: appId, client_secret: secret, scope: `${server.url}/.default` }),
    });
  const userToken = (password: string) =>
    fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: PUBLIC_CLIENT, username: 'pepper@coffer.local', password, scope: `${server.url}/.default` }),
    });
  const unkeyedSecret = (secret: string) => 'sha256$' + createHash('sha256').update(secret).digest('base64');
  const unkeyedPassword = (password: string) => {
    const salt = randomBytes(16);
    const key = scryptSync(password, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    return `scrypt$32768$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
  };
  const hashes = () => {
    const d = db();
    try {
      const secrets = d.prepare('SELECT secret_hash AS h FROM client_secrets').all() as Array<{ h: string }>;
      const passwords = d.prepare('SELECT password_hash AS h FROM principals WHERE password_hash IS NOT NULL').all() as Array<{ h: string }>;
      return [...secrets, ...passwords].map((r) => r.h);
    } finally {
      d.close();
    }
  };

  before(async () => {
    server = await startTestServer();
    sp = await newServicePrincipal(server, 'pepper-sp');
    assert.equal((await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'pepper@coffer.local', displayName: 'Pepper', passwordProfile: { password: PASSWORD } })).status, 201);
  });
  after(() => server?.stop());

  it('stores only keyed hashes', () => {
    const all = hashes();
    assert.ok(all.length >= 3);
    for (const h of all) assert.match(h, /^(hmac-sha256|scrypt-hmac)@0\.0\/0\$/);
  });

  it("a hash copied into another principal's row (by whoever writes the database and knows the first one's secret) signs nothing in", async () => {
    const mine = await newServicePrincipal(server, 'pepper-copy-mine');
    const theirs = await newServicePrincipal(server, 'pepper-copy-theirs');
    assert.equal((await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'pepper-copy@coffer.local', displayName: 'Copy', passwordProfile: { password: 'Their password 1' } })).status, 201);
    const d = db();
    const secretOf = (id: string) => (d.prepare('SELECT secret_hash AS h FROM client_secrets WHERE object_id = ?').get(id) as { h: string }).h;
    d.prepare('UPDATE client_secrets SET secret_hash = ? WHERE object_id = ?').run(secretOf(mine.id), theirs.id);
    const passwordOf = (upn: string) => (d.prepare('SELECT password_hash AS h FROM principals WHERE upn = ?').get(upn) as { h: string }).h;
    d.prepare('UPDATE principals SET password_hash = ? WHERE upn = ?').run(passwordOf('pepper@coffer.local'), 'pepper-copy@coffer.local');
    d.close();
    assert.equal((await appToken(mine.appId, mine.secret)).status, 200);
    assert.equal((await appToken(theirs.appId, mine.secret)).status, 401);
    const asThem = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: PUBLIC_CLIENT, username: 'pepper-copy@coffer.local', password: PASSWORD, scope: `${server.url}/.default` }),
    });
    assert.equal(asThem.status, 400);
    assert.equal((await userToken(PASSWORD)).status, 200);
  });

  it('a database from before the pepper (unkeyed hashes, no pepper) is converted on its next start, and every credential still works', async () => {
    await server.kill();
    // A data dir from before the pepper has no record of one either.
    rmSync(join(server.dataDir, 'credential-pepper.json'));
    const d = db();
    d.prepare("DELETE FROM settings WHERE key = 'credentialPepper'").run();
    d.prepare('UPDATE client_secrets SET secret_hash = ? WHERE object_id = ?').run(unkeyedSecret(sp.secret), sp.id);
    d.prepare('UPDATE principals SET password_hash = ? WHERE upn = ?').run(unkeyedPassword(PASSWORD), 'pepper@coffer.local');
    // The administrator's secret from bootstrap.json, as an unkeyed hash too.
    d.prepare("UPDATE client_secrets SET secret_hash = ? WHERE object_id = ? AND display_name = 'rbac'").run(unkeyedSecret(server.bootstrap.clientSecret), server.bootstrap.objectId);
    // Every other credential as a database from before the pepper holds it: unkeyed (values this test does not use).
    d.prepare("UPDATE client_secrets SET secret_hash = 'sha256$' || key_id WHERE secret_hash LIKE 'hmac-sha256%'").run();
    d.prepare("UPDATE principals SET password_hash = ? WHERE password_hash LIKE 'scrypt-hmac%'").run(unkeyedPassword('some other password'));
    d.close();
    await server.restart();

    assert.equal((await appToken(sp.appId, sp.secret)).status, 200);
    assert.equal((await appToken(server.bootstrap.clientId, server.bootstrap.clientSecret)).status, 200);
    assert.equal((await userToken(PASSWORD)).status, 200);
    assert.equal((await userToken('not the password')).status, 400);
    for (const h of hashes()) assert.match(h, /^(hmac-sha256|scrypt-hmac)@0\.0\/0\$/, 'nothing unkeyed is left');
  });

  it('an unkeyed hash written into the database later is refused, then and after a restart', async () => {
    const chosen = 'a secret of my own choosing';
    const d = db();
    d.prepare('UPDATE client_secrets SET secret_hash = ? WHERE object_id = ?').run(unkeyedSecret(chosen), sp.id);
    d.prepare('UPDATE principals SET password_hash = ? WHERE upn = ?').run(unkeyedPassword('my own password'), 'pepper@coffer.local');
    d.close();
    const refused = await appToken(sp.appId, chosen);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_client');
    assert.equal((await userToken('my own password')).status, 400);
    await server.restart();
    assert.equal((await appToken(sp.appId, chosen)).status, 401, 'not converted at the next start');
    assert.equal((await userToken('my own password')).status, 400);
    assert.equal((await appToken(server.bootstrap.clientId, server.bootstrap.clientSecret)).status, 200);
  });

  it('a refresh token or device code row written into the database for a value of its writer\'s choosing redeems nothing', async () => {
    const user = (await api(server, 'GET', "/v1.0/users?$filter=userPrincipalName eq 'pepper@coffer.local'")).body!.value[0].id as string;
    const now = Math.floor(Date.now() / 1000);
    const unkeyed = (v: string) => createHash('sha256').update(v).digest('base64url');
    const d = db();
    d.prepare('INSERT INTO refresh_tokens (token_hash, object_id, client_id, scope, expires_at, family_id) VALUES (?, ?, ?, ?, ?, ?)').run(
      unkeyed('chosen refresh token'), user, PUBLIC_CLIENT, `${server.url}`, now + 3600, 'planted-family',
    );
    d.prepare('INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, source, network, expires_at, approved_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      unkeyed('chosen device code'), 'PLANTEDXX', PUBLIC_CLIENT, `${server.url}/.default`, '127.0.0.1', '127.0.0', now + 600, user,
    );
    d.close();
    const token = (params: Record<string, string>) =>
      fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams({ client_id: PUBLIC_CLIENT, ...params }) });
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: 'chosen refresh token', scope: `${server.url}/.default` });
    assert.equal(refreshed.status, 400);
    assert.equal(((await refreshed.json()) as { error: string }).error, 'invalid_grant');
    const device = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: 'chosen device code' });
    assert.equal(device.status, 400);
    assert.equal(((await device.json()) as { access_token?: string }).access_token, undefined);
  });

  it('a pepper removed from the database (to have unkeyed hashes converted again) stops the start, saying why', async () => {
    const chosen = 'a secret of my own choosing';
    assert.ok(existsSync(join(server.dataDir, 'credential-pepper.json')));
    await server.kill();
    const d = db();
    const row = d.prepare("SELECT value FROM settings WHERE key = 'credentialPepper'").get() as { value: string };
    d.prepare("DELETE FROM settings WHERE key = 'credentialPepper'").run();
    d.prepare('UPDATE client_secrets SET secret_hash = ? WHERE object_id = ?').run(unkeyedSecret(chosen), sp.id);
    d.close();
    await assert.rejects(server.restart());
    assert.match(server.logs(), /the database's credential pepper is missing, but this data dir recorded one/);
    // A data dir without the record (a new cluster member's) is refused too: the database holds keyed hashes.
    const record = readFileSync(join(server.dataDir, 'credential-pepper.json'));
    rmSync(join(server.dataDir, 'credential-pepper.json'));
    await assert.rejects(server.restart());
    assert.match(server.logs(), /the database's credential pepper is missing, but it holds hashes keyed with one/);
    writeFileSync(join(server.dataDir, 'credential-pepper.json'), record, { mode: 0o600 });
    const fix = db();
    fix.prepare("INSERT INTO settings (key, value) VALUES ('credentialPepper', ?)").run(row.value);
    fix.close();
    await server.restart();
    assert.equal((await appToken(sp.appId, chosen)).status, 401, 'the unkeyed hash was never converted');
    assert.equal((await appToken(server.bootstrap.clientId, server.bootstrap.clientSecret)).status, 200);
  });

  it('a pepper setting changed outside coffer stops the start, saying why', async () => {
    await server.kill();
    const d = db();
    const row = d.prepare("SELECT value FROM settings WHERE key = 'credentialPepper'").get() as { value: string };
    d.prepare("UPDATE settings SET value = ? WHERE key = 'credentialPepper'").run(JSON.stringify({ ...JSON.parse(row.value), converted: false }));
    d.close();
    await assert.rejects(server.restart());
    assert.match(server.logs(), /the credential pepper \(setting credentialPepper, generation 0\) does not open under the master key/);
    // Put back, it starts again.
    const fix = db();
    fix.prepare("UPDATE settings SET value = ? WHERE key = 'credentialPepper'").run(row.value);
    fix.close();
    await server.restart();
    assert.equal((await appToken(server.bootstrap.clientId, server.bootstrap.clientSecret)).status, 200);
  });
});
