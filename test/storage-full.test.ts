import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { RestError } from '@azure/core-rest-pipeline';
import type { SecretClient } from '@azure/keyvault-secrets';
import { createVault, secretClient } from './support/clients.js';
import { adminToken, api, assignRole, newServicePrincipal, ROLE_IDS, type Principal } from './support/access-kit.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The database cannot grow (a full disk), simulated with the test-only page
// cap (sqlite-test-page-cap.ts) on the server's writing connections: every
// write is refused with Azure's 503 and nothing of it is stored, the server
// stays up, /healthz says the storage takes no writes, and once the cap is
// lifted writes succeed again without a restart, the audit chain whole.

const BIG = () => randomBytes(12_000).toString('base64'); // 16 KB: a few new pages for every version

describe('a full database', () => {
  let server: TestServer;
  let capDir: string;
  let caps = 0;
  let sp: Principal;
  let client: SecretClient;
  const capFile = () => join(capDir, 'page-cap');

  /** Sets the cap (pages; '' lifts it) and waits until the server has applied it. */
  async function cap(text: string) {
    writeFileSync(capFile(), text);
    caps++;
    while ((server.logs().match(/coffer test page cap: /g) ?? []).length < caps) await new Promise((r) => setTimeout(r, 20));
  }
  /** Caps the database at its size now, then fills what room its pages still have. */
  async function fill() {
    const db = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.close();
    await cap(String(pages));
    for (let i = 0; i < 200; i++) {
      const refused = await client.setSecret(`filler-${i}`, BIG()).then(
        () => false,
        () => true,
      );
      if (refused) return;
    }
    assert.fail('the capped database never filled');
  }

  before(async () => {
    capDir = mkdtempSync(join(tmpdir(), 'coffer-full-'));
    server = await startTestServer({ env: { COFFER_TEST_PAGE_CAP_FILE: join(capDir, 'page-cap') } });
    await createVault(server, 'full-vault');
    // One client throughout: a new one's first request goes without a token (the SDK's challenge), and its 401 has a record to write.
    client = secretClient(server, 'full-vault');
    await client.setSecret('kept', 'kept value');
    sp = await newServicePrincipal(server, 'full-sp');
  });
  after(async () => {
    await server?.stop();
    rmSync(capDir, { recursive: true, force: true });
  });

  const vaultPath = (name: string) => `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/${name}?api-version=2023-07-01`;
  const vaultBody = () => ({ location: 'local', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [], enableRbacAuthorization: true } });
  const signIn = () =>
    fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'c0ffee00-0000-4000-8000-0000000000c2', username: 'full.user@coffer.local', password: 'A full-disk password', scope: `${server.url}/.default offline_access` }),
    });
  const health = async () => {
    const res = await fetch(`${server.url}/healthz`);
    return { status: res.status, body: (await res.json()) as { status: string; storage: { writable: boolean } } };
  };

  it('refuses writes with 503 ServiceUnavailable and Retry-After, stores none of them, and takes them again once there is room', async () => {
    const token = await adminToken(server);
    assert.equal((await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'full.user@coffer.local', passwordProfile: { password: 'A full-disk password' } }, token)).status, 201);
    await fill();
    const refusedValue = `refused-${BIG()}`;

    // A secret SET: Key Vault's error shape, a retry invited, the value nowhere in the log.
    const err = (await client.setSecret('refused', refusedValue).then(
      () => assert.fail('stored on a full disk'),
      (e: RestError) => e,
    )) as RestError;
    assert.equal(err.statusCode, 503);
    assert.equal(err.code, 'ServiceUnavailable');
    assert.match(err.message, /storage cannot take the change now, which was not made/);
    assert.equal(err.response?.headers.get('retry-after'), '5');
    assert.ok(!server.logs().includes(refusedValue.slice(0, 40)), 'no secret value in the log');

    // ARM: a vault and a role assignment, refused the same way.
    const vault = await api(server, 'PUT', vaultPath('full-vault-2'), vaultBody(), token);
    assert.deepEqual([vault.status, vault.body!.error.code], [503, 'ServiceUnavailable']);
    const role = await assignRole(server, `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test`, ROLE_IDS['Key Vault Secrets User'], sp.id, {}, token);
    assert.deepEqual([role.status, role.body!.error.code], [503, 'ServiceUnavailable']);

    // A sign-in stores a refresh token: once its table has no room, Entra's shape for a passing condition.
    let refused: Response | null = null;
    for (let i = 0; i < 400 && !refused; i++) {
      const res = await signIn();
      if (res.status !== 200) refused = res;
      else await res.body?.cancel();
    }
    assert.ok(refused, 'no sign-in was refused');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal(((await refused.json()) as { error: string }).error, 'temporarily_unavailable');

    // Reads are audited (fail-closed): refused too, never answered without their record.
    assert.equal(await client.getSecret('kept').then(() => 200, (e: RestError) => e.statusCode), 503);
    assert.deepEqual(await health(), { status: 503, body: { status: 'degraded', audit: { healthy: false }, storage: { writable: false } } });
    assert.equal(server.exitCode(), null, 'the server is still running');

    // Room again (the cap lifted): no restart, nothing of the refused writes stored, every write taken.
    await cap('');
    assert.equal(await client.getSecret('refused').then(() => 200, (e: RestError) => e.statusCode), 404);
    assert.equal((await api(server, 'GET', vaultPath('full-vault-2'), undefined, token)).status, 404);
    assert.equal((await client.setSecret('refused', 'now stored')).value, 'now stored');
    assert.equal((await client.getSecret('kept')).value, 'kept value');
    assert.equal((await api(server, 'PUT', vaultPath('full-vault-2'), vaultBody(), token)).status, 200);
    assert.equal((await assignRole(server, `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test`, ROLE_IDS['Key Vault Secrets User'], sp.id, {}, token)).status, 201);
    assert.equal((await signIn()).status, 200);
    assert.deepEqual(await health(), { status: 200, body: { status: 'ok', audit: { healthy: true }, storage: { writable: true } } });

    const home = cliHome();
    assert.equal((await coffer(home, ['login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none'])).code, 0);
    const verify = await coffer(home, ['audit', 'verify']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.json<{ ok: boolean }>().ok, true);
  });
});
