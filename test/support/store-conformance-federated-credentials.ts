import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { StoreParentGoneError, type FederatedCredentialRow, type Store } from '../../src/storage/store-types.js';
import { auditRecord, isConflict, principal } from './store-conformance-kit.js';

// Federated identity credentials of applications: stored as given (issuer and
// subject byte for byte), unique per principal by name (any case) and by
// issuer and subject together, at most `max` per principal, changed only
// over the seal read, and removed with their principal.

function fedRow(objectId: string, over: Partial<FederatedCredentialRow> = {}): FederatedCredentialRow {
  return {
    id: randomUUID(),
    objectId,
    name: `fic-${randomUUID().slice(0, 8)}`,
    issuer: 'https://token.actions.githubusercontent.com',
    subject: `repo:octo/app:ref:refs/heads/${randomUUID().slice(0, 6)}`,
    audiences: ['api://AzureADTokenExchange'],
    description: 'conformance',
    mac: 'a1.0.mac',
    ...over,
  };
}

const ops = async (store: Store, suffix: string) => (await store.audit.range(1, 10_000)).map((r) => r.operation).filter((o) => o.endsWith(suffix));

export function describeFederatedCredentialConformance(h: { store(): Store }): void {
  describe('principals: federated credentials', () => {
    it('adds with its record, lists per principal and all, removes; deleting the principal removes them', async () => {
      const store = h.store();
      const [sp, other] = [principal({ appId: randomUUID() }), principal({ appId: randomUUID() })];
      for (const p of [sp, other]) await store.principals.insert(p);
      const a = fedRow(sp.objectId, { name: 'a-first', description: null, mac: null });
      const b = fedRow(sp.objectId, { name: 'B-second', subject: 'Case:Sensitive' });
      const c = fedRow(other.objectId);
      await store.principals.addFederatedCredential(a, 20, auditRecord('add federated credential'));
      await store.principals.addFederatedCredential(b, 20);
      await store.principals.addFederatedCredential(c, 20);
      assert.deepEqual(await store.principals.listFederatedCredentials(sp.objectId), [a, b]);
      assert.deepEqual((await store.principals.allFederatedCredentials()).filter((r) => [a, b, c].some((x) => x.id === r.id)).length, 3);
      // Another principal's id names nothing here.
      assert.equal(await store.principals.removeFederatedCredential(sp.objectId, c.id), false);
      assert.equal(await store.principals.removeFederatedCredential(sp.objectId, a.id, auditRecord('remove federated credential')), true);
      assert.equal(await store.principals.removeFederatedCredential(sp.objectId, a.id, auditRecord('remove federated credential')), false);
      assert.deepEqual(await store.principals.listFederatedCredentials(sp.objectId), [b]);
      assert.deepEqual(await ops(store, 'federated credential'), ['add federated credential', 'remove federated credential']);
      assert.equal(await store.principals.delete(sp.objectId), true);
      assert.deepEqual(await store.principals.listFederatedCredentials(sp.objectId), []);
      assert.deepEqual(await store.principals.listFederatedCredentials(other.objectId), [c]);
    });

    it('refuses a taken name (any case), a taken issuer and subject, more than max, or a principal that is gone: nothing stored, no record', async () => {
      const store = h.store();
      const sp = principal({ appId: randomUUID() });
      await store.principals.insert(sp);
      const a = fedRow(sp.objectId, { name: 'deploy' });
      await store.principals.addFederatedCredential(a, 2);
      const refused = auditRecord('refused federated credential');
      await assert.rejects(store.principals.addFederatedCredential(fedRow(sp.objectId, { name: 'DEPLOY' }), 2, refused), isConflict('exists'));
      await assert.rejects(store.principals.addFederatedCredential(fedRow(sp.objectId, { subject: a.subject }), 2, refused), isConflict('exists'));
      // The same subject in another case, or from another issuer, is another credential.
      await store.principals.addFederatedCredential(fedRow(sp.objectId, { subject: a.subject.toUpperCase() }), 2);
      await assert.rejects(store.principals.addFederatedCredential(fedRow(sp.objectId, { issuer: 'https://other.example' }), 2, refused), isConflict('changed'));
      await assert.rejects(store.principals.addFederatedCredential(fedRow(randomUUID()), 2, refused), StoreParentGoneError);
      assert.equal((await store.principals.listFederatedCredentials(sp.objectId)).length, 2);
      assert.deepEqual(await ops(store, 'refused federated credential'), []);
    });

    it('updates issuer, subject, audiences, description and seal only over the seal read; a taken issuer and subject is refused', async () => {
      const store = h.store();
      const sp = principal({ appId: randomUUID() });
      await store.principals.insert(sp);
      const [a, b] = [fedRow(sp.objectId, { mac: 'a1.0.a' }), fedRow(sp.objectId, { mac: null })];
      for (const r of [a, b]) await store.principals.addFederatedCredential(r, 20);
      const changed = { ...a, issuer: 'https://kubernetes.example/oidc', subject: 'system:serviceaccount:ns:sa', audiences: ['api://other'], description: null, mac: 'a1.0.a2' };
      assert.equal(await store.principals.updateFederatedCredential(changed, 'a1.0.stale'), false);
      assert.equal(await store.principals.updateFederatedCredential({ ...changed, objectId: randomUUID() }, 'a1.0.a'), false);
      assert.equal(await store.principals.updateFederatedCredential(changed, 'a1.0.a', auditRecord('update federated credential')), true);
      await assert.rejects(store.principals.updateFederatedCredential({ ...b, issuer: changed.issuer, subject: changed.subject, mac: 'a1.0.b' }, null), isConflict('exists'));
      assert.deepEqual(await store.principals.listFederatedCredentials(sp.objectId), [a, b].map((r) => (r.id === a.id ? changed : r)).sort((x, y) => (x.name < y.name ? -1 : 1)));
      assert.deepEqual(await ops(store, 'update federated credential'), ['update federated credential']);
    });

    it("setFederatedCredentialMac replaces a row's seal only while it is still the one read (none included)", async () => {
      const store = h.store();
      const sp = principal({ appId: randomUUID() });
      await store.principals.insert(sp);
      const [sealed, bare] = [fedRow(sp.objectId, { mac: 'a1.0.old' }), fedRow(sp.objectId, { mac: null })];
      for (const r of [sealed, bare]) await store.principals.addFederatedCredential(r, 20);
      assert.equal(await store.principals.setFederatedCredentialMac(sealed.id, 'a1.1.new', 'a1.0.stale'), false);
      assert.equal(await store.principals.setFederatedCredentialMac(sealed.id, 'a1.1.new', null), false);
      assert.equal(await store.principals.setFederatedCredentialMac(sealed.id, 'a1.1.new', 'a1.0.old'), true);
      assert.equal(await store.principals.setFederatedCredentialMac(bare.id, 'a1.1.bare', null), true);
      const macs = Object.fromEntries((await store.principals.listFederatedCredentials(sp.objectId)).map((r) => [r.id, r.mac]));
      assert.deepEqual(macs, { [sealed.id]: 'a1.1.new', [bare.id]: 'a1.1.bare' });
    });
  });
}
