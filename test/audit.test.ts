import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { armClient, createVault, credential, secretClient } from './support/clients.js';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { auditRecords, checkOneRecordPerOperation, vaultToken } from './support/audit-kit.js';
import { cliHome, coffer } from './support/cli.js';
import { rawRequest } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The audit trail: one record per request with Azure's fields, written before
// the response (fail-closed), tamper-evident, and free of secret values.

describe('audit trail', () => {
  let server: TestServer;
  let auditDir: string;
  const records = (query: string) => auditRecords(server, query);
  const lastSeq = async () => (await records('vault=audit-vault')).reduce((m, r) => Math.max(m, r.seq), 0);

  before(async () => {
    auditDir = join(mkdtempSync(join(tmpdir(), 'coffer-audit-')), 'logs');
    server = await startTestServer({ args: ['--audit-file', join(auditDir, 'audit.jsonl')] });
    await createVault(server, 'audit-vault');
  });
  after(() => server?.stop());

  it('every operation, allowed and denied, leaves exactly one record with the right fields', () => checkOneRecordPerOperation(server, 'audit-vault'));

  it('refused tokens are recorded too (401), and the management plane is audited', async () => {
    const since = await lastSeq();
    const res = await fetch(`${server.vaultUrl('audit-vault')}/secrets/s-get?api-version=7.6`);
    assert.equal(res.status, 401);
    const [rec] = (await records('vault=audit-vault')).filter((r) => r.seq > since);
    assert.equal(rec!.operationName, 'SecretGet');
    assert.equal(rec!.properties.httpStatusCode, 401);
    assert.equal(rec!.identity.claim.oid, null);
    const mgmt = await records(`principal=${server.bootstrap.objectId}&resultType=Success`);
    assert.ok(mgmt.some((r) => r.operationName.startsWith('PUT ') && r.properties.requestUri.includes('/vaults/audit-vault')));
  });

  it('records keep no credential or secret value from a URI, and at most 2,048 characters of it', async () => {
    const since = await lastSeq();
    const sent = 'SIGN-IN-CODE-7c1e';
    const res = await fetch(`${server.vaultUrl('audit-vault')}/secrets/s-get?api-version=7.6&code=${sent}&refresh_token=${sent}&value=${sent}&keep=1&x=${'A'.repeat(15_000)}`);
    assert.equal(res.status, 401);
    const [rec] = (await records('vault=audit-vault')).filter((r) => r.seq > since);
    const uri = rec!.properties.requestUri as string;
    assert.ok(!uri.includes(sent), uri.slice(0, 300));
    assert.match(uri, /api-version=7\.6&code=REDACTED&refresh_token=REDACTED&value=REDACTED&keep=1&x=A+\.\.\.$/);
    assert.ok(uri.length < 2048 + 100, `${uri.length} characters`);
    assert.ok(!readFileSync(join(auditDir, 'audit.jsonl'), 'utf8').includes(sent), 'nor in the audit file');
    // Names with escapes are read as the server's query parser reads them (`%61ccess_token` is `access_token`).
    const escaped = await fetch(`${server.vaultUrl('audit-vault')}/secrets/s-get?api-version=7.6&%61ccess_token=${sent}&access%5Ftoken=${sent}&%70assword=${sent}&CLIENT%5fSECRET=${sent}&keep%20it=1&odd=%zz`);
    assert.equal(escaped.status, 401);
    const [escapedRec] = (await records('vault=audit-vault')).filter((r) => r.seq > rec!.seq);
    assert.equal(escapedRec!.properties.requestUri, `${server.vaultUrl('audit-vault')}/secrets/s-get?api-version=7.6&%61ccess_token=REDACTED&access%5Ftoken=REDACTED&%70assword=REDACTED&CLIENT%5fSECRET=REDACTED&keep%20it=1&odd=%zz`);
    assert.ok(!readFileSync(join(auditDir, 'audit.jsonl'), 'utf8').includes(sent), 'nor in the audit file');
  });

  it('a secret read is impossible while the audit sink fails, and works again when it recovers', async () => {
    const client = secretClient(server, 'audit-vault');
    assert.equal((await client.getSecret('s-get')).value, 'value of s-get');
    rmSync(auditDir, { recursive: true, force: true });
    writeFileSync(auditDir, 'not a folder'); // the sink's folder is now a file: every write fails
    try {
      const res = await fetch(`${server.vaultUrl('audit-vault')}/secrets/s-get?api-version=7.6`, { headers: { authorization: `Bearer ${await vaultToken(server, server.bootstrap.clientId, server.bootstrap.clientSecret)}` } });
      assert.equal(res.status, 503);
      const body = await res.text();
      assert.match(body, /"code":"ServiceUnavailable"/);
      assert.doesNotMatch(body, /value of s-get/);
      assert.equal(res.headers.get('retry-after'), '5', 'a refused read may be tried again');
      // With the file sink, a secret write commits before its record: its 503 must not invite a retry (a second version).
      const put = await fetch(`${server.vaultUrl('audit-vault')}/secrets/s-while-failing?api-version=7.6`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${await vaultToken(server, server.bootstrap.clientId, server.bootstrap.clientSecret)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ value: 'written once' }),
      });
      assert.equal(put.status, 503);
      assert.equal(put.headers.get('retry-after'), null);
      assert.match(await put.text(), /"code":"ServiceUnavailable","message":"The request may have been carried out, but its audit record could not be written/);
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 503);
      const state = (await health.json()) as { status: string; audit: Record<string, unknown> };
      assert.equal(state.status, 'degraded');
      assert.deepEqual(state.audit, { healthy: false }, 'the error text (a path here) is for the log, not for anyone asking');
    } finally {
      rmSync(auditDir, { force: true });
      mkdirSync(auditDir);
    }
    assert.equal((await client.getSecret('s-get')).value, 'value of s-get');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await client.getSecret('s-while-failing')).value, 'written once', 'the withheld answer was of a stored write');
  });

  it('no record, in the store or the file, contains a secret value', async () => {
    await secretClient(server, 'audit-vault').setSecret('marker', 'AUDIT-SECRET-MARKER-42');
    await secretClient(server, 'audit-vault').getSecret('marker');
    const all = JSON.stringify(await records(''));
    assert.doesNotMatch(all, /AUDIT-SECRET-MARKER-42|eyJ[A-Za-z0-9_-]{10,}/);
    assert.doesNotMatch(readFileSync(join(auditDir, 'audit.jsonl'), 'utf8'), /AUDIT-SECRET-MARKER-42/);
    const db = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
    const raw = db.prepare('SELECT record FROM audit_events').all() as Array<{ record: string }>;
    db.close();
    assert.ok(raw.length > 20);
    assert.ok(raw.every((r) => !r.record.includes('AUDIT-SECRET-MARKER-42')));
  });

  it("a vault name taken again after a purge does not bring the old vault's records with it", async () => {
    await createVault(server, 'reused-name');
    await secretClient(server, 'reused-name').setSecret('old-owner-secret', 'v');
    const arm = armClient(server);
    await arm.vaults.delete('rg-test', 'reused-name');
    await arm.vaults.beginPurgeDeletedAndWait('reused-name', 'local');
    const old = await records('vault=reused-name');
    assert.ok(old.some((r) => r.operationName === 'SecretSet'), 'without a live vault, subscription readers see the name\'s records');
    await new Promise((r) => setTimeout(r, 1100)); // creation times are whole seconds
    await createVault(server, 'reused-name');
    await secretClient(server, 'reused-name').setSecret('new-owner-secret', 'v');
    const now = await records('vault=reused-name');
    assert.ok(now.some((r) => r.operationName === 'SecretSet' && r.properties.requestUri.includes('new-owner-secret')));
    assert.deepEqual(now.filter((r) => JSON.stringify(r).includes('old-owner-secret')), [], 'none of the purged vault\'s records');
    assert.ok(now.every((r) => r.time >= old.at(-1)!.time));
  });

  it('time filters past the year 9999 or before 0000 keep their meaning', async () => {
    const all = (await records('')).length;
    assert.ok(all > 0);
    for (const later of ['%2B275760-09-13T00:00:00Z', 'Sat, 01 Jan 10000 00:00:00 GMT']) {
      assert.equal((await records(`from=${later}`)).length, 0, `nothing is from ${later} on`);
      // Each query is recorded too: later ones see more.
      assert.ok((await records(`to=${later}`)).length >= all, `everything is before ${later}`);
    }
    assert.ok((await records('from=-000100-01-01T00:00:00Z')).length >= all);
    assert.equal((await records('to=-000100-01-01T00:00:00Z')).length, 0);
  });

  it('coffer audit verify passes, then names the first edited or deleted record', async () => {
    const home = cliHome();
    assert.equal((await coffer(home, ['login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none'])).code, 0);
    const good = await coffer(home, ['audit', 'verify']);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.json<{ ok: boolean }>().ok, true);
    const listed = await coffer(home, ['audit', 'list', '--vault', 'audit-vault', '--operation', 'SecretGet', '--max', '3', '--query', 'length(@)']);
    assert.equal(listed.stdout.trim(), '3');

    const db = new Database(join(server.dataDir, 'coffer.db'));
    const target = (db.prepare("SELECT seq FROM audit_events WHERE operation = 'SecretGet' ORDER BY seq LIMIT 1 OFFSET 2").get() as { seq: number }).seq;
    db.prepare("UPDATE audit_events SET record = replace(record, '\"httpStatusCode\":403', '\"httpStatusCode\":200') WHERE seq = ?").run(target);
    db.prepare("UPDATE audit_events SET principal = 'someone-else' WHERE seq = ?").run(target);
    const edited = await coffer(home, ['audit', 'verify']);
    assert.equal(edited.code, 1);
    assert.match(edited.stderr, new RegExp(`^ERROR: \\(AuditChainBroken\\) the audit trail is broken at record ${target}: record ${target} was modified`));
    db.prepare('DELETE FROM audit_events WHERE seq = ?').run(target - 5);
    db.close();
    const deleted = await coffer(home, ['audit', 'verify']);
    assert.equal(deleted.code, 1);
    assert.match(deleted.stderr, new RegExp(`broken at record ${target - 5}: record ${target - 5} is missing`));
  });
});

