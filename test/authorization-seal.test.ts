import assert from 'node:assert/strict';
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalJson, createAuthorizationSeal } from '../src/authorization/authorization-seal.js';
import { createSealHolder } from '../src/authorization/sealed-stores.js';
import type { RoleAssignmentRow } from '../src/storage/store-types.js';

// The authorization seal's MACs (what they cover) and the holder that swaps
// the seal during a renewal without letting a write seal under the old one.

describe('the seal', () => {
  const seal = createAuthorizationSeal(createSecretKey(randomBytes(32)));
  const assignment: RoleAssignmentRow = {
    id: 'A1B2C3D4-0000-4000-8000-000000000001',
    scope: '/subscriptions/s/resourceGroups/rg/',
    roleDefinitionId: '/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/r',
    principalId: 'P-1',
    principalType: 'ServicePrincipal',
    description: 'why',
    endTime: null,
    createdAt: 1,
    updatedAt: 1,
    createdBy: 'admin',
  };
  const vault = {
    id: 'v-1',
    name: 'Kv',
    subscriptionId: 'S',
    resourceGroup: 'Rg',
    properties: { accessPolicies: [{ objectId: 'o', permissions: { secrets: ['get'] } }], enableRbacAuthorization: false },
    deletedAt: null as number | null,
    scheduledPurgeAt: null as number | null,
  };

  it('covers what grants and where, not descriptions, times or the case of ids', () => {
    const mac = seal.assignment(assignment);
    assert.match(mac, /^a1\.0\.[A-Za-z0-9_-]{43}$/);
    for (const change of [{ id: randomUUID() }, { scope: '/subscriptions/s' }, { roleDefinitionId: 'other' }, { principalId: 'p-2' }, { principalType: 'Group' as const }, { endTime: 5 }]) {
      assert.notEqual(seal.assignment({ ...assignment, ...change }), mac, JSON.stringify(change));
    }
    for (const same of [{ description: 'other' }, { createdAt: 9, updatedAt: 9, createdBy: 'x' }, { id: assignment.id.toLowerCase(), principalId: 'p-1', scope: '/SUBSCRIPTIONS/s/resourceGroups/rg' }]) {
      assert.equal(seal.assignment({ ...assignment, ...same }), mac, JSON.stringify(same));
    }
    assert.notEqual(seal.membership('g', 'm'), seal.membership('m', 'g'));
    assert.equal(seal.membership('G', 'M'), seal.membership('g', 'm'));
  });

  it("covers a vault's identity, properties and deletion state whatever their key order, not its tags", () => {
    const mac = seal.vault(vault);
    assert.match(mac, /^a2\.0\.[A-Za-z0-9_-]{43}$/);
    // Deleted, or its purge moved: a vault made live again outside coffer (or kept recoverable longer) matches no more.
    const states = [{ deletedAt: null, scheduledPurgeAt: null }, { deletedAt: 10, scheduledPurgeAt: 20 }, { deletedAt: 10, scheduledPurgeAt: 21 }, { deletedAt: 11, scheduledPurgeAt: 20 }];
    assert.equal(new Set(states.map((state) => seal.vault({ ...vault, ...state }))).size, states.length);
    // The rule before (a1.: no deletion state) is another seal: it matches no vault now.
    assert.match(seal.legacyVault(vault), /^a1\.0\./);
    assert.notEqual(seal.legacyVault(vault).slice(3), mac.slice(3));
    assert.equal(seal.vault({ ...vault, properties: { enableRbacAuthorization: false, accessPolicies: [{ permissions: { secrets: ['get'] }, objectId: 'o' }] } }), mac);
    assert.equal(seal.vault({ ...vault, tags: { a: 'b' } } as typeof vault), mac);
    for (const change of [{ id: 'v-2' }, { name: 'other' }, { subscriptionId: 'T' }, { resourceGroup: 'rg2' }, { properties: { ...vault.properties, enableRbacAuthorization: true } }]) {
      assert.notEqual(seal.vault({ ...vault, ...change }), mac, JSON.stringify(change));
    }
    assert.equal(canonicalJson({ b: [2, { d: 1, c: undefined, a: null }], a: 'x' }), '{"a":"x","b":[2,{"a":null,"d":1}]}');
  });

  it('matches only the same MAC, and none under another key', () => {
    const mac = seal.assignment(assignment);
    assert.equal(seal.intact(mac, mac), true);
    const flipped = mac.slice(0, -1) + (mac.endsWith('A') ? 'B' : 'A');
    for (const stored of [null, undefined, '', mac.slice(0, -1), flipped]) {
      assert.equal(seal.intact(stored, mac), false, String(stored));
    }
    const other = createAuthorizationSeal(createSecretKey(randomBytes(32)));
    assert.notEqual(other.assignment(assignment), mac);
    assert.notEqual(other.fingerprint, seal.fingerprint);
  });
});

describe('the seal holder', () => {
  it('holds sealed writes while a renewal runs, after the writes under way, and then seals under the new generation', async () => {
    const first = createAuthorizationSeal(createSecretKey(randomBytes(32)), 0);
    const second = createAuthorizationSeal(createSecretKey(randomBytes(32)), 1);
    const holder = createSealHolder(first);
    const events: string[] = [];
    let finishWrite!: () => void;
    const under = holder.writing(async (seal) => {
      events.push(`write under ${seal.generation}`);
      await new Promise<void>((resolve) => (finishWrite = resolve));
      events.push('write done');
    });
    let next: typeof second | null = null;
    let finishRenewal!: () => void;
    const renewal = holder.renewing(
      () => next,
      async () => {
        events.push('renewal starts');
        next = second;
        // While it runs, rows sealed by either generation match.
        assert.equal(holder.matches(second.membership('g', 'm'), (s) => s.membership('g', 'm')), true);
        assert.equal(holder.matches(first.membership('g', 'm'), (s) => s.membership('g', 'm')), true);
        await new Promise<void>((resolve) => (finishRenewal = resolve));
        return true;
      },
    );
    await new Promise((r) => setImmediate(r));
    const later = holder.writing(async (seal) => void events.push(`write under ${seal.generation}`));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['write under 0'], 'the renewal waits for the write under way; the later write waits for the renewal');
    finishWrite();
    await under;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['write under 0', 'write done', 'renewal starts']);
    finishRenewal();
    assert.equal(await renewal, true);
    await later;
    assert.deepEqual(events.slice(3), ['write under 1']);
    assert.equal(holder.current(), second);
    assert.equal(holder.matches(first.membership('g', 'm'), (s) => s.membership('g', 'm')), false, 'the old generation matches no more');
  });
});
