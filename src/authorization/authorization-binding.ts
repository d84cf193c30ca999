import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store-types.js';
import { loadAuthorizationKey, markAuthorizationKeyBound } from './authorization-key.js';
import type { AuthorizationSeal } from './authorization-seal.js';
import type { SealedParts } from './sealed-stores.js';

// The first start of a build that seals authorization data seals the rows
// already stored (made by coffer before it sealed anything). Only that start
// does: a row without a seal found later was put in the database by someone
// else, and grants nothing.

/** Seals every row stored without a seal; returns how many it sealed. */
export async function bindAuthorizationData(store: SealedParts, seal: AuthorizationSeal): Promise<number> {
  let sealed = 0;
  const count = (done: boolean) => void (done && sealed++);
  for (const r of await store.roleAssignments.list()) if (r.mac == null) count(await store.roleAssignments.setMac(r.id, seal.assignment(r)));
  for (const r of await store.roleDefinitions.list()) if (r.mac == null) count(await store.roleDefinitions.setMac(r.id, seal.definition(r)));
  for (const r of await store.groups.allMemberships()) if (r.mac == null) count(await store.groups.setMac(r.groupId, r.memberId, seal.membership(r.groupId, r.memberId)));
  // listKeys names every vault, soft-deleted ones included (once as current).
  for (const k of await store.vaults.listKeys()) {
    if (!k.current) continue;
    const row = await store.vaults.getById(k.id);
    if (row && row.mac == null) count(await store.vaults.setMac(row.id, seal.vault(row)));
  }
  return sealed;
}

/** The deployment's authorization seal; on the first start that makes its key, the rows stored before are sealed (`bound` counts them). */
export async function openAuthorizationSeal(store: Store, keyring: Keyring, file: string): Promise<{ seal: AuthorizationSeal; bound: number | null }> {
  const loaded = await loadAuthorizationKey(store.settings, keyring, file);
  if (loaded.bound) return { seal: loaded.seal, bound: null };
  const bound = await bindAuthorizationData(store, loaded.seal);
  await markAuthorizationKeyBound(store.settings, keyring, file);
  return { seal: loaded.seal, bound };
}