describe('audit records stored with their write (no file copy)', () => {
  // Without a file copy, a new secret version and its record commit in one
  // transaction: the answer waits for one commit, and the record cannot be
  // lost without the write.
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'joined-vault');
  });
  after(() => server?.stop());

  it('every operation, allowed and denied, still leaves exactly one record with the right fields', () => checkOneRecordPerOperation(server, 'joined-vault'));

  it('a refused SET (secret deleted) leaves one failure record, concurrent SETs one record each, and the chain verifies', async () => {
    const client = secretClient(server, 'joined-vault');
    await client.setSecret('gone', 'x');
    await (await client.beginDeleteSecret('gone')).pollUntilDone();
    const since = (await auditRecords(server, 'vault=joined-vault')).reduce((m, r) => Math.max(m, r.seq), 0);
    await assert.rejects(client.setSecret('gone', 'y'), (err: { statusCode?: number }) => err.statusCode === 409);
    await Promise.all(Array.from({ length: 24 }, (_, i) => client.setSecret(`many-${i % 3}`, `v${i}`)));
    const mine = (await auditRecords(server, 'vault=joined-vault')).filter((r) => r.seq > since);
    assert.deepEqual(mine.map((r) => r.properties.httpStatusCode).sort(), [...Array<number>(24).fill(200), 409]);
    assert.ok(mine.every((r) => r.operationName === 'SecretSet'));
    const verified = await api(server, 'GET', '/coffer/audit/verify');
    assert.equal(verified.status, 200);
    assert.equal((verified.body as { ok: boolean }).ok, true);
  });

  it('a change whose record the database refuses is undone, and answered 503 with Retry-After', async () => {
    const client = secretClient(server, 'joined-vault');
    await client.setSecret('refused-kept', 'v1');
    const token = await vaultToken(server, server.bootstrap.clientId, server.bootstrap.clientSecret);
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${server.vaultUrl('joined-vault')}${path}?api-version=7.6`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const db = new Database(join(server.dataDir, 'coffer.db'));
    db.exec("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    try {
      // A change on the main connection (delete) and one through the writer thread (a new version).
      for (const [method, path, body] of [['DELETE', '/secrets/refused-kept', undefined], ['PUT', '/secrets/refused-kept', { value: 'v2' }]] as const) {
        const res = await call(method, path, body);
        assert.equal(res.status, 503, `${method} ${path}`);
        assert.equal(res.headers.get('retry-after'), '5');
        assert.match(((await res.json()) as { error: { message: string } }).error.message, /audit record could not be written\. Try again later/);
      }
      assert.equal((await fetch(`${server.url}/healthz`)).status, 503, 'degraded while records are refused');
    } finally {
      db.exec('DROP TRIGGER refuse_audit');
      db.close();
    }
    // A change whose record is stored with it shows the trail healthy again, before any read's batch.
    assert.equal((await call('PATCH', '/secrets/refused-kept', { tags: { after: 'refusal' } })).status, 200);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    // Nothing of either change was stored.
    const secret = await client.getSecret('refused-kept');
    assert.equal(secret.value, 'v1');
    let versions = 0;
    for await (const _v of client.listPropertiesOfSecretVersions('refused-kept')) versions++;
    assert.equal(versions, 1);
    const verified = await api(server, 'GET', '/coffer/audit/verify');
    assert.equal((verified.body as { ok: boolean }).ok, true);
  });

  it('a new version for a vault deleted since the request found it answers 404 VaultNotFound, not a 500, and stores nothing', async () => {
    await createVault(server, 'racing-vault');
    const client = secretClient(server, 'racing-vault');
    await client.setSecret('first', 'v1');
    // Removed behind the server's back, as a concurrent delete would between the lookup and the write.
    const db = new Database(join(server.dataDir, 'coffer.db'));
    try {
      db.pragma('foreign_keys = ON');
      db.prepare("DELETE FROM vaults WHERE name = 'racing-vault'").run();
    } finally {
      db.close();
    }
    for (const name of ['first', 'second']) {
      await assert.rejects(client.setSecret(name, 'v2'), (err: { statusCode?: number; code?: string; message?: string }) => {
        assert.equal(err.statusCode, 404, String(err.message));
        assert.equal(err.code, 'VaultNotFound');
        return true;
      });
    }
    const reader = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
    try {
      assert.equal((reader.prepare('SELECT COUNT(*) AS n FROM secrets s LEFT JOIN vaults v ON v.id = s.vault_id WHERE v.id IS NULL').get() as { n: number }).n, 0);
    } finally {
      reader.close();
    }
    const verified = await api(server, 'GET', '/coffer/audit/verify');
    assert.equal((verified.body as { ok: boolean }).ok, true);
  });
});

describe('management and directory changes stored with their records (no file copy)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'mgmt-audit');
  });
  after(() => server?.stop());

  it('each resource group, vault, access policy, role definition and role assignment change leaves exactly one record with its answer', async () => {
    const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    const vaultPath = `${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/mgmt-audited`;
    const v = `?api-version=2023-07-01`;
    const head = async () => ((await api(server, 'GET', '/coffer/audit/verify')).body as { head: number }).head;
    const since = await head();
    const properties = { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [] };
    const sp = await newServicePrincipal(server, 'mgmt-audit-reader');
    const roleId = crypto.randomUUID();
    const role = { properties: { roleName: `Audited reader ${roleId}`, permissions: [{ dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action'] }], assignableScopes: [sub] } };
    const steps: Array<[string, string, unknown, number]> = [
      ['PUT', `${sub}/resourceGroups/rg-audited?api-version=2021-04-01`, { location: 'local' }, 201],
      ['PUT', `${sub}/resourceGroups/rg-audited?api-version=2021-04-01`, { location: 'local', tags: { env: 'test' } }, 200],
      ['PUT', `${vaultPath}${v}`, { location: 'local', properties }, 200],
      ['PUT', `${vaultPath}${v}`, { location: 'local', properties, tags: { env: 'test' } }, 200],
      ['PATCH', `${vaultPath}${v}`, { tags: { env: 'prod' } }, 200],
      ['PUT', `${vaultPath}/accessPolicies/add${v}`, { properties: { accessPolicies: [{ tenantId: server.bootstrap.tenantId, objectId: sp.id, permissions: { secrets: ['get'] } }] } }, 200],
      ['PUT', `${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`, role, 201],
      ['DELETE', `${vaultPath}${v}`, undefined, 200],
      ['DELETE', `${vaultPath}${v}`, undefined, 204],
      ['PUT', `${vaultPath}${v}`, { location: 'local', properties: { ...properties, createMode: 'recover' } }, 200],
      ['DELETE', `${vaultPath}${v}`, undefined, 200],
      ['POST', `${sub}/providers/Microsoft.KeyVault/locations/local/deletedVaults/mgmt-audited/purge${v}`, undefined, 200],
      ['DELETE', `${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`, undefined, 200],
    ];
    for (const [method, path, body, status] of steps) assert.equal((await api(server, method, path, body)).status, status, `${method} ${path}`);
    const assigned = await assignRole(server, `${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/mgmt-audit`, ROLE_IDS['Key Vault Secrets User'], sp.id);
    assert.equal(assigned.status, 201);
    assert.equal((await api(server, 'DELETE', `${assigned.body!.id}?api-version=2022-04-01`)).status, 200);
    assert.equal((await api(server, 'DELETE', `${assigned.body!.id}?api-version=2022-04-01`)).status, 204);

    const mine = (await auditRecords(server, `$skiptoken=${since}`)).filter((r) => /\/vaults\/mgmt-audit|roleDefinitions|roleAssignments|deletedVaults|rg-audited/i.test(r.properties.requestUri));
    const expected = [...steps.map(([method, , , status]) => [method, status]), ['PUT', 201], ['DELETE', 200], ['DELETE', 204]];
    assert.deepEqual(mine.map((r) => [r.operationName.split(' ')[0], r.properties.httpStatusCode]), expected);
    assert.ok(mine.every((r) => r.resultType === 'Success' && r.identity.claim.oid === server.bootstrap.objectId));
    // The vault's changes name it, so they show with its other records (a purged vault's, to subscription readers).
    const byVault = (await auditRecords(server, 'vault=mgmt-audited')).filter((r) => r.seq > since).map((r) => [r.operationName.split(' ')[0], r.properties.httpStatusCode]);
    assert.deepEqual(byVault, [...steps.slice(2, 6), ...steps.slice(7, 12)].map(([method, , , status]) => [method, status]));
    const verified = await api(server, 'GET', '/coffer/audit/verify');
    assert.equal((verified.body as { ok: boolean }).ok, true);
  });

  it('each directory change leaves exactly one record with its answer', async () => {
    const head = async () => ((await api(server, 'GET', '/coffer/audit/verify')).body as { head: number }).head;
    const since = await head();
    const sp = await api(server, 'POST', '/v1.0/servicePrincipals', { displayName: 'audited-sp' });
    assert.equal(sp.status, 201);
    const id = sp.body!.id as string;
    const added = await api(server, 'POST', `/v1.0/servicePrincipals/${id}/addPassword`, { passwordCredential: { displayName: 'second' } });
    assert.equal(added.status, 200);
    const group = await api(server, 'POST', '/v1.0/groups', { displayName: 'audited-group' });
    assert.equal(group.status, 201);
    const user = await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'audited@coffer.local', passwordProfile: { password: 'Long-enough-password' } });
    assert.equal(user.status, 201);
    const steps: Array<[string, string, unknown, number]> = [
      ['POST', `/v1.0/servicePrincipals/${id}/removePassword`, { keyId: added.body!.keyId }, 204],
      ['POST', `/v1.0/servicePrincipals/${id}/removePassword`, { keyId: added.body!.keyId }, 400],
      ['POST', `/v1.0/groups/${group.body!.id}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${id}` }, 204],
      ['POST', `/v1.0/groups/${group.body!.id}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${id}` }, 400],
      ['DELETE', `/v1.0/groups/${group.body!.id}/members/${id}/$ref`, undefined, 204],
      ['DELETE', `/v1.0/groups/${group.body!.id}`, undefined, 204],
      ['DELETE', `/v1.0/users/${user.body!.id}`, undefined, 204],
      ['DELETE', `/v1.0/servicePrincipals/${id}`, undefined, 204],
      ['DELETE', `/v1.0/servicePrincipals/${id}`, undefined, 404],
    ];
    for (const [method, path, body, status] of steps) assert.equal((await api(server, method, path, body)).status, status, `${method} ${path}`);
    const mine = (await auditRecords(server, `$skiptoken=${since}`)).filter((r) => /\/v1\.0\//.test(r.properties.requestUri));
    const expected = [['POST', 201], ['POST', 200], ['POST', 201], ['POST', 201], ...steps.map(([method, , , status]) => [method, status])];
    assert.deepEqual(mine.map((r) => [r.operationName.split(' ')[0], r.properties.httpStatusCode]), expected);
    assert.ok(!JSON.stringify(mine).includes(sp.body!.passwordCredentials[0].secretText), 'no client secret in a record');
    const verified = await api(server, 'GET', '/coffer/audit/verify');
    assert.equal((verified.body as { ok: boolean }).ok, true);
  });
});

describe('throttling', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ throttle: true, args: ['--throttle-window-seconds', '2', '--throttle-secret-creates', '4', '--throttle-other', '1000'] });
    await createVault(server, 'busy-vault');
  });
  after(() => server?.stop());

  it('answers 429 with Retry-After past the limit; the SDK backs off and completes', async () => {
    const client = secretClient(server, 'busy-vault');
    const retrying = new (await import('@azure/keyvault-secrets')).SecretClient(server.vaultUrl('busy-vault'), credential(server), { retryOptions: { maxRetries: 6 } });
    await Promise.all(Array.from({ length: 12 }, (_, i) => retrying.setSecret(`burst-${i}`, `v${i}`)));
    for (let i = 0; i < 12; i++) assert.equal((await client.getSecret(`burst-${i}`)).value, `v${i}`);
    const throttled = (await api(server, 'GET', '/coffer/audit?maxresults=1000&vault=busy-vault&operation=SecretSet')).body!.value.filter((r: Record<string, any>) => r.properties.httpStatusCode === 429);
    assert.ok(throttled.length > 0, 'some requests were throttled');
    assert.equal(throttled[0].resultDescription, 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached');
    // A throttled request does not count: after the window, the full allowance is back.
    const token = (await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}:${server.port}/.default`)).token;
    await new Promise((r) => setTimeout(r, 2100));
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${server.vaultUrl('busy-vault')}/secrets/raw-${i}?api-version=7.6`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"value":"x"}' });
      statuses.push(res.status);
      if (res.status === 429) {
        assert.ok(Number(res.headers.get('retry-after')) >= 1);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'Throttled');
      }
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
  });

  it('anonymous requests use up no quota, and no spelling of the path escapes the secret-create limit', async () => {
    const token = (await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}:${server.port}/.default`)).token;
    await new Promise((r) => setTimeout(r, 2100));
    for (let i = 0; i < 30; i++) assert.equal((await fetch(`${server.vaultUrl('busy-vault')}/secrets/burst-0?api-version=7.6`)).status, 401);
    const put = (path: string) => rawRequest(`${server.vaultUrl('busy-vault')}${path}?api-version=7.6`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"value":"x"}' });
    const statuses = [];
    for (const path of ['/secrets/v-1', '//secrets/v-2', '/secrets//v-3', '/SECRETS/v-4', '/secrets/v-5/']) statuses.push((await put(path)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
  });
});
