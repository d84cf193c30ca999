import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { openCredentialHasher, renewCredentialPepper } from '../src/identity/credential-pepper.js';
import { CREDENTIAL_PEPPER_SETTING } from '../src/identity/credential-pepper-row.js';
import { watchCredentialWrites } from '../src/identity/own-credentials.js';
import { createCredentialHasher } from '../src/identity/password-hash.js';
import type { Store } from '../src/storage/store-types.js';
import { PASSWORD, usePepperFixture } from './support/pepper-fixture.js';

// How a cluster's members follow each other's credential pepper renewals
// (identity/credential-pepper.ts reload, identity/own-credentials.ts): a
// member reads the generations again, one read at a time, and keys again
// the credentials it stored under the previous generation, and nothing
// else. The two-server test on PostgreSQL is cluster-rotation.test.ts.

describe("a cluster member following another's credential pepper renewal", () => {
  const { f, directory, signsIn, passwordWorks, clientWorks, plantSecret, peppers, spOwner, renewalWritten, memberDirectory } = usePepperFixture();

  it('a cluster member that meets a hash of a newer generation reads the generations again', async () => {
    const member = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-b.json'));
    await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher);
    assert.equal(await signsIn(member.hasher), false, 'without reading them again');
    const withReload = directory(member.hasher, () => member.reload(f.keyring));
    assert.equal((await withReload.authenticateClient(f.sp.appId, f.sp.secret, Math.floor(Date.now() / 1000))).ok, true);
    assert.equal(member.hasher.generation, 1);
    assert.equal((await withReload.authenticateUser('gen@coffer.local', PASSWORD, '10.0.0.2')).ok, true);
  });

  it("a member that read a renewal while its conversion ran takes the previous generation's hashes only until it reads again", async () => {
    const [p0] = await peppers();
    const member = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-c.json'));
    await renewalWritten();
    await member.reload(f.keyring);
    assert.equal(member.hasher.generation, 1);
    assert.equal(await signsIn(member.hasher), true, 'a hash not yet converted still verifies meanwhile');
    // The conversion ends (the other member's start finishing it); then a hash of generation 0 is planted.
    await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-d.json'));
    const chosen = 'planted after the conversion';
    await plantSecret(createCredentialHasher(p0!).hashClientSecret(chosen, await spOwner()));
    await member.reload(f.keyring);
    assert.equal(await signsIn(member.hasher, chosen), false);
  });

  it("a member's reads of the generations are applied in turn: a slow read of an older state is not taken for a row put back", async () => {
    // The member's settings: the next read of the pepper's row returns what it held then, 50 ms later.
    let slowNext = false;
    const settings = Object.create(f.store.settings) as typeof f.store.settings;
    settings.get = async (key) => {
      const value = await f.store.settings.get(key);
      if (slowNext && key === CREDENTIAL_PEPPER_SETTING) {
        slowNext = false;
        await new Promise((r) => setTimeout(r, 50));
      }
      return value;
    };
    const member = await openCredentialHasher(settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-i.json'));
    await renewalWritten();
    slowNext = true;
    const converting = member.reload(f.keyring);
    // Meanwhile the conversion ends (another member's start finishes it), and the member reads again.
    await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-j.json'));
    await Promise.all([converting, member.reload(f.keyring)]);
    assert.equal(member.hasher.generations.converting, false);
    assert.equal(await signsIn(member.hasher), true);
  });

  it('reads asked for while one runs share one read after it, which sees what was stored before they asked', async () => {
    let reads = 0;
    let slowNext = false;
    const settings = Object.create(f.store.settings) as typeof f.store.settings;
    settings.get = async (key) => {
      const value = await f.store.settings.get(key);
      if (key === CREDENTIAL_PEPPER_SETTING) reads++;
      if (slowNext && key === CREDENTIAL_PEPPER_SETTING) {
        slowNext = false;
        await new Promise((r) => setTimeout(r, 50));
      }
      return value;
    };
    const member = await openCredentialHasher(settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-l.json'));
    reads = 0;
    slowNext = true;
    const first = member.reload(f.keyring);
    await new Promise((r) => setImmediate(r));
    await renewalWritten();
    const joined = [member.reload(f.keyring), member.reload(f.keyring), member.reload(f.keyring)];
    await Promise.all([first, ...joined]);
    assert.equal(member.hasher.generation, 1, 'the shared read came after the renewal');
    assert.equal(reads, 2, 'the first read and one shared by the three after it');
  });

  it('credentials another member stores before it reads a renewal are keyed again by that member when it reads it', async () => {
    const member = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-h.json'));
    const d = memberDirectory(member);
    const user = (await f.store.principals.getByUpn('gen@coffer.local'))!;
    // Renewed and converted by another member; this one has not read it yet.
    await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher);
    const added = await d.addClientSecret(f.sp.objectId, {});
    await d.setUserPassword(user.objectId, 'Set on the other member 1');
    const made = await d.createServicePrincipal({ displayName: 'made-sp' });
    assert.equal(await signsIn(f.hasher, added.secret), false, "not in the renewal's list");
    assert.equal(await passwordWorks(f.hasher, 'Set on the other member 1'), false);
    // Made before the member reads the renewal, stored after it.
    const lateOwner = { objectId: made.principal.objectId, keyId: randomUUID() };
    const late = { ...lateOwner, secretHash: member.hasher.hashClientSecret('stored late', lateOwner), hint: 'sto', displayName: null, startAt: 0, endAt: 2 ** 31 };

    await member.reload(f.keyring);
    assert.equal(member.hasher.generation, 1);
    await member.settled();
    for (const h of [f.hasher, member.hasher]) {
      assert.equal(await signsIn(h, added.secret), true);
      assert.equal(await passwordWorks(h, 'Set on the other member 1'), true);
      assert.equal(await clientWorks(h, made.principal.appId!, made.credential.secret), true);
    }
    await watchCredentialWrites(f.store.principals, member.own).addClientSecret(late);
    const deadline = Date.now() + 2_000;
    while (!(await clientWorks(f.hasher, made.principal.appId!, 'stored late')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await clientWorks(f.hasher, made.principal.appId!, 'stored late'), true, 'keyed again as it is stored');
  });

  it('no read of the generations, and so no sign-in, waits for a catch-up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const principals = {
      ...f.store.principals,
      async replaceCredentialHash(...args: Parameters<Store['principals']['replaceCredentialHash']>) {
        await gate;
        return f.store.principals.replaceCredentialHash(...args);
      },
    };
    const member = await openCredentialHasher(f.store.settings, principals, f.keyring, join(dirname(f.file), 'member-m.json'));
    await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher);
    const added = await memberDirectory(member).addClientSecret(f.sp.objectId, {});
    await member.reload(f.keyring);
    // The catch-up of `added` now waits on the gate; later reads go on.
    const within = (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 1_000))]);
    assert.equal(await within(member.reload(f.keyring)), true, 'a read after it is not held up');
    assert.equal(await within(member.settled()), false, 'the catch-up is');
    release();
    await member.settled();
    assert.equal(await signsIn(f.hasher, added.secret), true);
  });

  it('what a member keys again is only its newest credential per row, once: a superseded or removed one written back after a renewal stays refused', async () => {
    const [p0] = await peppers();
    const member = await openCredentialHasher(f.store.settings, f.store.principals, f.keyring, join(dirname(f.file), 'member-k.json'));
    const d = memberDirectory(member);
    const user = (await f.store.principals.getByUpn('gen@coffer.local'))!;
    // Known to an attacker who can write the database: a password reset since, a client secret removed since.
    await d.setUserPassword(user.objectId, 'Leaked password 1');
    const leakedPassword = (await f.store.principals.get(user.objectId))!.passwordHash!;
    await d.setUserPassword(user.objectId, 'The new password 1');
    const removed = await d.addClientSecret(f.sp.objectId, {});
    const removedRow = (await f.store.principals.listClientSecrets(f.sp.objectId)).find((c) => c.keyId === removed.keyId)!;
    assert.ok(await d.removeClientSecret(f.sp.objectId, removed.keyId));
    // And a secret the member stored, whose row the attacker overwrites with a hash of their own under the old pepper.
    const kept = await d.addClientSecret(f.sp.objectId, {});
    const keptOwner = { objectId: f.sp.objectId, keyId: kept.keyId };

    await renewCredentialPepper(f.store.settings, f.store.principals, f.keyring, f.hasher);
    assert.ok(await f.store.principals.replaceCredentialHash(user.objectId, null, (await f.store.principals.get(user.objectId))!.passwordHash!, leakedPassword));
    await f.store.principals.addClientSecret(removedRow);
    const chosen = 'planted under the previous pepper';
    assert.ok(await f.store.principals.replaceCredentialHash(f.sp.objectId, kept.keyId, (await f.store.principals.listClientSecrets(f.sp.objectId)).find((c) => c.keyId === kept.keyId)!.secretHash, createCredentialHasher(p0!).hashClientSecret(chosen, keptOwner)));

    await member.reload(f.keyring);
    await member.reload(f.keyring);
    await member.settled();
    for (const h of [f.hasher, member.hasher]) {
      assert.equal(await passwordWorks(h, 'Leaked password 1'), false);
      assert.equal(await signsIn(h, removed.secret), false);
      assert.equal(await signsIn(h, chosen), false);
    }
  });
});
