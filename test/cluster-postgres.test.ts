import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, assignRole, newGroup, newServicePrincipal, ROLE_IDS, setPolicy, type Principal } from './support/access-kit.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { LOCK_CONNECTION, pgQuery } from './support/pg-rows.js';
import { rawRequest } from './support/raw-http.js';
import { approveDeviceSignIn, deviceLoginForm } from './support/device-login.js';
import { freshPostgresDatabase, type TestDatabase } from './support/databases.js';
import { startBalancedPgCluster, type BalancedPgCluster } from './support/pg-cluster.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { sealOfStoredKey } from '../src/authorization/authorization-key.js';
import { loadKeyring } from '../src/crypto/keyring.js';
import type { TcpBalancer } from './support/tcp-balancer.js';
import { until } from './support/until.js';

// Several servers on one PostgreSQL database (--cluster), each with its own
// data dir and caches, behind a load balancer (--public-port is its port):
// what one member changes, the others serve, a token one issued works on the
// others, and concurrent changes through different members lose nothing.
// Clients talk to the balancer, and a test routes it to one member or the
// other. Access changes reach the other members when their announcement
// does (milliseconds), so those checks wait for it, with a generous bound.

/** A member's error lines (pino's level 50 and up). */
const errorsLogged = (m: TestServer) => m.logs().split('\n').filter((line) => /"level":[56]0/.test(line)).join('\n');

/** The status of a data-plane GET of the secret as `who`. */
async function readStatus(server: TestServer, vault: string, secret: string, who: Principal): Promise<number> {
  try {
    await secretClient(server, vault, credential(server, who.appId, who.secret)).getSecret(secret);
    return 200;
  } catch (err) {
    return (err as { statusCode?: number }).statusCode ?? -1;
  }
}

