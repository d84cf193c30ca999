import type { SettingsStore, SigningKeyRow, Store } from '../storage/store-types.js';
import type { WrappedDataKey } from '../storage/vault-store-types.js';
import { IntegrityError, newDataKey, signingKeyAad } from './envelope.js';
import { bornUnder, maySeal, rewrapVaultKey, unwrapVaultKey, wrapVaultKey } from './vault-key-wrap.js';
import { backupKeyIds, checkBackupKeys, checkRenewedBackupKey, renewBackupKeyWrapping, rewrapBackupKeys } from './backup-key.js';
import { auditKeyIds, checkAuditKeys, renewAuditKey, rewrapAuditKey } from '../audit/audit-key.js';
import { checkCredentialPepper, renewCredentialPepper, rewrapCredentialPepper } from '../identity/credential-pepper.js';
import { pepperKeyIds, readPepperRow } from '../identity/credential-pepper-row.js';
import type { CredentialHasher } from '../identity/password-hash.js';
import { authorizationKeyIds, checkAuthorizationKey, checkRenewedAuthorizationKey, rewrapAuthorizationKey } from '../authorization/authorization-key.js';
import type { AuthorizationSeal } from '../authorization/authorization-seal.js';
import { checkAuthorizationDigest, renewAuthorizationKey } from '../authorization/authorization-binding.js';
import { addPrimaryToFile, loadKeyring, retainOnlyInFile, type Keyring } from './keyring.js';

// A rotation renews every vault's data key, the backup key and the audit
// key, the audit key and the credential pepper (a new generation each,
// wrapped under the new primary; every stored credential hash is keyed again
// under the new pepper), then rewraps
// every key still wrapped by an older master key under the primary. Values
// (and backups, and audit records) already made are not re-encrypted or
// MACed again: they open or verify with their generation's key, which stays.
// So whoever holds the old master key and a database copy reads what that
// copy held, and nothing written after the rotation; and cannot forge audit
// records after it.

export interface RewrapResult {
  /** Vaults whose data key was renewed. */
  renewedDataKeys: number;
  /** Vault data keys (current and earlier generations) rewrapped. */
  vaultKeys: number;
  signingKeys: number;
  /** Whether the backup key was renewed (false: none exists yet). */
  renewedBackupKey: boolean;
  /** Whether any backup key (current or earlier) was rewrapped. */
  backupKey: boolean;
  /** Whether the audit key was renewed (false: none exists yet). */
  renewedAuditKey: boolean;
  /** Whether any audit key generation was rewrapped. */
  auditKey: boolean;
  /** Whether the credential pepper was renewed (false: none exists yet). */
  renewedCredentialPepper: boolean;
  /** Whether any credential pepper generation was rewrapped. */
  credentialPepper: boolean;
  /** Whether the authorization key (authorization-seal.ts) was renewed, every row sealed again under it (false: none yet, or a cluster member's rotation). */
  renewedAuthorizationKey: boolean;
  /** Whether the authorization key was rewrapped. */
  authorizationKey: boolean;
  /** Signing keys left as they were: they do not open under the keyring (written into the database without it). */
  untrustedSigningKeys: string[];
}

