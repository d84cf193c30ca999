import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ADMIN_SEAL_SETTING, ADMIN_SETTING, openAuthorizationSeal, renewAuthorizationKey } from '../authorization/authorization-binding.js';
import { AUTHORIZATION_KEY_FILE, checkAuthorizationKeyRecord, recordAuthorizationKey } from '../authorization/authorization-key.js';
import type { AuthorizationSeal } from '../authorization/authorization-seal.js';
import { createSealHolder, refusedAdvice, sealKeyCredentials, sealStores, type SealedStores } from '../authorization/sealed-stores.js';
import { IntegrityError } from '../crypto/envelope.js';
import { startAuthorizationDigest, type ForeseenDigest } from './authorization-digest-start.js';
import type { Keyring } from '../crypto/keyring.js';
import type { PrincipalStore, Store } from '../storage/store-types.js';
import { AUDIT_KEY_SETTING } from '../audit/audit-chain.js';
import { PEPPER_RECORD_FILE } from '../identity/credential-pepper.js';
import { CREDENTIAL_PEPPER_SETTING } from '../identity/credential-pepper-row.js';

// The server's authorization seal (authorization/authorization-seal.ts): the
// key opened (made, bound or its renewal finished on the way), the stores the
// services use, and what a master key rotation calls.

export interface Sealing {
  stores: SealedStores;
  /** The principals' store with its key credentials sealed (sealed-stores.ts). */
  principals(store: PrincipalStore): PrincipalStore;
  /** Renews the key, holding this server's sealed writes meanwhile (a master key rotation's hook); its new seal. */
  renew(keyring: Keyring): Promise<AuthorizationSeal | null>;
  /** Records the current key in the data dir (after a rotation renewed it). */
  record(): void;
  /**
   * Throws unless the deployment administrator's object id (a settings row)
   * carries its seal; seals it first if this start made the key (a new
   * deployment, whose administrator ensureDeployment has just stored).
   */
  checkAdministrator(objectId: string): Promise<void>;
  /** Records the last authorization write in the data dir's authorization-digest.json now (at shutdown; otherwise every second). */
  recordDigest(): void;
}

export async function startSealing(
  store: Store,
  keyring: Keyring,
  opts: {
    dataDir: string;
    sealStored: boolean;
    /** --accept-authorization-rows (authorization-digest-start.ts). */
    acceptRows?: boolean;
    /** Whether the data dir served its SQLite database with a coffer from before the audit key only (earlierBuildDataDir). */
    servedByEarlierBuild?: boolean;
    /** The authorization digest as the start's pre-flight found it (authorization-digest-start.ts's foreseenStill). */
    foreseenDigest?: ForeseenDigest | null;
  },
  log: Pick<Logger, 'warn' | 'info' | 'error'>,
): Promise<Sealing> {
  const file = join(opts.dataDir, AUTHORIZATION_KEY_FILE);
  const trusted = trustsRowsFound(opts);
  // Left on, every start on an empty data dir would seal what a writer left after removing the key.
  if (opts.sealStored) log.warn('started with --seal-stored-authorization: remove it once this start has sealed the stored rows');
  const { seal, bound, resealed, vaultsUpgraded } = await openAuthorizationSeal(store, keyring, file, trusted);
  if (vaultsUpgraded > 0) log.warn({ rows: vaultsUpgraded }, 'sealed the vaults again, with their deletion state (their seal covers it from schema 18 on), trusting it as found');
  if (bound) log.warn({ rows: bound }, 'sealed the role assignments, custom roles, group memberships and vaults stored before this build sealed them, trusting them as found');
  if (resealed !== null) log.warn({ rows: resealed }, 'finished the authorization key renewal a stop had cut short');
  const holder = createSealHolder(seal);
  // Before anything reads the rows to decide (the administrator's check below is a settings row, not in the digest).
  const { flush: recordDigest, asChecked } = await startAuthorizationDigest(store, holder, { dataDir: opts.dataDir, trusted, accept: opts.acceptRows === true, keyBoundNow: bound !== null, foreseen: opts.foreseenDigest }, log);
  const onRefused = (r: Parameters<Parameters<typeof sealStores>[2]>[0]) => log.error({ kind: r.kind, id: r.id }, refusedAdvice(r));
  const sealing: Sealing = {
    stores: sealStores(store, holder, onRefused, (row) => store.authorizationDigest?.vaultHolds(row) ?? true, asChecked),
    principals: (p) =>
      sealKeyCredentials(
        p,
        holder,
        onRefused,
        (row) => store.authorizationDigest?.keyCredentialHolds(row) ?? true,
        (row) => store.authorizationDigest?.federatedCredentialHolds(row) ?? true,
      ),
    renew: (k) => renewAuthorizationKey(store, k, holder),
    record: () => recordAuthorizationKey(file, holder.current(), true),
    recordDigest,
    async checkAdministrator(objectId) {
      if (bound !== null && (await store.settings.get(ADMIN_SEAL_SETTING)) === null) {
        await holder.writing(async (s) => void (await store.settings.setIfAbsent(ADMIN_SEAL_SETTING, s.setting(ADMIN_SETTING, objectId))));
      }
      if (!holder.matches(await store.settings.get(ADMIN_SEAL_SETTING), (s) => s.setting(ADMIN_SETTING, objectId))) throw adminSealError(objectId);
    },
  };
  // Before the deployment is read (which may add a client secret to the principal it names).
  const admin = await store.settings.get(ADMIN_SETTING);
  if (admin !== null) await sealing.checkAdministrator(admin);
  return sealing;
}