describe('a cluster: several servers on one PostgreSQL database', () => {
  let cluster: BalancedPgCluster;
  let db: TestDatabase;
  let url: string;
  let lb: TcpBalancer;
  let a: TestServer;
  let b: TestServer;
  /** The cluster as clients see it: the balancer's URLs. */
  let pub: TestServer;
  /** Routes the balancer to one member: the requests that follow reach only it. */
  const on = async (m: TestServer) => {
    await lb.route(m.port);
    return pub;
  };

  before(async () => {
    cluster = await startBalancedPgCluster();
    ({ db, url, lb, a, b, pub } = cluster);
  });
  after(() => cluster?.stop());

  it('members share the deployment: a token from one is accepted by the other, and a version set on one is read at once on the other', async () => {
    assert.equal(b.bootstrap.tenantId, a.bootstrap.tenantId);
    await createVault(await on(a), 'shared-vault');
    // One client (one token, issued by a) throughout. Each read straight after the write, on the other
    // member: no member serves an older version.
    const client = secretClient(pub, 'shared-vault');
    for (let i = 0; i < 5; i++) {
      await on(i % 2 ? b : a);
      await client.setSecret('db-creds', `value-${i}`);
      await on(i % 2 ? a : b);
      assert.equal((await client.getSecret('db-creds')).value, `value-${i}`);
    }
  });

  it('an access policy added or removed through one member grants or revokes on the other', async () => {
    const vault = await createVault(await on(a), 'policy-vault');
    await secretClient(pub, 'policy-vault').setSecret('s', 'v');
    const reader = await newServicePrincipal(pub, 'cluster-policy-reader');
    assert.equal(await readStatus(await on(b), 'policy-vault', 's', reader), 403, 'denied, and the vault now cached on b');
    assert.equal((await setPolicy(await on(a), vault.id!, 'add', reader.id, ['get'])).status, 200);
    await on(b);
    await until('b grants the policy added on a', async () => (await readStatus(pub, 'policy-vault', 's', reader)) === 200);
    assert.equal((await setPolicy(await on(a), vault.id!, 'remove', reader.id, ['get'])).status, 200);
    await on(b);
    await until('b revokes the policy removed on a', async () => (await readStatus(pub, 'policy-vault', 's', reader)) === 403);
  });

  it('a principal deleted through one member: the tokens the other verified for it stop working there, before its minute look-up', async () => {
    const vault = await createVault(await on(a), 'gone-vault');
    await secretClient(pub, 'gone-vault').setSecret('s', 'v');
    const doomed = await newServicePrincipal(pub, 'cluster-doomed');
    assert.equal((await setPolicy(pub, vault.id!, 'add', doomed.id, ['get'])).status, 200);
    // One token, issued and verified (so cached) on b.
    const token = (await credential(await on(b), doomed.appId, doomed.secret).getToken(`https://${a.bootstrap.vaultDnsSuffix}/.default`))!.token;
    const read = async () => (await rawRequest(`${pub.vaultUrl('gone-vault')}/secrets/s?api-version=7.4`, { headers: { authorization: `Bearer ${token}` } })).status;
    await until('b grants the policy added on a', async () => (await read()) === 200);
    // Deleted through a: its access policy stays in the vault, so only the token check can refuse.
    assert.equal((await api(await on(a), 'DELETE', `/v1.0/servicePrincipals/${doomed.id}`)).status, 204);
    assert.equal(await read(), 401, 'refused at once on the member that deleted it');
    await on(b);
    await until('b refuses the deleted principal\'s token', async () => (await read()) === 401);
  });

  it('role assignments, group memberships and custom roles changed through one member decide on the other', async () => {
    const vault = await createVault(await on(a), 'rbac-vault', { enableRbacAuthorization: true });
    const scope = vault.id!;
    assert.equal((await assignRole(pub, scope, ROLE_IDS['Key Vault Secrets Officer'], a.bootstrap.objectId)).status, 201);
    await secretClient(pub, 'rbac-vault').setSecret('s', 'v');
    const reader = await newServicePrincipal(pub, 'cluster-rbac-reader');
    assert.equal(await readStatus(await on(b), 'rbac-vault', 's', reader), 403);

    // An assignment made and deleted on a, decided on b.
    const made = await assignRole(await on(a), scope, ROLE_IDS['Key Vault Secrets User'], reader.id);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await on(b);
    await until('b grants the assignment made on a', async () => (await readStatus(pub, 'rbac-vault', 's', reader)) === 200);
    // Its end time brought forward on a (an update): b stops granting then.
    const ends = await api(await on(a), 'PUT', `${made.body!.id}?api-version=2022-04-01`, {
      properties: { roleDefinitionId: made.body!.properties.roleDefinitionId, principalId: reader.id, endDateTime: new Date(Date.now() + 3000).toISOString() },
    });
    assert.equal(ends.status, 200, JSON.stringify(ends.body));
    await on(b);
    await until('b ends the assignment whose end time was set on a', async () => (await readStatus(pub, 'rbac-vault', 's', reader)) === 403);
    assert.equal((await api(await on(a), 'DELETE', `${made.body!.id}?api-version=2022-04-01`)).status, 200);

    // A group's assignment made on a; its membership changed on b, decided on a.
    const group = await newGroup(await on(a), 'cluster-readers', []);
    assert.equal((await assignRole(pub, scope, ROLE_IDS['Key Vault Secrets User'], group)).status, 201);
    assert.equal(await readStatus(pub, 'rbac-vault', 's', reader), 403);
    const added = await api(await on(b), 'POST', `/v1.0/groups/${group}/members/$ref`, { '@odata.id': `${pub.url}/v1.0/directoryObjects/${reader.id}` });
    assert.equal(added.status, 204, JSON.stringify(added.body));
    await on(a);
    await until('a grants through the membership added on b', async () => (await readStatus(pub, 'rbac-vault', 's', reader)) === 200);
    assert.equal((await api(await on(b), 'DELETE', `/v1.0/groups/${group}/members/${reader.id}/$ref`)).status, 204);
    await on(a);
    await until('a revokes with the membership removed on b', async () => (await readStatus(pub, 'rbac-vault', 's', reader)) === 403);

    // A custom role made and assigned on a, decided on b; its permission taken away on b, decided on a.
    const roleId = randomUUID();
    const rolePath = `/subscriptions/${a.bootstrap.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`;
    const role = (dataActions: string[]) => ({
      properties: { roleName: 'Cluster Getter', type: 'CustomRole', permissions: [{ actions: [], dataActions }], assignableScopes: [`/subscriptions/${a.bootstrap.subscriptionId}`] },
    });
    assert.equal((await api(pub, 'PUT', rolePath, role(['Microsoft.KeyVault/vaults/secrets/getSecret/action']))).status, 201);
    assert.equal((await assignRole(pub, scope, roleId, reader.id)).status, 201);
    await on(b);
    await until('b grants through the custom role made on a', async () => (await readStatus(pub, 'rbac-vault', 's', reader)) === 200);
    assert.equal((await api(pub, 'PUT', rolePath, role(['Microsoft.KeyVault/vaults/secrets/readMetadata/action']))).status, 201);
    await on(a);
    await until('a follows the role changed on b', async () => (await readStatus(pub, 'rbac-vault', 's', reader)) === 403);
  });

  it('a change written straight into the database (as by a write that committed while its call failed) reaches every member', async () => {
    const vault = await createVault(await on(a), 'direct-vault', { enableRbacAuthorization: true });
    assert.equal((await assignRole(pub, vault.id!, ROLE_IDS['Key Vault Secrets Officer'], a.bootstrap.objectId)).status, 201);
    await secretClient(pub, 'direct-vault').setSecret('s', 'v');
    const reader = await newServicePrincipal(pub, 'cluster-direct-reader');
    const group = await newGroup(pub, 'cluster-direct', []);
    assert.equal((await assignRole(pub, vault.id!, ROLE_IDS['Key Vault Secrets User'], group)).status, 201);
    const sql = (text: string, params: unknown[] = [group.toLowerCase(), reader.id.toLowerCase()]) => pgQuery(url, text, params);
    for (const m of [a, b]) assert.equal(await readStatus(await on(m), 'direct-vault', 's', reader), 403);
    // Without its seal (as by someone writing the database without the master key) it grants on no member, nor does
    // an assignment of the reader's own so written.
    await sql('INSERT INTO group_members (group_id, member_id) VALUES ($1, $2)');
    const forged = randomUUID();
    await sql(
      `INSERT INTO role_assignments (id, scope, role_definition_id, principal_id, principal_type, created_at, updated_at, created_by)
       VALUES ($1, $2, $3, $4, 'ServicePrincipal', 1, 1, 'x')`,
      [forged, vault.id!, ROLE_IDS['Key Vault Secrets User'], reader.id.toLowerCase()],
    );
    await sleep(300);
    for (const m of [a, b]) assert.equal(await readStatus(await on(m), 'direct-vault', 's', reader), 403);
    await sql('DELETE FROM group_members WHERE group_id = $1 AND member_id = $2');
    await sql('DELETE FROM role_assignments WHERE id = $1', [forged]);
    // As coffer writes it: sealed under the deployment's authorization key.
    const [key] = await sql("SELECT value FROM settings WHERE key = 'authorizationKey'", []);
    const seal = sealOfStoredKey(String(key!.value), loadKeyring({ masterKey: cluster.masterKey, file: '' }).keyring);
    await sql('INSERT INTO group_members (group_id, member_id, mac) VALUES ($1, $2, $3)', [group.toLowerCase(), reader.id.toLowerCase(), seal.membership(group, reader.id)]);
    for (const m of [a, b]) {
      await on(m);
      await until(`member ${m === a ? 'a' : 'b'} grants`, async () => (await readStatus(pub, 'direct-vault', 's', reader)) === 200);
    }
    await sql('DELETE FROM group_members WHERE group_id = $1 AND member_id = $2');
    for (const m of [a, b]) {
      await on(m);
      await until(`member ${m === a ? 'a' : 'b'} revokes`, async () => (await readStatus(pub, 'direct-vault', 's', reader)) === 403);
    }
  });

  it('access policy changes made at once through both members are all kept', async () => {
    const vault = await createVault(await on(a), 'busy-vault');
    // Each member straight, not through the balancer: both at once. Their own URLs are not the cluster's,
    // so the requests name the cluster's host (as a balancer passes it on) and carry a token for it.
    const token = (await credential(pub).getToken(`${pub.url}/.default`)).token;
    const ids = Array.from({ length: 24 }, () => randomUUID());
    const add = (m: TestServer, objectId: string) =>
      rawRequest(`${m.url}${vault.id!}/accessPolicies/add?api-version=2023-07-01`, {
        method: 'PUT',
        headers: { host: `localhost:${lb.port}`, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { accessPolicies: [{ tenantId: a.bootstrap.tenantId, objectId, permissions: { secrets: ['get'] } }] } }),
      });
    const results = await Promise.all(ids.map((id, i) => add(i % 2 ? a : b, id)));
    const failed = results.filter((r) => r.status !== 200);
    // An unexpected failure's cause is only in the members' logs.
    assert.deepEqual(failed.map((r) => r.text), [], `${failed.length} failed; the members logged:\n${errorsLogged(a)}\n${errorsLogged(b)}`);
    const shown = await api(pub, 'GET', `${vault.id!}?api-version=2023-07-01`);
    const objectIds = (shown.body!.properties.accessPolicies as Array<{ objectId: string }>).map((p) => p.objectId);
    for (const id of ids) assert.ok(objectIds.includes(id), `the policy for ${id} was kept`);
  });

  it('a vault deleted through one member is gone on the other', async () => {
    await createVault(await on(a), 'doomed-vault');
    await secretClient(pub, 'doomed-vault').setSecret('s', 'v');
    assert.equal((await secretClient(await on(b), 'doomed-vault').getSecret('s')).value, 'v', 'the vault now cached on b');
    const del = await api(await on(a), 'DELETE', `/subscriptions/${a.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/doomed-vault?api-version=2023-07-01`);
    assert.equal(del.status, 200);
    await on(b);
    await until('b answers VaultNotFound', async () => {
      try {
        await secretClient(pub, 'doomed-vault').getSecret('s');
        return false;
      } catch (err) {
        return (err as { code?: string }).code === 'VaultNotFound';
      }
    });
  });

  it('a device-code sign-in started on one member is approved on the other and redeemed on the first', async () => {
    const cli = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
    const user = { userPrincipalName: 'dana@coffer.local', displayName: 'Dana', passwordProfile: { password: 'Dana password 123' } };
    assert.equal((await api(await on(a), 'POST', '/v1.0/users', user)).status, 201);
    const form = (path: string, fields: Record<string, string>) =>
      fetch(`${pub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
    const started = (await (await form(`/${a.bootstrap.tenantId}/oauth2/v2.0/devicecode`, { client_id: cli, scope: `${pub.url}/.default` })).json()) as { device_code: string; user_code: string };
    await on(b);
    const approved = await approveDeviceSignIn(deviceLoginForm(pub.url), started.user_code, user.userPrincipalName, user.passwordProfile.password);
    assert.equal(approved.status, 200, approved.text);
    await on(a);
    const token = await form(`/${a.bootstrap.tenantId}/oauth2/v2.0/token`, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: cli, device_code: started.device_code });
    const body = (await token.json()) as { access_token?: string };
    assert.equal(token.status, 200, JSON.stringify(body));
    assert.ok(body.access_token);
  });

  it('a browser sign-in (authorization code) made on one member is redeemed on the other, once, and refreshed on the first', async () => {
    const client = 'c0ffee00-0000-4000-8000-0000000000c1';
    const redirect = 'http://127.0.0.1:9999/callback';
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const user = { userPrincipalName: 'ria@coffer.local', displayName: 'Ria', passwordProfile: { password: 'Ria password 123' } };
    assert.equal((await api(await on(a), 'POST', '/v1.0/users', user)).status, 201);
    const base = `${pub.url}/${a.bootstrap.tenantId}/oauth2/v2.0`;
    const post = (path: string, fields: Record<string, string>) =>
      fetch(`${base}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
    const signedIn = await post('/authorize', {
      client_id: client, response_type: 'code', redirect_uri: redirect, scope: `${pub.url}/.default openid offline_access`, state: 's', code_challenge: challenge,
      code_challenge_method: 'S256', username: user.userPrincipalName, password: user.passwordProfile.password,
    });
    assert.equal(signedIn.status, 302, await signedIn.text());
    const code = new URL(signedIn.headers.get('location')!).searchParams.get('code')!;
    const redeem = () => post('/token', { grant_type: 'authorization_code', client_id: client, code, redirect_uri: redirect, code_verifier: verifier });
    await on(b);
    const tokens = await redeem();
    const body = (await tokens.json()) as { refresh_token?: string };
    assert.equal(tokens.status, 200, JSON.stringify(body));
    await on(a);
    const again = await redeem();
    assert.deepEqual(((await again.json()) as { error_codes?: number[] }).error_codes, [54005], 'redeemed once, whichever member is asked');
    const refreshed = await post('/token', { grant_type: 'refresh_token', client_id: client, refresh_token: body.refresh_token!, scope: `${pub.url}/.default` });
    assert.equal(refreshed.status, 200, await refreshed.text());
  });

  it('wrong passwords tried through one member lock the user name on the other', async () => {
    const cli = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
    const user = { userPrincipalName: 'lou@coffer.local', displayName: 'Lou', passwordProfile: { password: 'Lou password 123' } };
    assert.equal((await api(await on(a), 'POST', '/v1.0/users', user)).status, 201);
    const signIn = async (password: string) => {
      const res = await fetch(`${pub.url}/${a.bootstrap.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', client_id: cli, username: user.userPrincipalName, password, scope: `${pub.url}/.default` }),
      });
      return { status: res.status, codes: ((await res.json()) as { error_codes?: number[] }).error_codes };
    };
    // Five on each member: neither alone reaches ten.
    for (const m of [a, b]) {
      await on(m);
      for (let i = 0; i < 5; i++) assert.deepEqual((await signIn(`guess ${m === a ? i : i + 5}`)).codes, [50126]);
    }
    await on(a);
    assert.deepEqual(await signIn(user.passwordProfile.password), { status: 400, codes: [50053] }, 'locked on both, even against the right password');
  });

  it('a member refuses to rotate the master key alone', async () => {
    const res = await api(await on(a), 'POST', '/coffer/admin/rotate-master-key');
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.match(res.body!.error.message, /cannot rotate the master key alone/);
  });

  it('the audit trail written by both members is one chain that verifies', async () => {
    for (const m of [a, b]) {
      const verify = await api(await on(m), 'GET', '/coffer/audit/verify');
      assert.equal(verify.body!.ok, true, JSON.stringify(verify.body));
    }
  });

  it('a server without --cluster cannot join the cluster, nor a member join a server that holds its database alone', async () => {
    await assert.rejects(startTestServer({ args: ['--database-url', url], env: { COFFER_MASTER_KEY: cluster.masterKey } }), /in use by another coffer server[^]*every server with --cluster/);
    const alone = await freshPostgresDatabase(db);
    const single = await startTestServer({ args: ['--database-url', alone] });
    try {
      await assert.rejects(startTestServer({ args: ['--database-url', alone, '--cluster'] }), /not started with --cluster/);
    } finally {
      await single.stop();
    }
  });

  it('a member with another master key refuses to start, naming the key it lacks', async () => {
    await assert.rejects(
      startTestServer({ args: ['--database-url', url, '--cluster'], env: { COFFER_MASTER_KEY: randomBytes(32).toString('hex') } }),
      /wrapped by master key [^]*which this server does not have/,
    );
  });

  it('with --database-reconnect-seconds 0, a member that stops hearing the others (its connection cut) stops serving; the others go on', async () => {
    const c = await startTestServer({ args: ['--database-url', url, '--cluster', '--public-port', String(lb.port), '--database-reconnect-seconds', '0'], env: { COFFER_MASTER_KEY: cluster.masterKey } });
    assert.equal((await secretClient(await on(c), 'shared-vault').getSecret('db-creds')).value, 'value-4', 'the new member serves');
    // The newest lock session is c's.
    await pgQuery(url, `SELECT pg_terminate_backend((SELECT pid FROM pg_stat_activity WHERE ${LOCK_CONNECTION} ORDER BY backend_start DESC LIMIT 1))`);
    await until('the cut member exits', async () => c.exitCode() !== null);
    assert.equal(c.exitCode(), 1, c.logs());
    assert.match(c.logs(), /can no longer serve the database safely/);
    for (const m of [a, b]) assert.equal((await secretClient(await on(m), 'shared-vault').getSecret('db-creds')).value, 'value-4');
  });

  it('--cluster is refused without --database-url, with --standby, and with the latest-version cache', async () => {
    await assert.rejects(startTestServer({ args: ['--cluster'] }), /cluster needs databaseUrl/);
    await assert.rejects(startTestServer({ args: ['--database-url', url, '--cluster', '--standby'] }), /standby and cluster exclude each other/);
    await assert.rejects(startTestServer({ args: ['--database-url', url, '--cluster'], env: { COFFER_SECRET_CACHE_MB: '8' } }), /latest-version cache/);
  });
});
