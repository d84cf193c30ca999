import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store-types.js';
import { AUTHORIZATION_KEY_SETTING, beginRenewal, finishRenewal, loadAuthorizationKey, markAuthorizationKeyBound, recordAuthorizationKey, sealOfStoredKey } from './authorization-key.js';
import { AuthorizationDigestError, checkStoredDigest, storeDigest, type IntactTest } from './authorization-digest.js';
import type { AuthorizationSeal } from './authorization-seal.js';
import type { SealHolder } from './sealed-stores.js';
import { upgradeVaultSeals } from './vault-seal-upgrade.js';

// Sealing rows in bulk: once, at the first start of a build that seals
// authorization data, the rows stored before (made by coffer before it
// sealed anything); and at each renewal of the key, every row sealed under
// the generation it replaces. A row without a seal found at any other time
// was put in the database by someone else, and grants nothing.

/** The settings row that names the deployment administrator, and the row that holds its seal. */
export const ADMIN_SETTING = 'adminObjectId';
export const ADMIN_SEAL_SETTING = 'adminObjectIdSeal';

type Bulk = Pick<Store, 'roleAssignments' | 'roleDefinitions' | 'groups' | 'vaults' | 'settings' | 'principals'>;

/** A stored row's seal (null: none), what it should be under a seal, and how to replace it (compare-and-set). */
interface Sealable {
  mac: string | null;
  expected(seal: AuthorizationSeal): string;
  write(mac: string, was: string | null): Promise<boolean>;
}

/**
 * `renewal`: key credentials and federated credentials too. They are never sealed as found (coffer has sealed every one it stored, from
 * the first build that kept them), so only a renewal reads them.
 */
async function sealables(store: Bulk, renewal = false): Promise<Sealable[]> {
  const out: Sealable[] = [];
  if (renewal) {
    for (const r of await store.principals.allKeyCredentials()) {
      out.push({ mac: r.mac, expected: (s) => s.keyCredential(r), write: (mac, was) => store.principals.setKeyCredentialMac(r.keyId, mac, was) });
    }
    for (const r of await store.principals.allFederatedCredentials()) {
      out.push({ mac: r.mac, expected: (s) => s.federatedCredential(r), write: (mac, was) => store.principals.setFederatedCredentialMac(r.id, mac, was) });
    }
  }
  for (const r of await store.roleAssignments.list()) out.push({ mac: r.mac ?? null, expected: (s) => s.assignment(r), write: (mac, was) => store.roleAssignments.setMac(r.id, mac, was) });
  for (const r of await store.roleDefinitions.list()) out.push({ mac: r.mac ?? null, expected: (s) => s.definition(r), write: (mac, was) => store.roleDefinitions.setMac(r.id, mac, was) });
  for (const r of await store.groups.allMemberships()) {
    out.push({ mac: r.mac, expected: (s) => s.membership(r.groupId, r.memberId), write: (mac, was) => store.groups.setMac(r.groupId, r.memberId, mac, was) });
  }
  // listKeys names every vault, soft-deleted ones included (once as current).
  for (const k of await store.vaults.listKeys()) {
    const row = k.current ? await store.vaults.getById(k.id) : null;
    if (row) out.push({ mac: row.mac ?? null, expected: (s) => s.vault(row), write: (mac, was) => store.vaults.setMac(row.id, mac, was) });
  }
  const admin = await store.settings.get(ADMIN_SETTING);
  if (admin !== null) {
    out.push({
      mac: await store.settings.get(ADMIN_SEAL_SETTING),
      expected: (s) => s.setting(ADMIN_SETTING, admin),
      write: async (mac, was) => (was === null ? (await store.settings.setIfAbsent(ADMIN_SEAL_SETTING, mac)) === mac : store.settings.replace(ADMIN_SEAL_SETTING, was, mac)),
    });
  }
  return out;
}

export class UnsealedAuthorizationDataError extends Error {
  constructor(rows: number) {
    super(
      `the database holds ${rows} role assignments, custom roles, memberships or vaults without a seal, and no authorization key to have sealed them: ` +
        'either this is the first start of a build that seals them, or someone removed the key from the database to have unsealed rows of theirs sealed. ' +
        'Start once with a data dir that has run against this database before (it holds audit-key.json), which seals them; or, if the database is as ' +
        'coffer left it, start once with --seal-stored-authorization (COFFER_SEAL_STORED_AUTHORIZATION=1), which seals them as they are.',
    );
    this.name = 'UnsealedAuthorizationDataError';
  }
}

/**
 * Seals every row whose seal is `from`'s (null: every row stored without a
 * seal) under `to`, compare-and-set on the seal read; returns how many.
 */
async function sealAgain(store: Bulk, from: AuthorizationSeal | null, to: AuthorizationSeal): Promise<number> {
  let sealed = 0;
  for (const r of await sealables(store, from !== null)) {
    const eligible = from === null ? r.mac === null : from.intact(r.mac, r.expected(from));
    if (eligible && (await r.write(r.expected(to), r.mac))) sealed++;
  }
  return sealed;
}

/** Refuses rows stored without a seal, changing nothing (bindAuthorizationData untrusted; a start's pre-flight). */
export async function refuseUnsealed(store: Bulk): Promise<void> {
  const unsealed = (await sealables(store)).filter((r) => r.mac === null).length;
  if (unsealed > 0) throw new UnsealedAuthorizationDataError(unsealed);
}

