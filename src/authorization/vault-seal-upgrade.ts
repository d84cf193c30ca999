import type { Store } from '../storage/store-types.js';
import { AuthorizationDigestError, DIGEST_SETTING, resealedRecord } from './authorization-digest.js';
import type { AuthorizationSeal } from './authorization-seal.js';

// Schema 18: a vault's seal covers its deletion state (authorization-seal.ts,
// `a2.`). The vaults sealed by a build before (`a1.`, whose seal did not
// cover it) are sealed again under the new rule, trusting their deletion
// state as found (as every upgrade of the seal trusts the rows it finds), at
// the first start of this build; after that an `a1.` vault seal matches
// nothing. The authorization digest's record follows each row sealed again
// (its part swapped: resealedRecord), so it holds the rows as it did: a row
// it did not count (put back outside coffer) is still refused by the start's
// check that comes next, and a row put back from a copy made before the
// upgrade, `a1.` again, is sealed again by a later start only into a
// record that never counted it.

type UpgradeStore = Pick<Store, 'vaults' | 'settings'> & Partial<Pick<Store, 'authorizationDigest'>>;

/** Seals again under the new rule every vault whose seal is `seal`'s by the rule before; returns how many. */
export async function upgradeVaultSeals(store: UpgradeStore, seal: AuthorizationSeal): Promise<number> {
  const legacy: Array<{ id: string; from: string; to: string }> = [];
  // listKeys names every vault, soft-deleted ones included (once as current).
  for (const k of await store.vaults.listKeys()) {
    const row = k.current ? await store.vaults.getById(k.id) : null;
    if (row?.mac && seal.intact(row.mac, seal.legacyVault(row))) legacy.push({ id: row.id, from: row.mac, to: seal.vault(row) });
  }
  if (legacy.length === 0) return 0;
  // While no other server's write folds the journal: theirs would find these rows changed by another writer.
  const exclusive = store.authorizationDigest?.exclusive?.bind(store.authorizationDigest) ?? (<T>(run: () => Promise<T>) => run());
  return exclusive(async () => {
    const swaps: typeof legacy = [];
    for (const r of legacy) if (await store.vaults.setMac(r.id, r.to, r.from)) swaps.push(r);
    const raw = await store.settings.get(DIGEST_SETTING);
    if (raw !== null && swaps.length > 0) {
      try {
        await store.settings.set(DIGEST_SETTING, resealedRecord(seal, raw, 'vaults', swaps));
      } catch (err) {
        // A record that does not open is left as it is: the start's check refuses it next, with its advice.
        if (!(err instanceof AuthorizationDigestError)) throw err;
      }
    }
    // What the journal holds of these rows is in the record now (the start's full check follows).
    await store.authorizationDigest?.reset();
    return swaps.length;
  });
}