/**
 * Unsealed rows are sealed as found only by a data dir that ran against the database before (an upgrade),
 * or on the operator's word: otherwise removing the key from the database would have them sealed.
 */
export const trustsRowsFound = (opts: { dataDir: string; sealStored: boolean; servedByEarlierBuild?: boolean }): boolean =>
  opts.sealStored || existsSync(join(opts.dataDir, 'audit-key.json')) || opts.servedByEarlierBuild === true;

/** The deployment administrator's row does not match its seal. */
export const adminSealError = (objectId: string): IntegrityError =>
  new IntegrityError(
    `the deployment administrator's object id (settings row '${ADMIN_SETTING}', now ${objectId}) does not match its seal: it was changed outside coffer. ` +
      'Put the row back from a database backup; whoever it names administers the directory.',
  );

/** Files every build since the audit key (2026-12-02) writes in the data dir at its first start. */
const RECORDS_OF_LATER_BUILDS = ['audit-key.json', 'audit-head.json', PEPPER_RECORD_FILE];

/**
 * Whether the data dir served this SQLite database with a coffer from before the audit key (2026-12-02, the
 * first build to write audit-key.json) and no later one: an upgrade from such a release. Its data dir has
 * bootstrap.json and none of the records later builds write, and its database holds neither an audit key nor a
 * credential pepper: every build since makes the audit key at its first start (the later ones the pepper too)
 * and records it in the data dir, so a database without one was never served by such a build, and a data dir
 * that ran one keeps its records. Only then does a row without a seal come from coffer itself (or from a writer
 * of a database that no build sealing rows has served yet, who needed no seal). PostgreSQL's data dirs are not
 * read so: a new member's may be a container's, made without the history of the database.
 */
export async function earlierBuildDataDir(store: Pick<Store, 'settings'>, opts: { dataDir: string; sqlite: boolean }): Promise<boolean> {
  if (!opts.sqlite || !existsSync(join(opts.dataDir, 'bootstrap.json'))) return false;
  if (RECORDS_OF_LATER_BUILDS.some((f) => existsSync(join(opts.dataDir, f)))) return false;
  return (await store.settings.get(AUDIT_KEY_SETTING)) === null && (await store.settings.get(CREDENTIAL_PEPPER_SETTING)) === null;
}

/** Holds the stored key to the data dir's record before a rotation at start touches it (authorization-key.ts). */
export const checkRecordedKey = (store: Store, keyring: Keyring, dataDir: string): Promise<void> =>
  checkAuthorizationKeyRecord(store.settings, keyring, join(dataDir, AUTHORIZATION_KEY_FILE));