/** Seals every row stored without a seal (unless `trusted` is false and there is one: then it throws); returns how many it sealed. */
export async function bindAuthorizationData(store: Bulk, seal: AuthorizationSeal, trusted = true): Promise<number> {
  if (!trusted) await refuseUnsealed(store);
  return sealAgain(store, null, seal);
}

/** Seals every row of `from`'s generation under `to`, then drops `from` from the stored key. */
async function completeRenewal(store: Store, from: AuthorizationSeal, to: AuthorizationSeal): Promise<number> {
  const resealed = await sealAgain(store, from, to);
  await finishRenewal(store.settings);
  return resealed;
}

/**
 * Finishes a renewal a stop cut short, with the authorization digest: checked under `from` (rows sealed under either
 * generation count as their seal under `from`), sealed again under `to`. A digest that does not match is left as it
 * is, of `from`'s generation: the start refuses it then (authorization-digest-start.ts), with its advice.
 */
async function finishCutShortRenewal(store: Store, from: AuthorizationSeal, to: AuthorizationSeal): Promise<number> {
  const either: IntactTest = (mac, expected) => from.intact(mac, expected(from)) || to.intact(mac, expected(to));
  const counted = await checkStoredDigest(store, from, either).catch((err: unknown) => {
    if (err instanceof AuthorizationDigestError) return null;
    throw err;
  });
  const resealed = await completeRenewal(store, from, to);
  if (counted !== null) await storeDigest(store, to, counted + 1);
  return resealed;
}

/**
 * The deployment's authorization seal. On the first start that makes its key
 * the rows stored before are sealed (`bound` counts them); a renewal a
 * crash cut short is finished (`resealed` counts the rows sealed again).
 */
export async function openAuthorizationSeal(
  store: Store,
  keyring: Keyring,
  file: string,
  /** Whether rows found unsealed may be sealed: the data dir ran against this database before, or the operator says so. */
  trusted: boolean,
): Promise<{ seal: AuthorizationSeal; bound: number | null; resealed: number | null; vaultsUpgraded: number }> {
  const loaded = await loadAuthorizationKey(store.settings, keyring, file);
  const resealed = loaded.previous ? await finishCutShortRenewal(store, loaded.previous, loaded.seal) : null;
  if (loaded.previous) recordAuthorizationKey(file, loaded.seal, true);
  // Vaults sealed before their seal covered the deletion state (a build before schema 18): once.
  const vaultsUpgraded = await upgradeVaultSeals(store, loaded.seal);
  if (loaded.bound) return { seal: loaded.seal, bound: null, resealed, vaultsUpgraded };
  const bound = await bindAuthorizationData(store, loaded.seal, trusted);
  await markAuthorizationKeyBound(store.settings, keyring, file);
  return { seal: loaded.seal, bound, resealed, vaultsUpgraded };
}

/**
 * Renews the key (a master key rotation): a new generation under the
 * keyring's primary, every row sealed again under it, the old one dropped.
 * With `holder` (a running server), sealed writes wait meanwhile and then use
 * the new seal. Returns the new seal (null: no bound key to renew).
 */
export async function renewAuthorizationKey(store: Store, keyring: Keyring, holder?: SealHolder, skipDigest = false): Promise<AuthorizationSeal | null> {
  let next: AuthorizationSeal | null = null;
  // The authorization digest (authorization-digest.ts) follows: checked under the generation renewed, the store's
  // guard set aside while every row is sealed again (each would read every row), the rows sealed under the new one.
  const host = store.authorizationDigest;
  const guard = host?.guard ?? null;
  let counted: number | null = null;
  const run = async () => {
    const current = holder?.current() ?? (await loadCurrentSeal(store, keyring));
    if (current && !skipDigest) counted = await checkStoredDigest(store, current);
    await host?.use(null);
    const renewal = await beginRenewal(store.settings, keyring);
    if (!renewal) return false;
    next = renewal.to;
    await completeRenewal(store, renewal.from, renewal.to);
    return true;
  };
  try {
    // The next seal is known only once stored; the holder's writes wait from before it is made.
    const renewed = holder ? await holder.renewing(() => next, run) : await run();
    if (renewed && next && counted !== null) {
      await storeDigest(store, next, counted + 1);
      guard?.sealed(counted + 1);
    }
    return renewed ? next : null;
  } finally {
    await host?.use(guard);
  }
}

/** Throws an AuthorizationDigestError unless the rows are those the authorization digest sealed (none stored: nothing to hold them to). */
export async function checkAuthorizationDigest(store: Store, keyring: Keyring): Promise<void> {
  const current = await loadCurrentSeal(store, keyring);
  if (current) await checkStoredDigest(store, current);
}

/** The stored key's current seal, for a renewal without a running server's holder (null: no key, or a renewal unfinished, which beginRenewal leaves to a start). */
async function loadCurrentSeal(store: Store, keyring: Keyring): Promise<AuthorizationSeal | null> {
  const raw = await store.settings.get(AUTHORIZATION_KEY_SETTING);
  return raw === null || (JSON.parse(raw) as { previous?: unknown }).previous ? null : sealOfStoredKey(raw, keyring);
}
