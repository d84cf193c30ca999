import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store-types.js';
import { beginRenewal, finishRenewal, loadAuthorizationKey, markAuthorizationKeyBound } from './authorization-key.js';
import type { AuthorizationSeal } from './authorization-seal.js';
import type { SealedParts, SealHolder } from './sealed-stores.js';

// Sealing rows in bulk: once, at the first start of a build that seals
// authorization data, the rows stored before (made by coffer before it
// sealed anything); and at each renewal of the key, every row sealed under
// the generation it replaces. A row without a seal found at any other time
// was put in the database by someone else, and grants nothing.

/**
 * Seals every row whose seal is `from`'s (null: every row stored without a
 * seal) under `to`, compare-and-set on the seal read; returns how many.
 */
async function sealAgain(store: SealedParts, from: AuthorizationSeal | null, to: AuthorizationSeal): Promise<number> {
  let sealed = 0;
  const again = async (mac: string | null | undefined, expected: (seal: AuthorizationSeal) => string, write: (mac: string, was: string | null) => Promise<boolean>) => {
    const was = mac ?? null;
    const eligible = from === null ? was === null : from.intact(was, expected(from));
    if (eligible && (await write(expected(to), was))) sealed++;
  };
  for (const r of await store.roleAssignments.list()) await again(r.mac, (s) => s.assignment(r), (mac, was) => store.roleAssignments.setMac(r.id, mac, was));
  for (const r of await store.roleDefinitions.list()) await again(r.mac, (s) => s.definition(r), (mac, was) => store.roleDefinitions.setMac(r.id, mac, was));
  for (const r of await store.groups.allMemberships()) {
    await again(r.mac, (s) => s.membership(r.groupId, r.memberId), (mac, was) => store.groups.setMac(r.groupId, r.memberId, mac, was));
  }
  // listKeys names every vault, soft-deleted ones included (once as current).
  for (const k of await store.vaults.listKeys()) {
    const row = k.current ? await store.vaults.getById(k.id) : null;
    if (row) await again(row.mac, (s) => s.vault(row), (mac, was) => store.vaults.setMac(row.id, mac, was));
  }
  return sealed;
}

/** Seals every row stored without a seal; returns how many it sealed. */
export const bindAuthorizationData = (store: SealedParts, seal: AuthorizationSeal): Promise<number> => sealAgain(store, null, seal);

/** Seals every row of `from`'s generation under `to`, then drops `from` from the stored key. */
async function completeRenewal(store: Store, from: AuthorizationSeal, to: AuthorizationSeal): Promise<number> {
  const resealed = await sealAgain(store, from, to);
  await finishRenewal(store.settings);
  return resealed;
}

/**
 * The deployment's authorization seal. On the first start that makes its key
 * the rows stored before are sealed (`bound` counts them); a renewal a
 * crash cut short is finished (`resealed` counts the rows sealed again).
 */
export async function openAuthorizationSeal(store: Store, keyring: Keyring, file: string): Promise<{ seal: AuthorizationSeal; bound: number | null; resealed: number | null }> {
  const loaded = await loadAuthorizationKey(store.settings, keyring, file);
  const resealed = loaded.previous ? await completeRenewal(store, loaded.previous, loaded.seal) : null;
  if (loaded.bound) return { seal: loaded.seal, bound: null, resealed };
  const bound = await bindAuthorizationData(store, loaded.seal);
  await markAuthorizationKeyBound(store.settings, keyring, file);
  return { seal: loaded.seal, bound, resealed };
}

/**
 * Renews the key (a master key rotation): a new generation under the
 * keyring's primary, every row sealed again under it, the old one dropped.
 * With `holder` (a running server), sealed writes wait meanwhile and then use
 * the new seal. False when there is no bound key to renew.
 */
export async function renewAuthorizationKey(store: Store, keyring: Keyring, holder?: SealHolder): Promise<boolean> {
  const run = async (renewal: { from: AuthorizationSeal; to: AuthorizationSeal }) => {
    await completeRenewal(store, renewal.from, renewal.to);
    return true;
  };
  if (!holder) {
    const renewal = await beginRenewal(store.settings, keyring);
    return renewal ? run(renewal) : false;
  }
  // The next seal is known only once stored; the holder's writes wait from before it is made.
  let renewal: { from: AuthorizationSeal; to: AuthorizationSeal } | null = null;
  return holder.renewing(
    () => renewal?.to ?? null,
    async () => {
      renewal = await beginRenewal(store.settings, keyring);
      return renewal ? run(renewal) : false;
    },
  );
}
