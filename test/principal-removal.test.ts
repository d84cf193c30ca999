import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadKeyring } from '../src/crypto/keyring.js';
import { createTokenService, PRINCIPAL_RECHECK_SECONDS, TokenVerifyError, type TokenService } from '../src/identity/token-service.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { api, newServicePrincipal, setPolicy } from './support/access-kit.js';
import { vaultToken } from './support/audit-kit.js';
import { createVault, credential } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A principal deleted from the directory takes its tokens with it: at once on
// the server that deleted it, and within PRINCIPAL_RECHECK_SECONDS on any
// other (a cluster member, or this one after a restart). Entra's tokens live
// on until they expire; with an access policy, which names its principal's
// object id and is not removed with it, that would keep granting.

const TENANT = 'c0ffee00-0000-4000-8000-000000000001';
const ISSUER = `https://localhost/${TENANT}/v2.0`;
const AUD = 'https://vault.localhost';
const GONE = 'c0ffee00-0000-4000-8000-0000000000c1';
const KEPT = 'c0ffee00-0000-4000-8000-0000000000c2';

describe('tokens of a principal removed from the directory', () => {
  describe('token service', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-removal-'));
    const store = openSqliteStore({ file: join(dir, 'coffer.db') });
    const { keyring } = loadKeyring({ file: join(dir, 'master.key') });
    let t = 1_900_000_000;
    const directory = new Set([GONE, KEPT]);
    let lookups = 0;
    /** Set to hold the next lookup's answer until released (a slow store). */
    let hold: Promise<void> | null = null;
    /** Called when a held lookup has read its answer. */
    let onHeld: () => void = () => {};
    let service: TokenService;
    const issue = async (objectId: string) => (await service.issue({ objectId, appId: 'app', audience: AUD, kind: 'app' })).token;
    const revoked = (p: Promise<unknown>) => assert.rejects(p, (err: unknown) => err instanceof TokenVerifyError && err.reason === 'revoked');

    before(async () => {
      service = await createTokenService({
        store: store.signingKeys,
        keyring,
        issuer: ISSUER,
        tenantId: TENANT,
        lifetimeSeconds: 3600,
        now: () => t,
        principalExists: async (id) => {
          lookups++;
          const found = directory.has(id);
          if (hold) {
            onHeld();
            await hold;
          }
          return found;
        },
      });
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('is refused once the principal is looked up again, and at once where it was forgotten; others are untouched', async () => {
      const gone = await issue(GONE);
      const kept = await issue(KEPT);
      assert.equal((await service.verify(gone, [AUD])).objectId, GONE);
      assert.equal((await service.verify(kept, [AUD])).objectId, KEPT);
      assert.equal(lookups, 2, 'looked up when first seen');
      await service.verify(gone, [AUD]);
      assert.equal(lookups, 2, 'not again while the check is fresh');

      // Deleted elsewhere (another member): trusted until the check is due, then refused, and stays refused.
      directory.delete(GONE);
      t += PRINCIPAL_RECHECK_SECONDS - 1;
      assert.equal((await service.verify(gone, [AUD])).objectId, GONE);
      t += 1;
      await revoked(service.verify(gone, [AUD]));
      await revoked(service.verify(gone, [AUD]));
      assert.equal((await service.verify(kept, [AUD])).objectId, KEPT);
      // A token first seen after the deletion (a restart, another member) is refused at once.
      await revoked(service.verify(await issue(GONE), [AUD]));

      // Deleted here: forgotten at once, before any check is due.
      const again = await issue(KEPT);
      await service.verify(again, [AUD]);
      directory.delete(KEPT);
      service.forgetPrincipal(KEPT.toUpperCase());
      await revoked(service.verify(again, [AUD]));
    });

    it('a lookup overtaken by the removal of its principal does not let the token in', async () => {
      const LATE = 'c0ffee00-0000-4000-8000-0000000000c3';
      directory.add(LATE);
      const token = await issue(LATE);
      let release!: () => void;
      hold = new Promise<void>((r) => (release = r));
      const looked = new Promise<void>((r) => (onHeld = r));
      // Its principal is found, and the answer is on its way while the principal is removed here.
      const verifying = service.verify(token, [AUD]);
      await looked;
      hold = null;
      directory.delete(LATE);
      service.forgetPrincipal(LATE);
      release();
      await revoked(verifying);
      await revoked(service.verify(token, [AUD]));
    });
  });

  describe('on a server', () => {
    let server: TestServer;
    const vault = 'removal-vault';
    const sub = () => `/subscriptions/${server.bootstrap.subscriptionId}`;

    before(async () => {
      server = await startTestServer();
      await createVault(server, vault, { enableRbacAuthorization: false });
    });
    after(() => server?.stop());

    it("a deleted service principal's data-plane and management tokens stop working at once, though its access policy stays", async () => {
      const sp = await newServicePrincipal(server, 'removed-reader');
      const vaultId = `${sub()}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/${vault}`;
      assert.equal((await setPolicy(server, vaultId, 'add', sp.id, ['get'])).status, 200);
      await api(server, 'PUT', `${sub()}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/${vault}/secrets/kept?api-version=2023-07-01`, { properties: { value: 'v1' } });
      const dataToken = await vaultToken(server, sp.appId, sp.secret);
      const armToken = (await credential(server, sp.appId, sp.secret).getToken(`${server.url}/.default`)).token;
      const read = () => fetch(`${server.vaultUrl(vault)}/secrets/kept?api-version=7.6`, { headers: { authorization: `Bearer ${dataToken}` } });
      assert.equal((await read()).status, 200);
      assert.equal((await api(server, 'GET', `${sub()}/resourcegroups?api-version=2021-04-01`, undefined, armToken)).status, 200);

      assert.equal((await api(server, 'DELETE', `/v1.0/servicePrincipals/${sp.id}`)).status, 204);
      const refused = await read();
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer authorization=/);
      assert.equal(((await refused.json()) as { error: { message: string } }).error.message, 'The token was issued to a principal that is no longer in the directory.');
      const management = await api(server, 'GET', `${sub()}/resourcegroups?api-version=2021-04-01`, undefined, armToken);
      assert.equal(management.status, 401);
      assert.equal(management.body!.error.code, 'InvalidAuthenticationToken');
      // The policy naming it is still there (as in Azure): it is the token that no longer counts.
      const stored = await api(server, 'GET', `${vaultId}?api-version=2023-07-01`);
      assert.ok((stored.body!.properties.accessPolicies as Array<{ objectId: string }>).some((p) => p.objectId === sp.id));
    });
  });
});
