import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach } from 'node:test';
import { createKeyring, type Keyring } from '../../src/crypto/keyring.js';
import { openCredentialHasher } from '../../src/identity/credential-pepper.js';
import { CREDENTIAL_PEPPER_SETTING, openPeppers, pendingTag, readPepperRow, withNewGeneration } from '../../src/identity/credential-pepper-row.js';
import { createDirectoryService } from '../../src/identity/directory-service.js';
import { watchCredentialWrites } from '../../src/identity/own-credentials.js';
import { ownerId, type CredentialHasher } from '../../src/identity/password-hash.js';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store-types.js';

// A store with a credential pepper, a service principal and a user, made
// again for each test (credential-pepper-generations and -members tests).

export const PASSWORD = 'Generations password 1';
export const USER = 'gen@coffer.local';

export interface PepperFixture {
  store: Store;
  keyring: Keyring;
  /** This server's credential-pepper.json. */
  file: string;
  hasher: CredentialHasher;
  sp: { appId: string; secret: string; objectId: string };
}

export type OpenedHasher = Awaited<ReturnType<typeof openCredentialHasher>>;

/** Registers the hooks that make a fresh fixture for each test of the calling file, and returns it with its helpers. */
export function usePepperFixture() {
  const root = mkdtempSync(join(tmpdir(), 'coffer-pepper-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const f = {} as PepperFixture;
  const directory = (h: CredentialHasher, reloadPepper?: () => Promise<void>) =>
    createDirectoryService({ principals: f.store.principals, failures: f.store.signInFailures, hasher: h, reloadPepper });
  const clientWorks = async (h: CredentialHasher, appId: string, secret: string) => (await directory(h).authenticateClient(appId, secret, Math.floor(Date.now() / 1000))).ok;
  const storedSecret = async () => (await f.store.principals.listClientSecrets(f.sp.objectId))[0]!.secretHash;
  const peppers = async () => openPeppers(f.keyring, (await readPepperRow(f.store.settings))!.stored);
  const storedHashes = async () => {
    const out: Array<{ owner: string; hash: string }> = [];
    for (const p of await f.store.principals.list()) {
      if (p.passwordHash) out.push({ owner: ownerId({ objectId: p.objectId }), hash: p.passwordHash });
      if (p.kind === 'ServicePrincipal') for (const c of await f.store.principals.listClientSecrets(p.objectId)) out.push({ owner: ownerId({ objectId: p.objectId, keyId: c.keyId }), hash: c.secretHash });
    }
    return out;
  };
  const kit = {
    f,
    storedHashes,
    directory,
    clientWorks,
    storedSecret,
    peppers,
    signsIn: (h: CredentialHasher, secret = f.sp.secret) => clientWorks(h, f.sp.appId, secret),
    passwordWorks: async (h: CredentialHasher, password = PASSWORD) => (await directory(h).authenticateUser(USER, password, '10.0.0.1')).ok,
    plantSecret: async (hash: string) =>
      assert.ok(await f.store.principals.replaceCredentialHash(f.sp.objectId, (await f.store.principals.listClientSecrets(f.sp.objectId))[0]!.keyId, await storedSecret(), hash)),
    /** The row plantSecret writes to: a planted hash names it, as whoever plants one would. */
    spOwner: async () => ({ objectId: f.sp.objectId, keyId: (await f.store.principals.listClientSecrets(f.sp.objectId))[0]!.keyId }),
    /** Another member's renewal, written (listing the hashes stored now) but not yet converted. */
    renewalWritten: async (pepper = randomBytes(32)) => {
      const read = (await readPepperRow(f.store.settings))!;
      const pending = (await storedHashes()).map((h) => pendingTag(pepper, h.owner, h.hash));
      assert.ok(await f.store.settings.replace(CREDENTIAL_PEPPER_SETTING, read.raw, JSON.stringify(withNewGeneration(f.keyring, read.stored, await peppers(), pepper, pending))));
    },
    /** A cluster member's directory: it writes through the store that tells the member what it stored (start-server.ts). */
    memberDirectory: (member: OpenedHasher) =>
      createDirectoryService({ principals: watchCredentialWrites(f.store.principals, member.own), failures: f.store.signInFailures, hasher: member.hasher }),
  };
  beforeEach(async () => {
    const dir = mkdtempSync(join(root, 'db-'));
    f.store = openSqliteStore({ file: join(dir, 'coffer.db') });
    f.keyring = createKeyring(randomBytes(32));
    f.file = join(dir, 'credential-pepper.json');
    f.hasher = (await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, f.file)).hasher;
    const made = await directory(f.hasher).createServicePrincipal({ displayName: 'gen-sp' });
    f.sp = { appId: made.principal.appId!, secret: made.credential.secret, objectId: made.principal.objectId };
    await directory(f.hasher).createUser({ upn: USER, displayName: 'Gen', password: PASSWORD });
  });
  afterEach(() => f.store.close());
  return kit;
}