/** Whether a stored signing key opens under the keyring (the token service trusts no other). */
function signingKeyOpens(row: SigningKeyRow, keyring: Keyring): boolean {
  try {
    keyring.unwrap(row.masterKeyId, row.privateSealed, signingKeyAad(row.kid, row.retiredAt)).fill(0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lets the requests waiting meanwhile run: SQLite's calls are synchronous,
 * so a rotation over many vaults would otherwise hold the event loop until
 * it ends (reads go on during a rotation; writes wait for it anyway).
 */
const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A vault key that does not open under the keyring stops the rotation with the vault named (the master keys all stay). */
function checkVaultKey(keyring: Keyring, row: { id: string; generation: number; masterKeyId: string; dekWrapped: Buffer }): void {
  try {
    unwrapVaultKey(keyring, row).raw.fill(0);
  } catch (err) {
    throw new IntegrityError(`the data key of vault ${row.id} (generation ${row.generation}, master key ${row.masterKeyId}) does not open under the master keyring: ${(err as Error).message}`);
  }
}

/** A rotation refused before it changed anything: a key it would rewrap does not open under the master keyring. */
export class RotationRefusedError extends Error {
  override name = 'RotationRefusedError';
}

/**
 * Before anything changes, every vault key and backup key the rotation
 * would rewrap must open: one that does not (a damaged or tampered row)
 * stops it here, naming the vault, instead of half-way, after the data keys
 * were renewed and with a master key added that a retry would add again.
 */
export async function checkKeysOpen(store: Store, keyring: Keyring): Promise<void> {
  const [rolledBack] = (await currentDataKeys(store)).rolledBack;
  if (rolledBack) throw new RotationRefusedError(`${rolledBackAdvice(rolledBack)}. Nothing was changed.`);
  for (const row of await store.vaults.listKeys()) {
    try {
      checkVaultKey(keyring, row);
    } catch (err) {
      throw new RotationRefusedError(
        `${(err as Error).message}. Nothing was changed. Delete and purge that vault (its values cannot be read anyway) or put its row back from a database backup, then rotate again.`,
      );
    }
  }
  try {
    await checkBackupKeys(store.settings, keyring);
  } catch (err) {
    throw new RotationRefusedError(`the backup keys do not open under the master keyring (${(err as Error).message}). Nothing was changed.`);
  }
  try {
    await checkAuditKeys(store.settings, keyring);
  } catch (err) {
    throw new RotationRefusedError(`the audit keys do not open under the master keyring (${(err as Error).message}). Nothing was changed.`);
  }
  try {
    await checkCredentialPepper(store.settings, keyring);
  } catch (err) {
    throw new RotationRefusedError(`the credential pepper does not open under the master keyring (${(err as Error).message}). Nothing was changed.`);
  }
  try {
    await checkAuthorizationKey(store.settings, keyring);
  } catch (err) {
    throw new RotationRefusedError(`the authorization key does not open under the master keyring (${(err as Error).message}). Nothing was changed.`);
  }
}

/** Called with each renewed data key (raw; the callee zeroes it) as it is stored. */
export type OnRenewed = (vaultId: string, generation: number, raw: Buffer) => void;

/** A vault whose current data key generation is not above its earlier ones. */
export interface RolledBackVault {
  id: string;
  generation: number;
  newestEarlier: number;
}

/**
 * Each vault's current data key (the vaults row's), and the vaults whose
 * current generation is not above every earlier one: a row put back from
 * before a renewal (by a database writer or a partial restore). Renewing
 * such a vault would collide with the generations it already has, so it is
 * left alone and named instead.
 */
async function currentDataKeys(store: Store): Promise<{ current: WrappedDataKey[]; rolledBack: RolledBackVault[] }> {
  const rows = await store.vaults.listKeys();
  const newestEarlier = new Map<string, number>();
  for (const k of rows) if (!k.current) newestEarlier.set(k.id, Math.max(k.generation, newestEarlier.get(k.id) ?? -1));
  const current: WrappedDataKey[] = [];
  const rolledBack: RolledBackVault[] = [];
  for (const k of rows) {
    if (!k.current) continue;
    const newest = newestEarlier.get(k.id) ?? -1;
    if (newest >= k.generation) rolledBack.push({ id: k.id, generation: k.generation, newestEarlier: newest });
    else current.push(k);
  }
  return { current, rolledBack };
}

/** What to do about a vault whose current key is older than its earlier ones (logged at start, and a rotation refuses). */
export const rolledBackAdvice = (v: RolledBackVault) =>
  `vault ${v.id} holds data key generation ${v.generation} as current, but generation ${v.newestEarlier} as an earlier one: its row was put back from before a key renewal. Put the vault's row back from a database backup made after the renewal; until then its values written since do not open and writes to it may fail`;

/** Gives every vault (or each whose current key `needsRenewal` picks) a new data key under the keyring's primary; returns how many were renewed. */
async function renewDataKeys(current: WrappedDataKey[], store: Store, keyring: Keyring, onRenewed: OnRenewed, needsRenewal: (current: WrappedDataKey) => boolean = () => true): Promise<WrappedDataKey[]> {
  const renewed: WrappedDataKey[] = [];
  for (const key of current) {
    if (!needsRenewal(key)) continue;
    const from = key.generation;
    const dek = newDataKey();
    const next = wrapVaultKey(keyring, key.id, from + 1, dek);
    // False: the vault was purged meanwhile, or renewed by another rotation (its key is new either way).
    if (await store.vaults.renewKey(key.id, from, next)) {
      onRenewed(key.id, from + 1, dek);
      renewed.push(key);
    }
    dek.fill(0);
    await yieldToRequests();
  }
  return renewed;
}

/**
 * At start: renews each vault's current data key that may not seal (born
 * under a master key the keyring no longer holds, or before births were
 * recorded: vault-key-wrap.ts), so that its writes go on. Returns how many
 * of each kind were renewed, and the vaults whose row was rolled back (left
 * alone: see rolledBackAdvice).
 */
export async function renewUnsealableDataKeys(
  store: Store,
  keyring: Keyring,
): Promise<{ unrecorded: number; foreign: number; rolledBack: RolledBackVault[] }> {
  const { current, rolledBack } = await currentDataKeys(store);
  const renewed = await renewDataKeys(current, store, keyring, () => {}, (key) => !maySeal(keyring, bornUnder(key.dekWrapped)));
  const unrecorded = renewed.filter((k) => bornUnder(k.dekWrapped) === null).length;
  return { unrecorded, foreign: renewed.length - unrecorded, rolledBack };
}

/** What a running server takes from a rotation as it happens: the vaults' new data keys, and its credential hasher to renew. */
export interface RotationHooks {
  renewed?: OnRenewed;
  hasher?: CredentialHasher;
  /** Renews the authorization key, returning its new seal (default: renewAuthorizationKey with no server's writes to hold). */
  renewAuthorization?: (keyring: Keyring) => Promise<AuthorizationSeal | null>;
  /**
   * A start with --accept-authorization-rows: the authorization digest is not held to the rows (the start seals them
   * as found afterwards, authorization-digest-start.ts), or a rotation at start would keep it from ever starting.
   */
  acceptAuthorizationRows?: boolean;
}

export async function rewrapAll(store: Store, keyring: Keyring, hooks: RotationHooks = {}): Promise<RewrapResult> {
  await checkKeysOpen(store, keyring);
  // Before any key moves: a rotation that would stop at the authorization key's renewal stops here instead.
  if (!hooks.acceptAuthorizationRows) await checkAuthorizationDigest(store, keyring);
  const { current } = await currentDataKeys(store);
  const renewedDataKeys = (await renewDataKeys(current, store, keyring, hooks.renewed ?? (() => {}))).length;
  const renewedBackup = await renewBackupKeyWrapping(store.settings, keyring);
  const renewedBackupKey = renewedBackup !== null;
  const renewedAuditKey = await renewAuditKey(store, keyring);
  const renewedCredentialPepper = await renewCredentialPepper(store.settings, store.principals, keyring, hooks.hasher);
  const renewedSeal = await (hooks.renewAuthorization ?? ((k) => renewAuthorizationKey(store, k, undefined, hooks.acceptAuthorizationRows)))(keyring);
  let vaultKeys = 0;
  for (const row of await store.vaults.listKeys()) {
    if (row.masterKeyId === keyring.primaryId) continue;
    await store.vaults.rewrapKey({ id: row.id, generation: row.generation, ...rewrapVaultKey(keyring, row) });
    vaultKeys++;
    await yieldToRequests();
  }
  let signingKeys = 0;
  const untrustedSigningKeys: string[] = [];
  for (const row of await store.signingKeys.list()) {
    if (row.masterKeyId === keyring.primaryId) continue;
    // A key that does not open signs and verifies nothing; it must not stop the rotation (and keep an old master key alive).
    if (!signingKeyOpens(row, keyring)) {
      untrustedSigningKeys.push(row.kid);
      continue;
    }
    const pkcs8 = keyring.unwrap(row.masterKeyId, row.privateSealed, signingKeyAad(row.kid, row.retiredAt));
    const { sealed, keyId } = keyring.wrap(pkcs8, signingKeyAad(row.kid, row.retiredAt));
    await store.signingKeys.rewrap(row.kid, sealed, keyId);
    signingKeys++;
  }
  const backupKey = await rewrapBackupKeys(store.settings, keyring);
  if (renewedBackup) await checkRenewedBackupKey(store.settings, renewedBackup);
  const auditKey = await rewrapAuditKey(store.settings, keyring, keyring);
  const credentialPepper = await rewrapCredentialPepper(store.settings, keyring, keyring);
  // Renewed: the new generation is under the new master key already, and the row must be exactly it. Otherwise rewrapped.
  if (renewedSeal) await checkRenewedAuthorizationKey(store.settings, keyring, renewedSeal);
  const authorizationKey = renewedSeal ? false : await rewrapAuthorizationKey(store.settings, keyring, keyring);
  const renewedAuthorizationKey = renewedSeal !== null;
  return {
    renewedDataKeys,
    renewedBackupKey,
    renewedAuditKey,
    renewedCredentialPepper,
    renewedAuthorizationKey,
    vaultKeys,
    signingKeys,
    backupKey,
    auditKey,
    credentialPepper,
    authorizationKey,
    untrustedSigningKeys,
  };
}

/** Master key ids still referenced by stored wrapped keys (signing keys that do not open under `keyring` left out). */
export async function keyIdsInUse(store: Pick<Store, 'vaults' | 'signingKeys' | 'settings'>, keyring: Keyring): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const row of await store.vaults.listKeys()) ids.add(row.masterKeyId);
  for (const row of await store.signingKeys.list()) if (signingKeyOpens(row, keyring)) ids.add(row.masterKeyId);
  for (const id of await settingsKeyIds(store.settings)) ids.add(id);
  return ids;
}

/** Master key ids the settings' wrapped keys name (backup, audit, credential pepper, authorization), one per wrapped key. */
export async function settingsKeyIds(settings: Pick<SettingsStore, 'get'>): Promise<string[]> {
  const pepper = await readPepperRow(settings);
  return [...(await backupKeyIds(settings)), ...(await auditKeyIds(settings)), ...(pepper ? pepperKeyIds(pepper.stored) : []), ...(await authorizationKeyIds(settings))];
}

/**
 * Rotates a file-based keyring: adds a new primary, rewraps every wrapped key
 * under it, then drops the keys nothing references any more. `keyring` lets
 * a running server switch to each keyring as it becomes current, and
 * `renewed` take the vaults' new data keys.
 */
export async function rotateKeyringFile(
  file: string,
  store: Store,
  on: RotationHooks & { keyring?: (keyring: Keyring) => void; rewrapped?: () => void } = {},
): Promise<RewrapResult & { primaryId: string; retired: string[] }> {
  const onKeyring = on.keyring ?? (() => {});
  // Checked before the new key is added, so that a refused rotation leaves the key file as it was.
  const current = loadKeyring({ file }).keyring;
  await checkKeysOpen(store, current);
  // A started deployment's database always holds keys wrapped by its keyring (signing, audit, pepper): one
  // that holds none is another, or an empty one (a stray SQLite file beside a PostgreSQL deployment's data
  // dir), and rotating over it would drop the master key the real data is wrapped with.
  const used = await keyIdsInUse(store, current);
  if (!current.ids().some((id) => used.has(id))) {
    throw new RotationRefusedError(
      "the database holds no key wrapped by this data dir's master key: it is not this deployment's database, or no server has started on it. Nothing was changed. If the deployment keeps its data in PostgreSQL, pass --database-url (or set COFFER_DATABASE_URL).",
    );
  }
  const both = addPrimaryToFile(file);
  onKeyring(both);
  const result = await rewrapAll(store, both, on);
  // Before any key is retired: whoever holds wrapped keys read earlier must read them again.
  on.rewrapped?.();
  const inUse = await keyIdsInUse(store, both);
  // Every key still referenced stays, this rotation's own included: the file's primary is kept as primary anyway.
  const keep = both.ids().filter((id) => inUse.has(id));
  retainOnlyInFile(file, keep);
  const final = loadKeyring({ file }).keyring;
  onKeyring(final);
  return { ...result, primaryId: final.primaryId, retired: both.ids().filter((id) => !final.has(id)) };
}
