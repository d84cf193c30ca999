import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { loadKeyring } from '../src/crypto/keyring.js';
import { retiredKidsFile, trustedKey } from '../src/identity/signing-keys.js';
import { createTokenService, TokenVerifyError, type TokenService } from '../src/identity/token-service.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { startTestServer } from './support/server-fixture.js';
import { cliHome, coffer } from './support/cli.js';
import { api, newServicePrincipal } from './support/access-kit.js';
import { credential } from './support/clients.js';

// Token signing key rotation: the new key signs from then on; the old one
// verifies only what it signed before it retired, and only while that can
// live; every member of a deployment switches to the new key.

const LIFETIME = 3600;
const TENANT = 'c0ffee00-0000-4000-8000-000000000001';
const ISSUER = `https://localhost/${TENANT}/v2.0`;
const AUD = 'https://vault.localhost';

describe('token signing key rotation (token service)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-signing-'));
  const store = openSqliteStore({ file: join(dir, 'coffer.db') });
  const { keyring } = loadKeyring({ file: join(dir, 'master.key') });
  let t = 1_900_000_000;
  const service = (): Promise<TokenService> =>
    createTokenService({ store: store.signingKeys, keyring, issuer: ISSUER, tenantId: TENANT, lifetimeSeconds: LIFETIME, now: () => t });
  const issue = (s: TokenService) => s.issue({ objectId: 'c0ffee00-0000-4000-8000-0000000000b1', appId: 'app', audience: AUD, kind: 'app' });
  const kid = (token: string) => decodeProtectedHeader(token).kid;
  /** The database writer: a row changed behind the server's back. */
  const setRetiredAt = (k: string, at: number | null) => {
    const db = new Database(join(dir, 'coffer.db'));
    db.prepare('UPDATE signing_keys SET retired_at = ? WHERE kid = ?').run(at, k);
    db.close();
  };
  const refused = (s: TokenService, token: string) => assert.rejects(s.verify(token, [AUD]), (err: unknown) => err instanceof TokenVerifyError && err.reason === 'signature');
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs with the new key at once, on this member and (after reloading) on another; the old key verifies what it signed before', async () => {
    const one = await service();
    const two = await service();
    const before = (await issue(one)).token;
    assert.equal(kid((await issue(two)).token), kid(before), 'both members sign with the one active key');

    t += 10;
    const { kid: newKid, retired } = await one.rotateSigningKey();
    assert.deepEqual(retired, [kid(before)]);
    assert.equal(kid((await issue(one)).token), newKid);
    assert.equal((await one.verify(before, [AUD])).objectId, 'c0ffee00-0000-4000-8000-0000000000b1', 'issued before the rotation: still good');
    assert.deepEqual(one.jwks().keys.map((k) => k.kid).sort(), [kid(before), newKid].sort());

    // The other member learns of the rotation from the store (a PostgreSQL change notice in a cluster).
    assert.equal(kid((await issue(two)).token), kid(before), 'not yet reloaded');
    await two.reloadKeys();
    const fromTwo = (await issue(two)).token;
    assert.equal(kid(fromTwo), newKid);
    assert.equal((await one.verify(fromTwo, [AUD])).appId, 'app');

    // A token made after the rotation with a copy of the old key is refused, by either member.
    const oldRow = (await store.signingKeys.list()).find((r) => r.kid === kid(before))!;
    const copy = trustedKey(oldRow, keyring)!;
    const forged = await new SignJWT({ aud: AUD, iss: ISSUER, tid: TENANT, oid: 'c0ffee00-0000-4000-8000-0000000000ff', iat: t + 120, nbf: t + 120, exp: t + 600 })
      .setProtectedHeader({ alg: 'RS256', kid: oldRow.kid })
      .sign(copy.privateKey!);
    t += 120;
    await refused(one, forged);
    await refused(two, forged);

    // A database writer who makes the old key active again (or moves its retirement) makes it open nothing.
    for (const retiredAt of [null, t + 10 * LIFETIME]) {
      setRetiredAt(oldRow.kid, retiredAt);
      const tampered = await service();
      assert.ok(!tampered.jwks().keys.some((k) => k.kid === oldRow.kid), `retired_at ${retiredAt}`);
      await refused(tampered, forged);
      assert.equal(kid((await issue(tampered)).token), newKid, 'never signs with it');
    }
    setRetiredAt(oldRow.kid, oldRow.retiredAt);

    // Once no token it signed can live, the old key verifies nothing and leaves the JWKS.
    t += LIFETIME + 120;
    await refused(await service(), before);
    assert.deepEqual(one.jwks().keys.map((k) => k.kid), [newKid]);
    const restarted = await service();
    assert.deepEqual(restarted.jwks().keys.map((k) => k.kid), [newKid], 'a restart agrees');
    assert.equal(kid((await issue(restarted)).token), newKid);
  });
});

