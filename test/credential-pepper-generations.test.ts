import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { wrapInto } from '../src/crypto/wrapped-setting.js';
import { bindUnboundHashes, CredentialPepperChangedError, openCredentialHasher, recordCredentialPepper, renewCredentialPepper } from '../src/identity/credential-pepper.js';
import { CREDENTIAL_PEPPER_SETTING, pepperAad, pepperLink, pendingTag, readPepperRow } from '../src/identity/credential-pepper-row.js';
import { createDirectoryService } from '../src/identity/directory-service.js';
import { createCredentialHasher, ownerId } from '../src/identity/password-hash.js';
import { createOwnCredentials, watchCredentialWrites } from '../src/identity/own-credentials.js';
import { usePepperFixture } from './support/pepper-fixture.js';

// The credential pepper's generations (identity/credential-pepper*.ts): a
// renewal keys every stored hash again under the new generation; what the
// previous pepper alone can make stops matching; the row's generations
// must link to each other and not go back. How a cluster's members follow
// each other's renewals: credential-pepper-members.test.ts.

describe('credential pepper generations', () => {
  const { f, directory, signsIn, passwordWorks, clientWorks, storedSecret, plantSecret, peppers, spOwner, renewalWritten } = usePepperFixture();

  it('a renewal keys every hash again; the old pepper alone then makes no hash that matches', async () => {
    const [p0] = await peppers();
    const oldHasher = createCredentialHasher(p0!);
    // Before the renewal, the pepper's holder can make a working hash: what the renewal must end.
    const chosen = 'a secret of my own choosing';
    const original = await storedSecret();
    await plantSecret(oldHasher.hashClientSecret(chosen, await spOwner()));
    assert.equal(await signsIn(f.hasher, chosen), true);
    await plantSecret(original);

    assert.equal(await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher), true);
    assert.equal(f.hasher.generation, 1);
    assert.match(await storedSecret(), /^hmac-sha256@0\.1\/0\$/);
    assert.equal(await signsIn(f.hasher), true);
    assert.equal(await passwordWorks(f.hasher), true);
    assert.equal(await passwordWorks(f.hasher, 'not it'), false);

    const [, p1] = await peppers();
    assert.ok(p1 && !p1.equals(p0!));
    // What the old pepper's holder can write: a hash of generation 0, one labelled as a later generation, one "layered" with the old pepper again.
    const labelled = createCredentialHasher({ peppers: [p0!, p0!], converting: false });
    for (const forged of [oldHasher.hashClientSecret(chosen, await spOwner()), labelled.hashClientSecret(chosen, await spOwner()), labelled.layer(oldHasher.hashClientSecret(chosen, await spOwner()), await spOwner())!]) {
      await plantSecret(forged);
      assert.equal(await signsIn(f.hasher, chosen), false, forged);
    }
    await plantSecret(original);
    assert.equal(await signsIn(f.hasher, chosen), false);
    // A restart keys nothing again: the old pepper's hash stays refused.
    await plantSecret(oldHasher.hashClientSecret(chosen, await spOwner()));
    const reopened = (await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, f.file)).hasher;
    assert.equal(await signsIn(reopened, chosen), false);
    assert.equal(await passwordWorks(reopened), true);
    assert.equal((JSON.parse(readFileSync(f.file, 'utf8')) as { generation: number }).generation, 1);
  });

  it('new credentials take the current generation; tokens hashed before a renewal match nothing after it', async () => {
    const before = f.hasher.tokenHash('refresh-token', 'rt');
    await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher);
    await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher);
    assert.notEqual(f.hasher.tokenHash('refresh-token', 'rt'), before);
    const added = await directory(f.hasher).addClientSecret(f.sp.objectId, {});
    const hashes = (await f.store.principals.listClientSecrets(f.sp.objectId)).map((s) => s.secretHash).sort();
    assert.deepEqual(hashes.map((h) => h.split('$')[0]).sort(), ['hmac-sha256@0.2/0', 'hmac-sha256@2.2/2']);
    assert.equal(await signsIn(f.hasher, added.secret), true);
    assert.equal(await signsIn(f.hasher), true);
  });

  it('a renewal cut short before its conversion is finished by the next start', async () => {
    await renewalWritten();
    const opened = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, f.file);
    assert.equal(opened.converted, 2, 'the client secret and the user\'s password');
    assert.equal(await signsIn(opened.hasher), true);
    assert.equal(await passwordWorks(opened.hasher), true);
    assert.equal((await readPepperRow(f.store.settings))!.stored.converted, true);
  });

  it('a hash planted under the previous generation while a renewal is unfinished neither verifies nor is converted by the start that finishes it', async () => {
    const chosen = 'planted during the conversion';
    const original = await storedSecret();
    await renewalWritten();
    const reader = createCredentialHasher({ peppers: await peppers(), converting: true, pending: new Set((await readPepperRow(f.store.settings))!.stored.pending) });
    assert.equal(await signsIn(reader), true, 'a listed hash of the previous generation verifies meanwhile');
    // Whoever holds the previous pepper (the old master key and a copy) writes a hash of their own.
    await plantSecret(createCredentialHasher((await peppers())[0]!).hashClientSecret(chosen, await spOwner()));
    assert.equal(await signsIn(reader, chosen), false, 'not listed: refused even while converting');
    const opened = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, f.file);
    assert.equal(opened.converted, 1, "only the user's password: the planted secret was not listed");
    assert.equal(await signsIn(opened.hasher, chosen), false, 'the start did not key the planted hash again');
    assert.equal(await passwordWorks(opened.hasher), true);
    await plantSecret(original);
  });

  it('the first conversion (hashes from before the pepper) also keys only those stored when the pepper was made', async () => {
    const unkeyed = (secret: string) => 'sha256$' + createHash('sha256').update(secret).digest('base64');
    await plantSecret(unkeyed(f.sp.secret));
    // A first start cut short: the pepper stored with its list, nothing converted yet.
    const pepper = randomBytes(32);
    const row = { ...wrapInto(f.keyring, pepper, pepperAad(0, false, true), { converted: false }), pending: [pendingTag(pepper, ownerId(await spOwner()), await storedSecret())] };
    await f.store.settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify(row));
    const later = await directory(f.hasher).createServicePrincipal({ displayName: 'planted-later' });
    const laterKey = (await f.store.principals.listClientSecrets(later.principal.objectId))[0]!;
    assert.ok(await f.store.principals.replaceCredentialHash(later.principal.objectId, laterKey.keyId, laterKey.secretHash, unkeyed('chosen')));
    const opened = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'first.json'));
    assert.equal(opened.converted, 1);
    assert.equal(await signsIn(opened.hasher), true);
    assert.equal((await directory(opened.hasher).authenticateClient(later.principal.appId!, 'chosen', Math.floor(Date.now() / 1000))).ok, false);
    assert.match((await f.store.principals.listClientSecrets(later.principal.objectId))[0]!.secretHash, /^sha256\$/, 'left as planted');
  });

  it('a conversion whose list was deleted from the row does not open: the list cannot be dropped to have every hash converted', async () => {
    await renewalWritten();
    const { pending: _dropped, ...unlisted } = (await readPepperRow(f.store.settings))!.stored;
    await f.store.settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify(unlisted));
    await assert.rejects(openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'unlisted.json')), /does not open under the master key/);
  });

  it('a list of hashes to convert that is not a list of tags stops the start, saying why', async () => {
    await renewalWritten();
    const read = (await readPepperRow(f.store.settings))!;
    for (const pending of [5, 'tag', [1, 2], { a: 'b' }]) {
      await f.store.settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify({ ...read.stored, pending }));
      await assert.rejects(openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'malformed.json')), /list of hashes to convert is not a list of tags/);
    }
  });

  it('a converting row put back after its conversion was done stops the start, is refused by a running member, and lets no planted hash in', async () => {
    await renewalWritten();
    const captured = (await readPepperRow(f.store.settings))!.raw;
    const member = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, f.file);
    assert.equal((await readPepperRow(f.store.settings))!.stored.converted, true);
    const previous = createCredentialHasher({ peppers: (await peppers()).slice(0, 1), converting: false });
    await plantSecret(previous.hashClientSecret('replayed', await spOwner()));
    await f.store.settings.set(CREDENTIAL_PEPPER_SETTING, captured);
    await assert.rejects(member.reload(f.keyring), /converting to generation 1 again/);
    assert.equal(member.hasher.generations.converting, false);
    await assert.rejects(openCredentialHasher(f.store.settings, f.store.principals, f.keyring, f.file), (err: Error) => err instanceof CredentialPepperChangedError && /converting to generation 1 again/.test(err.message));
    // A data dir that never saw the conversion (a new member) still takes none of the hashes planted since.
    const fresh = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-f.json'));
    assert.equal(await signsIn(fresh.hasher, 'replayed'), false);
  });

  it('a running member refuses a generation it holds replaced by another pepper linked to the one before', async () => {
    await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher);
    const member = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-g.json'));
    const [p0] = await peppers();
    // Whoever holds the previous pepper and a master key still in the f.keyring (a rolling rotation's old one).
    const theirs = randomBytes(32);
    const current = (await readPepperRow(f.store.settings))!.stored;
    const replaced = { ...current, ...wrapInto(f.keyring, theirs, pepperAad(1, true), {}), link: pepperLink(p0!, 1, theirs) };
    await f.store.settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify(replaced));
    await assert.rejects(member.reload(f.keyring), /of generation 1 is another than this server holds/);
    await plantSecret(createCredentialHasher({ peppers: [p0!, theirs], converting: false }).hashClientSecret('theirs', await spOwner()));
    assert.equal(await signsIn(member.hasher, 'theirs'), false);
    await assert.rejects(openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-g.json')), CredentialPepperChangedError);
  });

  it('a client secret this server makes while a renewal lists the stored hashes is converted with them', async () => {
    const d = directory(f.hasher);
    let made: string | null = null;
    const principals = Object.create(f.store.principals) as typeof f.store.principals;
    principals.listClientSecrets = async (objectId) => {
      const listed = await f.store.principals.listClientSecrets(objectId);
      // After the listing read, before the new generation is stored: made under the previous one.
      if (made === null && objectId === f.sp.objectId) made = (await d.addClientSecret(f.sp.objectId, {})).secret;
      return listed;
    };
    await renewCredentialPepper(f.store.settings, principals, f.keyring, f.hasher);
    assert.ok(made);
    assert.equal(f.hasher.generation, 1);
    assert.equal(await signsIn(f.hasher, made), true);
    assert.equal(await signsIn((await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, f.file)).hasher, made), true);
  });

  it('hashes made before binding are bound by one renewal at start; a data dir that recorded it reads no hashes again', async () => {
    const [p0] = await peppers();
    // As a build before binding stored it: generation 0, no row named.
    const legacy = 'hmac-sha256$' + createHmac('sha256', p0!).update('client-secret\0').update(createHash('sha256').update('legacy').digest()).digest('base64');
    await plantSecret(legacy);
    const victim = await directory(f.hasher).createServicePrincipal({ displayName: 'victim' });
    const victimRow = (await f.store.principals.listClientSecrets(victim.principal.objectId))[0]!;
    const asVictim = () => clientWorks(f.hasher, victim.principal.appId!, 'legacy');
    const copyToVictim = async (hash: string) => {
      const now = (await f.store.principals.listClientSecrets(victim.principal.objectId))[0]!.secretHash;
      assert.ok(await f.store.principals.replaceCredentialHash(victim.principal.objectId, victimRow.keyId, now, hash));
    };
    // The hole: copied into another principal's row, it signs in as that principal.
    await copyToVictim(legacy);
    assert.equal(await asVictim(), true);
    await copyToVictim(victimRow.secretHash);

    const fresh = join(dirname(f.file), 'member-n.json');
    assert.equal(await bindUnboundHashes(f.store.settings, f.store.principals, f.keyring, f.hasher, f.file), 1);
    assert.equal(f.hasher.generation, 1, 'renewed once');
    assert.equal(await signsIn(f.hasher, 'legacy'), true, 'bound to its own row');
    await copyToVictim(await storedSecret());
    assert.equal(await asVictim(), false, 'a copy of the bound hash signs in as nobody');
    assert.equal((JSON.parse(readFileSync(f.file, 'utf8')) as { bound?: boolean }).bound, true);
    // Recorded: not read again; a data dir without the record reads them, finds none unbound, and renews nothing.
    assert.equal(await bindUnboundHashes(f.store.settings, f.store.principals, f.keyring, f.hasher, f.file), 0);
    await recordCredentialPepper(f.store.settings, f.keyring, f.file);
    assert.equal((JSON.parse(readFileSync(f.file, 'utf8')) as { bound?: boolean }).bound, true, 'kept when the record is written again');
    const member = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, fresh);
    assert.equal(await bindUnboundHashes(f.store.settings, f.store.principals, f.keyring, member.hasher, fresh), 0);
    assert.equal(f.hasher.generation, 1);
    assert.equal((await peppers()).length, 2);
  });

  it('a password reset or secret removed through this server while its conversion runs, written back, neither verifies nor is converted', async () => {
    const own = createOwnCredentials(f.store.principals, f.hasher, (err) => assert.fail(err));
    const d = createDirectoryService({ principals: watchCredentialWrites(f.store.principals, own), failures: f.store.signInFailures, hasher: f.hasher });
    const user = (await f.store.principals.getByUpn('gen@coffer.local'))!;
    const oldPassword = user.passwordHash!;
    const secretRow = (await f.store.principals.listClientSecrets(f.sp.objectId))[0]!;
    // This server's renewal, stored and listing both; its conversion has not reached them yet.
    await renewalWritten();
    f.hasher.use({ peppers: await peppers(), converting: true, pending: new Set((await readPepperRow(f.store.settings))!.stored.pending) });
    assert.equal(await passwordWorks(f.hasher), true, 'listed: verifies while the conversion runs');
    await d.setUserPassword(user.objectId, 'Reset during the conversion 1');
    assert.ok(await d.removeClientSecret(f.sp.objectId, secretRow.keyId));
    // Written back by someone who knows them.
    assert.ok(await f.store.principals.replaceCredentialHash(user.objectId, null, (await f.store.principals.get(user.objectId))!.passwordHash!, oldPassword));
    await f.store.principals.addClientSecret(secretRow);
    assert.equal(await passwordWorks(f.hasher), false);
    assert.equal(await signsIn(f.hasher), false);
    // This server's conversion goes on (a renewal finishes it first, then renews again): neither is keyed again.
    await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher);
    assert.equal((await f.store.principals.get(user.objectId))!.passwordHash, oldPassword, 'not converted');
    assert.equal(await passwordWorks(f.hasher), false);
    assert.equal(await signsIn(f.hasher), false);
    assert.equal(await passwordWorks(f.hasher, 'Reset during the conversion 1'), false, 'the row holds the old hash now');
  });

  it('a generation not linked to the one before, or a row put back to an earlier generation, stops the start', async () => {
    await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher);
    const afterFirst = (await readPepperRow(f.store.settings))!.raw;
    await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher);
    // As a server records its own renewal in its data dir.
    await recordCredentialPepper(f.store.settings, f.keyring, f.file);
    const current = (await readPepperRow(f.store.settings))!;
    // A generation appended by someone who can wrap under the f.keyring but holds no earlier pepper.
    const planted = { ...current.stored, ...wrapInto(f.keyring, randomBytes(32), pepperAad(3, true), {}), generation: 3, link: randomBytes(32).toString('base64'), earlier: [...current.stored.earlier!, { keyId: current.stored.keyId, sealed: current.stored.sealed, generation: 2, link: current.stored.link }] };
    await f.store.settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify(planted));
    await assert.rejects(openCredentialHasher(f.store.settings, f.store.principals, f.keyring, f.file), /generation 3 was not made by its previous generation's holder/);
    // The row as it was after the first renewal: it opens, but this data dir used generation 2.
    await f.store.settings.set(CREDENTIAL_PEPPER_SETTING, afterFirst);
    await assert.rejects(openCredentialHasher(f.store.settings, f.store.principals, f.keyring, f.file), (err: Error) => err instanceof CredentialPepperChangedError && /at generation 1, but this data dir used generation 2/.test(err.message));
    await f.store.settings.set(CREDENTIAL_PEPPER_SETTING, current.raw);
    assert.equal(await signsIn((await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, f.file)).hasher), true);
  });
});
