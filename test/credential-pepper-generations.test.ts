import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { createKeyring, type Keyring } from '../src/crypto/keyring.js';
import { wrapInto } from '../src/crypto/wrapped-setting.js';
import { bindUnboundHashes, CredentialPepperChangedError, openCredentialHasher, recordCredentialPepper, renewCredentialPepper } from '../src/identity/credential-pepper.js';
import { CREDENTIAL_PEPPER_SETTING, openPeppers, pepperAad, pepperLink, pendingTag, readPepperRow, withNewGeneration } from '../src/identity/credential-pepper-row.js';
import { createDirectoryService } from '../src/identity/directory-service.js';
import { createCredentialHasher, ownerId, type CredentialHasher } from '../src/identity/password-hash.js';
import { createOwnCredentials, watchCredentialWrites } from '../src/identity/own-credentials.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../src/storage/store-types.js';

// The credential pepper's generations (identity/credential-pepper*.ts): a
// renewal keys every stored hash again under the new generation; what the
// previous pepper alone can make stops matching; the row's generations
// must link to each other and not go back.

const root = mkdtempSync(join(tmpdir(), 'coffer-pepper-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('credential pepper generations', () => {
  let store: Store;
  let keyring: Keyring;
  let file: string;
  let hasher: CredentialHasher;
  let sp: { appId: string; secret: string; objectId: string };
  const PASSWORD = 'generations password';

  const directory = (h: CredentialHasher, reloadPepper?: () => Promise<void>) =>
    createDirectoryService({ principals: store.principals, failures: store.signInFailures, hasher: h, reloadPepper });
  const signsIn = async (h: CredentialHasher, secret = sp.secret) => (await directory(h).authenticateClient(sp.appId, secret, Math.floor(Date.now() / 1000))).ok;
  const passwordWorks = async (h: CredentialHasher, password = PASSWORD) => (await directory(h).authenticateUser('gen@coffer.local', password, '10.0.0.1')).ok;
  const storedSecret = async () => (await store.principals.listClientSecrets(sp.objectId))[0]!.secretHash;
  const plantSecret = async (hash: string) => assert.ok(await store.principals.replaceCredentialHash(sp.objectId, (await store.principals.listClientSecrets(sp.objectId))[0]!.keyId, await storedSecret(), hash));
  const peppers = async () => openPeppers(keyring, (await readPepperRow(store.settings))!.stored);
  const storedHashes = async () => {
    const out: Array<{ owner: string; hash: string }> = [];
    for (const p of await store.principals.list()) {
      if (p.passwordHash) out.push({ owner: ownerId({ objectId: p.objectId }), hash: p.passwordHash });
      if (p.kind === 'ServicePrincipal') for (const c of await store.principals.listClientSecrets(p.objectId)) out.push({ owner: ownerId({ objectId: p.objectId, keyId: c.keyId }), hash: c.secretHash });
    }
    return out;
  };
  /** The row plantSecret writes to: a planted hash names it, as whoever plants one would. */
  const spOwner = async () => ({ objectId: sp.objectId, keyId: (await store.principals.listClientSecrets(sp.objectId))[0]!.keyId });
  /** Another member's renewal, written (listing the hashes stored now) but not yet converted. */
  const renewalWritten = async (pepper = randomBytes(32)) => {
    const read = (await readPepperRow(store.settings))!;
    const pending = (await storedHashes()).map((h) => pendingTag(pepper, h.owner, h.hash));
    assert.ok(await store.settings.replace(CREDENTIAL_PEPPER_SETTING, read.raw, JSON.stringify(withNewGeneration(keyring, read.stored, await peppers(), pepper, pending))));
  };

  beforeEach(async () => {
    const dir = mkdtempSync(join(root, 'db-'));
    store = openSqliteStore({ file: join(dir, 'coffer.db') });
    keyring = createKeyring(randomBytes(32));
    file = join(dir, 'credential-pepper.json');
    hasher = (await openCredentialHasher(store.settings, store.principals, keyring, file)).hasher;
    const made = await directory(hasher).createServicePrincipal({ displayName: 'gen-sp' });
    sp = { appId: made.principal.appId!, secret: made.credential.secret, objectId: made.principal.objectId };
    await directory(hasher).createUser({ upn: 'gen@coffer.local', displayName: 'Gen', password: PASSWORD });
  });
  afterEach(() => store.close());

  it('a renewal keys every hash again; the old pepper alone then makes no hash that matches', async () => {
    const [p0] = await peppers();
    const oldHasher = createCredentialHasher(p0!);
    // Before the renewal, the pepper's holder can make a working hash: what the renewal must end.
    const chosen = 'a secret of my own choosing';
    const original = await storedSecret();
    await plantSecret(oldHasher.hashClientSecret(chosen, await spOwner()));
    assert.equal(await signsIn(hasher, chosen), true);
    await plantSecret(original);

    assert.equal(await renewCredentialPepper(store.settings, store.principals, keyring, hasher), true);
    assert.equal(hasher.generation, 1);
    assert.match(await storedSecret(), /^hmac-sha256@0\.1\/0\$/);
    assert.equal(await signsIn(hasher), true);
    assert.equal(await passwordWorks(hasher), true);
    assert.equal(await passwordWorks(hasher, 'not it'), false);

    const [, p1] = await peppers();
    assert.ok(p1 && !p1.equals(p0!));
    // What the old pepper's holder can write: a hash of generation 0, one labelled as a later generation, one "layered" with the old pepper again.
    const labelled = createCredentialHasher({ peppers: [p0!, p0!], converting: false });
    for (const forged of [oldHasher.hashClientSecret(chosen, await spOwner()), labelled.hashClientSecret(chosen, await spOwner()), labelled.layer(oldHasher.hashClientSecret(chosen, await spOwner()), await spOwner())!]) {
      await plantSecret(forged);
      assert.equal(await signsIn(hasher, chosen), false, forged);
    }
    await plantSecret(original);
    assert.equal(await signsIn(hasher, chosen), false);
    // A restart keys nothing again: the old pepper's hash stays refused.
    await plantSecret(oldHasher.hashClientSecret(chosen, await spOwner()));
    const reopened = (await openCredentialHasher(store.settings, store.principals, keyring, file)).hasher;
    assert.equal(await signsIn(reopened, chosen), false);
    assert.equal(await passwordWorks(reopened), true);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { generation: number }).generation, 1);
  });

  it('new credentials take the current generation; tokens hashed before a renewal match nothing after it', async () => {
    const before = hasher.tokenHash('refresh-token', 'rt');
    await renewCredentialPepper(store.settings, store.principals, keyring, hasher);
    await renewCredentialPepper(store.settings, store.principals, keyring, hasher);
    assert.notEqual(hasher.tokenHash('refresh-token', 'rt'), before);
    const added = await directory(hasher).addClientSecret(sp.objectId, {});
    const hashes = (await store.principals.listClientSecrets(sp.objectId)).map((s) => s.secretHash).sort();
    assert.deepEqual(hashes.map((h) => h.split('$')[0]).sort(), ['hmac-sha256@0.2/0', 'hmac-sha256@2.2/2']);
    assert.equal(await signsIn(hasher, added.secret), true);
    assert.equal(await signsIn(hasher), true);
  });

  it('a renewal cut short before its conversion is finished by the next start', async () => {
    await renewalWritten();
    const opened = await openCredentialHasher(store.settings, store.principals, keyring, file);
    assert.equal(opened.converted, 2, 'the client secret and the user\'s password');
    assert.equal(await signsIn(opened.hasher), true);
    assert.equal(await passwordWorks(opened.hasher), true);
    assert.equal((await readPepperRow(store.settings))!.stored.converted, true);
  });

  it('a cluster member that meets a hash of a newer generation reads the generations again', async () => {
    const member = await openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'member-b.json'));
    await renewCredentialPepper(store.settings, store.principals, keyring, hasher);
    assert.equal(await signsIn(member.hasher), false, 'without reading them again');
    const withReload = directory(member.hasher, () => member.reload(keyring));
    assert.equal((await withReload.authenticateClient(sp.appId, sp.secret, Math.floor(Date.now() / 1000))).ok, true);
    assert.equal(member.hasher.generation, 1);
    assert.equal((await withReload.authenticateUser('gen@coffer.local', PASSWORD, '10.0.0.2')).ok, true);
  });

  it("a member that read a renewal while its conversion ran takes the previous generation's hashes only until it reads again", async () => {
    const [p0] = await peppers();
    const member = await openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'member-c.json'));
    await renewalWritten();
    await member.reload(keyring);
    assert.equal(member.hasher.generation, 1);
    assert.equal(await signsIn(member.hasher), true, 'a hash not yet converted still verifies meanwhile');
    // The conversion ends (the other member's start finishing it); then a hash of generation 0 is planted.
    await openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'member-d.json'));
    const chosen = 'planted after the conversion';
    await plantSecret(createCredentialHasher(p0!).hashClientSecret(chosen, await spOwner()));
    await member.reload(keyring);
    assert.equal(await signsIn(member.hasher, chosen), false);
  });

  it("a member's reads of the generations are applied in turn: a slow read of an older state is not taken for a row put back", async () => {
    // The member's settings: the next read of the pepper's row returns what it held then, 50 ms later.
    let slowNext = false;
    const settings = Object.create(store.settings) as typeof store.settings;
    settings.get = async (key) => {
      const value = await store.settings.get(key);
      if (slowNext && key === CREDENTIAL_PEPPER_SETTING) {
        slowNext = false;
        await new Promise((r) => setTimeout(r, 50));
      }
      return value;
    };
    const member = await openCredentialHasher(settings, store.principals, keyring, join(dirname(file), 'member-i.json'));
    await renewalWritten();
    slowNext = true;
    const converting = member.reload(keyring);
    // Meanwhile the conversion ends (another member's start finishes it), and the member reads again.
    await openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'member-j.json'));
    await Promise.all([converting, member.reload(keyring)]);
    assert.equal(member.hasher.generations.converting, false);
    assert.equal(await signsIn(member.hasher), true);
  });

  it('reads asked for while one runs share one read after it, which sees what was stored before they asked', async () => {
    let reads = 0;
    let slowNext = false;
    const settings = Object.create(store.settings) as typeof store.settings;
    settings.get = async (key) => {
      const value = await store.settings.get(key);
      if (key === CREDENTIAL_PEPPER_SETTING) reads++;
      if (slowNext && key === CREDENTIAL_PEPPER_SETTING) {
        slowNext = false;
        await new Promise((r) => setTimeout(r, 50));
      }
      return value;
    };
    const member = await openCredentialHasher(settings, store.principals, keyring, join(dirname(file), 'member-l.json'));
    reads = 0;
    slowNext = true;
    const first = member.reload(keyring);
    await new Promise((r) => setImmediate(r));
    await renewalWritten();
    const joined = [member.reload(keyring), member.reload(keyring), member.reload(keyring)];
    await Promise.all([first, ...joined]);
    assert.equal(member.hasher.generation, 1, 'the shared read came after the renewal');
    assert.equal(reads, 2, 'the first read and one shared by the three after it');
  });

  it('a hash planted under the previous generation while a renewal is unfinished neither verifies nor is converted by the start that finishes it', async () => {
    const chosen = 'planted during the conversion';
    const original = await storedSecret();
    await renewalWritten();
    const reader = createCredentialHasher({ peppers: await peppers(), converting: true, pending: new Set((await readPepperRow(store.settings))!.stored.pending) });
    assert.equal(await signsIn(reader), true, 'a listed hash of the previous generation verifies meanwhile');
    // Whoever holds the previous pepper (the old master key and a copy) writes a hash of their own.
    await plantSecret(createCredentialHasher((await peppers())[0]!).hashClientSecret(chosen, await spOwner()));
    assert.equal(await signsIn(reader, chosen), false, 'not listed: refused even while converting');
    const opened = await openCredentialHasher(store.settings, store.principals, keyring, file);
    assert.equal(opened.converted, 1, "only the user's password: the planted secret was not listed");
    assert.equal(await signsIn(opened.hasher, chosen), false, 'the start did not key the planted hash again');
    assert.equal(await passwordWorks(opened.hasher), true);
    await plantSecret(original);
  });

  it('the first conversion (hashes from before the pepper) also keys only those stored when the pepper was made', async () => {
    const unkeyed = (secret: string) => 'sha256$' + createHash('sha256').update(secret).digest('base64');
    await plantSecret(unkeyed(sp.secret));
    // A first start cut short: the pepper stored with its list, nothing converted yet.
    const pepper = randomBytes(32);
    const row = { ...wrapInto(keyring, pepper, pepperAad(0, false, true), { converted: false }), pending: [pendingTag(pepper, ownerId(await spOwner()), await storedSecret())] };
    await store.settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify(row));
    const later = await directory(hasher).createServicePrincipal({ displayName: 'planted-later' });
    const laterKey = (await store.principals.listClientSecrets(later.principal.objectId))[0]!;
    assert.ok(await store.principals.replaceCredentialHash(later.principal.objectId, laterKey.keyId, laterKey.secretHash, unkeyed('chosen')));
    const opened = await openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'first.json'));
    assert.equal(opened.converted, 1);
    assert.equal(await signsIn(opened.hasher), true);
    assert.equal((await directory(opened.hasher).authenticateClient(later.principal.appId!, 'chosen', Math.floor(Date.now() / 1000))).ok, false);
    assert.match((await store.principals.listClientSecrets(later.principal.objectId))[0]!.secretHash, /^sha256\$/, 'left as planted');
  });

  it('a conversion whose list was deleted from the row does not open: the list cannot be dropped to have every hash converted', async () => {
    await renewalWritten();
    const { pending: _dropped, ...unlisted } = (await readPepperRow(store.settings))!.stored;
    await store.settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify(unlisted));
    await assert.rejects(openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'unlisted.json')), /does not open under the master key/);
  });

  it('a list of hashes to convert that is not a list of tags stops the start, saying why', async () => {
    await renewalWritten();
    const read = (await readPepperRow(store.settings))!;
    for (const pending of [5, 'tag', [1, 2], { a: 'b' }]) {
      await store.settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify({ ...read.stored, pending }));
      await assert.rejects(openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'malformed.json')), /list of hashes to convert is not a list of tags/);
    }
  });

  it('a converting row put back after its conversion was done stops the start, is refused by a running member, and lets no planted hash in', async () => {
    await renewalWritten();
    const captured = (await readPepperRow(store.settings))!.raw;
    const member = await openCredentialHasher(store.settings, store.principals, keyring, file);
    assert.equal((await readPepperRow(store.settings))!.stored.converted, true);
    const previous = createCredentialHasher({ peppers: (await peppers()).slice(0, 1), converting: false });
    await plantSecret(previous.hashClientSecret('replayed', await spOwner()));
    await store.settings.set(CREDENTIAL_PEPPER_SETTING, captured);
    await assert.rejects(member.reload(keyring), /converting to generation 1 again/);
    assert.equal(member.hasher.generations.converting, false);
    await assert.rejects(openCredentialHasher(store.settings, store.principals, keyring, file), (err: Error) => err instanceof CredentialPepperChangedError && /converting to generation 1 again/.test(err.message));
    // A data dir that never saw the conversion (a new member) still takes none of the hashes planted since.
    const fresh = await openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'member-f.json'));
    assert.equal(await signsIn(fresh.hasher, 'replayed'), false);
  });

  it('a running member refuses a generation it holds replaced by another pepper linked to the one before', async () => {
    await renewCredentialPepper(store.settings, store.principals, keyring, hasher);
    const member = await openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'member-g.json'));
    const [p0] = await peppers();
    // Whoever holds the previous pepper and a master key still in the keyring (a rolling rotation's old one).
    const theirs = randomBytes(32);
    const current = (await readPepperRow(store.settings))!.stored;
    const replaced = { ...current, ...wrapInto(keyring, theirs, pepperAad(1, true), {}), link: pepperLink(p0!, 1, theirs) };
    await store.settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify(replaced));
    await assert.rejects(member.reload(keyring), /of generation 1 is another than this server holds/);
    await plantSecret(createCredentialHasher({ peppers: [p0!, theirs], converting: false }).hashClientSecret('theirs', await spOwner()));
    assert.equal(await signsIn(member.hasher, 'theirs'), false);
    await assert.rejects(openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'member-g.json')), CredentialPepperChangedError);
  });

  it('a client secret this server makes while a renewal lists the stored hashes is converted with them', async () => {
    const d = directory(hasher);
    let made: string | null = null;
    const principals = Object.create(store.principals) as typeof store.principals;
    principals.listClientSecrets = async (objectId) => {
      const listed = await store.principals.listClientSecrets(objectId);
      // After the listing read, before the new generation is stored: made under the previous one.
      if (made === null && objectId === sp.objectId) made = (await d.addClientSecret(sp.objectId, {})).secret;
      return listed;
    };
    await renewCredentialPepper(store.settings, principals, keyring, hasher);
    assert.ok(made);
    assert.equal(hasher.generation, 1);
    assert.equal(await signsIn(hasher, made), true);
    assert.equal(await signsIn((await openCredentialHasher(store.settings, store.principals, keyring, file)).hasher, made), true);
  });

  /** A cluster member's directory: it writes through the store that tells the member what it stored (start-server.ts). */
  const memberDirectory = (member: Awaited<ReturnType<typeof openCredentialHasher>>) =>
    createDirectoryService({ principals: watchCredentialWrites(store.principals, member.own), failures: store.signInFailures, hasher: member.hasher });
  const clientWorks = async (h: CredentialHasher, appId: string, secret: string) => (await directory(h).authenticateClient(appId, secret, Math.floor(Date.now() / 1000))).ok;

  it('credentials another member stores before it reads a renewal are keyed again by that member when it reads it', async () => {
    const member = await openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'member-h.json'));
    const d = memberDirectory(member);
    const user = (await store.principals.getByUpn('gen@coffer.local'))!;
    // Renewed and converted by another member; this one has not read it yet.
    await renewCredentialPepper(store.settings, store.principals, keyring, hasher);
    const added = await d.addClientSecret(sp.objectId, {});
    await d.setUserPassword(user.objectId, 'set on the other member');
    const made = await d.createServicePrincipal({ displayName: 'made-sp' });
    assert.equal(await signsIn(hasher, added.secret), false, "not in the renewal's list");
    assert.equal(await passwordWorks(hasher, 'set on the other member'), false);
    // Made before the member reads the renewal, stored after it.
    const lateOwner = { objectId: made.principal.objectId, keyId: randomUUID() };
    const late = { ...lateOwner, secretHash: member.hasher.hashClientSecret('stored late', lateOwner), hint: 'sto', displayName: null, startAt: 0, endAt: 2 ** 31 };

    await member.reload(keyring);
    assert.equal(member.hasher.generation, 1);
    await member.settled();
    for (const h of [hasher, member.hasher]) {
      assert.equal(await signsIn(h, added.secret), true);
      assert.equal(await passwordWorks(h, 'set on the other member'), true);
      assert.equal(await clientWorks(h, made.principal.appId!, made.credential.secret), true);
    }
    await watchCredentialWrites(store.principals, member.own).addClientSecret(late);
    const deadline = Date.now() + 2_000;
    while (!(await clientWorks(hasher, made.principal.appId!, 'stored late')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await clientWorks(hasher, made.principal.appId!, 'stored late'), true, 'keyed again as it is stored');
  });

  it('no read of the generations, and so no sign-in, waits for a catch-up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const principals = {
      ...store.principals,
      async replaceCredentialHash(...args: Parameters<Store['principals']['replaceCredentialHash']>) {
        await gate;
        return store.principals.replaceCredentialHash(...args);
      },
    };
    const member = await openCredentialHasher(store.settings, principals, keyring, join(dirname(file), 'member-m.json'));
    await renewCredentialPepper(store.settings, store.principals, keyring, hasher);
    const added = await memberDirectory(member).addClientSecret(sp.objectId, {});
    await member.reload(keyring);
    // The catch-up of `added` now waits on the gate; later reads go on.
    const within = (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 1_000))]);
    assert.equal(await within(member.reload(keyring)), true, 'a read after it is not held up');
    assert.equal(await within(member.settled()), false, 'the catch-up is');
    release();
    await member.settled();
    assert.equal(await signsIn(hasher, added.secret), true);
  });

  it('what a member keys again is only its newest credential per row, once: a superseded or removed one written back after a renewal stays refused', async () => {
    const [p0] = await peppers();
    const member = await openCredentialHasher(store.settings, store.principals, keyring, join(dirname(file), 'member-k.json'));
    const d = memberDirectory(member);
    const user = (await store.principals.getByUpn('gen@coffer.local'))!;
    // Known to an attacker who can write the database: a password reset since, a client secret removed since.
    await d.setUserPassword(user.objectId, 'leaked password');
    const leakedPassword = (await store.principals.get(user.objectId))!.passwordHash!;
    await d.setUserPassword(user.objectId, 'the new password');
    const removed = await d.addClientSecret(sp.objectId, {});
    const removedRow = (await store.principals.listClientSecrets(sp.objectId)).find((c) => c.keyId === removed.keyId)!;
    assert.ok(await d.removeClientSecret(sp.objectId, removed.keyId));
    // And a secret the member stored, whose row the attacker overwrites with a hash of their own under the old pepper.
    const kept = await d.addClientSecret(sp.objectId, {});
    const keptOwner = { objectId: sp.objectId, keyId: kept.keyId };

    await renewCredentialPepper(store.settings, store.principals, keyring, hasher);
    assert.ok(await store.principals.replaceCredentialHash(user.objectId, null, (await store.principals.get(user.objectId))!.passwordHash!, leakedPassword));
    await store.principals.addClientSecret(removedRow);
    const chosen = 'planted under the previous pepper';
    assert.ok(await store.principals.replaceCredentialHash(sp.objectId, kept.keyId, (await store.principals.listClientSecrets(sp.objectId)).find((c) => c.keyId === kept.keyId)!.secretHash, createCredentialHasher(p0!).hashClientSecret(chosen, keptOwner)));

    await member.reload(keyring);
    await member.reload(keyring);
    await member.settled();
    for (const h of [hasher, member.hasher]) {
      assert.equal(await passwordWorks(h, 'leaked password'), false);
      assert.equal(await signsIn(h, removed.secret), false);
      assert.equal(await signsIn(h, chosen), false);
    }
  });

  it('hashes made before binding are bound by one renewal at start; a data dir that recorded it reads no hashes again', async () => {
    const [p0] = await peppers();
    // As a build before binding stored it: generation 0, no row named.
    const legacy = 'hmac-sha256$' + createHmac('sha256', p0!).update('client-secret\0').update(createHash('sha256').update('legacy').digest()).digest('base64');
    await plantSecret(legacy);
    const victim = await directory(hasher).createServicePrincipal({ displayName: 'victim' });
    const victimRow = (await store.principals.listClientSecrets(victim.principal.objectId))[0]!;
    const asVictim = () => clientWorks(hasher, victim.principal.appId!, 'legacy');
    const copyToVictim = async (hash: string) => {
      const now = (await store.principals.listClientSecrets(victim.principal.objectId))[0]!.secretHash;
      assert.ok(await store.principals.replaceCredentialHash(victim.principal.objectId, victimRow.keyId, now, hash));
    };
    // The hole: copied into another principal's row, it signs in as that principal.
    await copyToVictim(legacy);
    assert.equal(await asVictim(), true);
    await copyToVictim(victimRow.secretHash);

    const fresh = join(dirname(file), 'member-n.json');
    assert.equal(await bindUnboundHashes(store.settings, store.principals, keyring, hasher, file), 1);
    assert.equal(hasher.generation, 1, 'renewed once');
    assert.equal(await signsIn(hasher, 'legacy'), true, 'bound to its own row');
    await copyToVictim(await storedSecret());
    assert.equal(await asVictim(), false, 'a copy of the bound hash signs in as nobody');
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { bound?: boolean }).bound, true);
    // Recorded: not read again; a data dir without the record reads them, finds none unbound, and renews nothing.
    assert.equal(await bindUnboundHashes(store.settings, store.principals, keyring, hasher, file), 0);
    await recordCredentialPepper(store.settings, keyring, file);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { bound?: boolean }).bound, true, 'kept when the record is written again');
    const member = await openCredentialHasher(store.settings, store.principals, keyring, fresh);
    assert.equal(await bindUnboundHashes(store.settings, store.principals, keyring, member.hasher, fresh), 0);
    assert.equal(hasher.generation, 1);
    assert.equal((await peppers()).length, 2);
  });

  it('a password reset or secret removed through this server while its conversion runs, written back, neither verifies nor is converted', async () => {
    const own = createOwnCredentials(store.principals, hasher, (err) => assert.fail(err));
    const d = createDirectoryService({ principals: watchCredentialWrites(store.principals, own), failures: store.signInFailures, hasher });
    const user = (await store.principals.getByUpn('gen@coffer.local'))!;
    const oldPassword = user.passwordHash!;
    const secretRow = (await store.principals.listClientSecrets(sp.objectId))[0]!;
    // This server's renewal, stored and listing both; its conversion has not reached them yet.
    await renewalWritten();
    hasher.use({ peppers: await peppers(), converting: true, pending: new Set((await readPepperRow(store.settings))!.stored.pending) });
    assert.equal(await passwordWorks(hasher), true, 'listed: verifies while the conversion runs');
    await d.setUserPassword(user.objectId, 'reset during the conversion');
    assert.ok(await d.removeClientSecret(sp.objectId, secretRow.keyId));
    // Written back by someone who knows them.
    assert.ok(await store.principals.replaceCredentialHash(user.objectId, null, (await store.principals.get(user.objectId))!.passwordHash!, oldPassword));
    await store.principals.addClientSecret(secretRow);
    assert.equal(await passwordWorks(hasher), false);
    assert.equal(await signsIn(hasher), false);
    // This server's conversion goes on (a renewal finishes it first, then renews again): neither is keyed again.
    await renewCredentialPepper(store.settings, store.principals, keyring, hasher);
    assert.equal((await store.principals.get(user.objectId))!.passwordHash, oldPassword, 'not converted');
    assert.equal(await passwordWorks(hasher), false);
    assert.equal(await signsIn(hasher), false);
    assert.equal(await passwordWorks(hasher, 'reset during the conversion'), false, 'the row holds the old hash now');
  });

  it('a generation not linked to the one before, or a row put back to an earlier generation, stops the start', async () => {
    await renewCredentialPepper(store.settings, store.principals, keyring, hasher);
    const afterFirst = (await readPepperRow(store.settings))!.raw;
    await renewCredentialPepper(store.settings, store.principals, keyring, hasher);
    // As a server records its own renewal in its data dir.
    await recordCredentialPepper(store.settings, keyring, file);
    const current = (await readPepperRow(store.settings))!;
    // A generation appended by someone who can wrap under the keyring but holds no earlier pepper.
    const planted = { ...current.stored, ...wrapInto(keyring, randomBytes(32), pepperAad(3, true), {}), generation: 3, link: randomBytes(32).toString('base64'), earlier: [...current.stored.earlier!, { keyId: current.stored.keyId, sealed: current.stored.sealed, generation: 2, link: current.stored.link }] };
    await store.settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify(planted));
    await assert.rejects(openCredentialHasher(store.settings, store.principals, keyring, file), /generation 3 was not made by its previous generation's holder/);
    // The row as it was after the first renewal: it opens, but this data dir used generation 2.
    await store.settings.set(CREDENTIAL_PEPPER_SETTING, afterFirst);
    await assert.rejects(openCredentialHasher(store.settings, store.principals, keyring, file), (err: Error) => err instanceof CredentialPepperChangedError && /at generation 1, but this data dir used generation 2/.test(err.message));
    await store.settings.set(CREDENTIAL_PEPPER_SETTING, current.raw);
    assert.equal(await signsIn((await openCredentialHasher(store.settings, store.principals, keyring, file)).hasher), true);
  });
});