/** A fresh store and master key in a temporary directory, for one test. */
async function withStore(run: (ctx: { dir: string; store: ReturnType<typeof openSqliteStore>; keyring: ReturnType<typeof loadKeyring>['keyring'] }) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-signing-'));
  const store = openSqliteStore({ file: join(dir, 'coffer.db') });
  try {
    await run({ dir, store, keyring: loadKeyring({ file: join(dir, 'master.key') }).keyring });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("a retired key's earlier seal put back from a database copy", () => {
  it('is not trusted by a server that recorded the retirement in its data dir', () =>
    withStore(async ({ dir, store, keyring }) => {
      const record = retiredKidsFile(join(dir, 'signing-keys-retired.json'));
      const open = (retiredKids?: typeof record) => createTokenService({ store: store.signingKeys, keyring, issuer: ISSUER, tenantId: TENANT, lifetimeSeconds: LIFETIME, retiredKids });
      const s = await open(record);
      const [copy] = await store.signingKeys.list(); // the database copy taken before the rotation
      const { kid: newKid } = await s.rotateSigningKey();
      const db = new Database(join(dir, 'coffer.db'));
      db.prepare('UPDATE signing_keys SET private_sealed = ?, master_key_id = ?, retired_at = NULL WHERE kid = ?').run(copy!.privateSealed, copy!.masterKeyId, copy!.kid);
      db.close();

      const untrusted: string[] = [];
      const recorded = await createTokenService({ store: store.signingKeys, keyring, issuer: ISSUER, tenantId: TENANT, lifetimeSeconds: LIFETIME, retiredKids: retiredKidsFile(join(dir, 'signing-keys-retired.json')), onUntrustedKey: (k) => untrusted.push(k) });
      assert.deepEqual(untrusted, [copy!.kid]);
      assert.deepEqual(recorded.jwks().keys.map((k) => k.kid), [newKid]);
      assert.equal(decodeProtectedHeader((await recorded.issue({ objectId: 'o', appId: 'a', audience: AUD, kind: 'app' })).token).kid, newKid);
      // Without the record (a member started with an empty data dir), the earlier seal opens: README says to rotate the master key too.
      assert.ok((await open()).jwks().keys.some((k) => k.kid === copy!.kid));
    }));
});

describe('token signing key rotations requested together', () => {
  it('run one after another: one key signs afterwards, and tokens are issued throughout', () =>
    withStore(async ({ store, keyring }) => {
      // A store whose every call waits a little, as a database's do, so that the rotations' steps interleave.
      const pause = () => new Promise((r) => setTimeout(r, 5));
      const slow: typeof store.signingKeys = {
        insert: async (row) => (await pause(), store.signingKeys.insert(row)),
        list: async () => (await pause(), store.signingKeys.list()),
        retire: async (...args) => (await pause(), store.signingKeys.retire(...args)),
        rewrap: async (...args) => (await pause(), store.signingKeys.rewrap(...args)),
      };
      const s = await createTokenService({ store: slow, keyring, issuer: ISSUER, tenantId: TENANT, lifetimeSeconds: LIFETIME });
      const [a, b, c] = await Promise.all([s.rotateSigningKey(), s.rotateSigningKey(), s.rotateSigningKey()]);
      assert.deepEqual(b.retired, [a.kid]);
      assert.deepEqual(c.retired, [b.kid]);
      const active = (await store.signingKeys.list()).filter((r) => r.retiredAt === null).map((r) => r.kid);
      assert.deepEqual(active, [c.kid]);
      const token = (await s.issue({ objectId: 'o', appId: 'app', audience: AUD, kind: 'app' })).token;
      assert.equal(decodeProtectedHeader(token).kid, c.kid);
    }));
});

describe('coffer admin rotate-signing-key (a running server)', () => {
  it('rotates online for the administrator only; tokens from before still work, new ones use the new key', async () => {
    const server = await startTestServer();
    try {
      const adminToken = (await credential(server).getToken(`${server.url}/.default`)).token;
      const oldKid = decodeProtectedHeader(adminToken).kid;
      const someone = await newServicePrincipal(server, 'not-the-admin');
      const theirs = (await credential(server, someone.appId, someone.secret).getToken(`${server.url}/.default`)).token;
      const denied = await api(server, 'POST', '/coffer/admin/rotate-signing-key', undefined, theirs);
      assert.equal(denied.status, 403);
      assert.equal(denied.body!.error.code, 'AuthorizationFailed');

      const r = await coffer(cliHome(), ['admin', 'rotate-signing-key', '--data-dir', server.dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout) as { kid: string; retired: string[] };
      assert.deepEqual(result.retired, [oldKid]);
      assert.notEqual(result.kid, oldKid);

      assert.equal((await api(server, 'GET', `/subscriptions/${server.bootstrap.subscriptionId}?api-version=2022-12-01`, undefined, adminToken)).status, 200, 'a token from before still works');
      const fresh = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: server.bootstrap.clientId, client_secret: server.bootstrap.clientSecret, scope: `${server.url}/.default` }),
      });
      const newToken = ((await fresh.json()) as { access_token: string }).access_token;
      assert.equal(decodeProtectedHeader(newToken).kid, result.kid);
      const jwks = (await (await fetch(`${server.url}/${server.bootstrap.tenantId}/discovery/v2.0/keys`)).json()) as { keys: Array<{ kid: string }> };
      assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [oldKid, result.kid].sort());

      // Its output as any command's: -o and --query.
      const quiet = await coffer(cliHome(), ['admin', 'rotate-signing-key', '--data-dir', server.dataDir, '-o', 'none']);
      assert.deepEqual([quiet.code, quiet.stdout], [0, ''], quiet.stderr);
      const kid = await coffer(cliHome(), ['admin', 'rotate-signing-key', '--data-dir', server.dataDir, '--query', 'kid', '-o', 'tsv']);
      assert.match(kid.stdout, /^[0-9a-f]{20,}\n$/, kid.stderr);

      await server.restart();
      assert.equal((await api(server, 'GET', `/subscriptions/${server.bootstrap.subscriptionId}?api-version=2022-12-01`, undefined, newToken)).status, 200);
      assert.equal((await api(server, 'GET', `/subscriptions/${server.bootstrap.subscriptionId}?api-version=2022-12-01`, undefined, adminToken)).status, 200, 'and after a restart');

      await server.kill();
      const offline = await coffer(cliHome(), ['admin', 'rotate-signing-key', '--data-dir', server.dataDir]);
      assert.notEqual(offline.code, 0);
      assert.match(offline.stderr, /no coffer server is running/);
    } finally {
      await server.stop();
    }
  });
});
