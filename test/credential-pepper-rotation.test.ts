import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createKeyring } from '../src/crypto/keyring.js';
import { openPeppers, type StoredPepper } from '../src/identity/credential-pepper-row.js';
import { createCredentialHasher } from '../src/identity/password-hash.js';
import { api, newServicePrincipal, type Principal } from './support/access-kit.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A master key rotation renews the credential pepper: whoever holds the old
// master key and a database copy from before the rotation (so the old
// pepper) and can write the database afterwards cannot make a client secret
// or password hash of their own that signs in.

const PUBLIC_CLIENT = 'c0ffee00-0000-4000-8000-0000000000c2';
const UPN = 'rotation-user@coffer.local';
const PASSWORD = 'Rotation password 1';
const CHOSEN = 'a client secret of my own choosing';

describe('credential pepper renewal at a master key rotation', () => {
  let server: TestServer;
  let sp: Principal;
  let planted: Principal;
  const db = () => new Database(join(server.dataDir, 'coffer.db'));
  const token = (params: Record<string, string>) =>
    fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams({ scope: `${server.url}/.default`, ...params }) });
  const appToken = (appId: string, secret: string) => token({ grant_type: 'client_credentials', client_id: appId, client_secret: secret });
  const userToken = (password: string) => token({ grant_type: 'password', client_id: PUBLIC_CLIENT, username: UPN, password, scope: `${server.url}/.default offline_access` });
  /** The pepper as whoever holds the current master key file and the database sees it now. */
  const currentPeppers = () => {
    const file = JSON.parse(readFileSync(join(server.dataDir, 'master.key'), 'utf8')) as { primary: string; keys: Record<string, string> };
    const keys = [file.primary, ...Object.keys(file.keys).filter((id) => id !== file.primary)].map((id) => Buffer.from(file.keys[id]!, 'base64'));
    const d = db();
    try {
      const row = d.prepare("SELECT value FROM settings WHERE key = 'credentialPepper'").get() as { value: string };
      return openPeppers(createKeyring(keys[0]!, keys.slice(1)), JSON.parse(row.value) as StoredPepper);
    } finally {
      d.close();
    }
  };
  const setSecretHash = (objectId: string, hash: string) => {
    const d = db();
    d.prepare('UPDATE client_secrets SET secret_hash = ? WHERE object_id = ?').run(hash, objectId);
    d.close();
  };
  /** The row a planted hash must name to be taken (password-hash.ts binds each hash to its row). */
  const secretOwner = (objectId: string) => {
    const d = db();
    try {
      return { objectId, keyId: (d.prepare('SELECT key_id AS k FROM client_secrets WHERE object_id = ?').get(objectId) as { k: string }).k };
    } finally {
      d.close();
    }
  };
  const userOwner = () => {
    const d = db();
    try {
      return { objectId: (d.prepare('SELECT object_id AS o FROM principals WHERE upn = ?').get(UPN) as { o: string }).o };
    } finally {
      d.close();
    }
  };
  const hashes = () => {
    const d = db();
    try {
      const rows = d.prepare('SELECT secret_hash AS h FROM client_secrets UNION ALL SELECT password_hash FROM principals WHERE password_hash IS NOT NULL').all() as Array<{ h: string }>;
      return rows.map((r) => r.h);
    } finally {
      d.close();
    }
  };

  before(async () => {
    server = await startTestServer();
    sp = await newServicePrincipal(server, 'pepper-rotation-sp');
    planted = await newServicePrincipal(server, 'pepper-rotation-planted');
    assert.equal((await api(server, 'POST', '/v1.0/users', { userPrincipalName: UPN, displayName: 'Rotation', passwordProfile: { password: PASSWORD } })).status, 201);
  });
  after(() => server?.stop());

  it('keeps every credential working, while what the old pepper makes no longer signs in', async () => {
    const [oldPepper] = currentPeppers();
    const old = createCredentialHasher(oldPepper!);
    // Before the rotation the pepper's holder can plant a working secret: the rotation must end that for later plants.
    setSecretHash(planted.id, old.hashClientSecret(CHOSEN, secretOwner(planted.id)));
    assert.equal((await appToken(planted.appId, CHOSEN)).status, 200);
    const signedIn = (await (await userToken(PASSWORD)).json()) as { refresh_token?: string };
    assert.ok(signedIn.refresh_token);

    const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { renewedCredentialPepper: boolean }).renewedCredentialPepper, true);
    assert.equal(currentPeppers().length, 2);
    for (const h of hashes()) assert.match(h, /^(hmac-sha256|scrypt-hmac)@0\.1\/0\$/, 'every stored hash keyed again under generation 1');

    assert.equal((await appToken(sp.appId, sp.secret)).status, 200);
    assert.equal((await appToken(server.bootstrap.clientId, server.bootstrap.clientSecret)).status, 200);
    assert.equal((await userToken(PASSWORD)).status, 200);
    assert.equal((await appToken(planted.appId, CHOSEN)).status, 200, 'planted before the rotation: converted with the rest (review credentials after a leak)');

    // After: the old pepper's hash, and the same labelled as a later generation, are refused.
    setSecretHash(sp.id, old.hashClientSecret(CHOSEN, secretOwner(sp.id)));
    assert.equal((await appToken(sp.appId, CHOSEN)).status, 401);
    setSecretHash(sp.id, createCredentialHasher({ peppers: [oldPepper!, oldPepper!], converting: false }).hashClientSecret(CHOSEN, secretOwner(sp.id)));
    assert.equal((await appToken(sp.appId, CHOSEN)).status, 401);
    const d = db();
    d.prepare('UPDATE principals SET password_hash = ? WHERE upn = ?').run(await old.hashPassword('my own password', userOwner()), UPN);
    d.close();
    assert.equal((await userToken('my own password')).status, 400);
    // Refresh tokens were stored under the old generation: their holders sign in again.
    const refreshed = await token({ grant_type: 'refresh_token', client_id: PUBLIC_CLIENT, refresh_token: signedIn.refresh_token });
    assert.equal(((await refreshed.json()) as { error?: string }).error, 'invalid_grant');

    await server.restart();
    assert.equal((await appToken(sp.appId, CHOSEN)).status, 401, 'not converted at the next start');
    assert.equal((await appToken(server.bootstrap.clientId, server.bootstrap.clientSecret)).status, 200);
    assert.equal((JSON.parse(readFileSync(join(server.dataDir, 'credential-pepper.json'), 'utf8')) as { generation: number }).generation, 1);
  });

  it('a secret made after the rotation takes the new generation and signs in', async () => {
    const made = await newServicePrincipal(server, 'pepper-rotation-after');
    assert.equal((await appToken(made.appId, made.secret)).status, 200);
    assert.ok(hashes().some((h) => h.startsWith('hmac-sha256@1.1/1$')));
  });
});
