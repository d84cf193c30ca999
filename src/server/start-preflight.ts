import { join } from 'node:path';
import { checkAuditKeyRecord } from '../audit/audit-key.js';
import { ADMIN_SEAL_SETTING, ADMIN_SETTING, refuseUnsealed } from '../authorization/authorization-binding.js';
import { AUTHORIZATION_KEY_FILE, AUTHORIZATION_KEY_SETTING, checkAuthorizationKeyRecord, sealOfStoredKey, storedKeyState } from '../authorization/authorization-key.js';
import type { Keyring } from '../crypto/keyring.js';
import { keyIdsInUse } from '../crypto/master-key-rotation.js';
import { checkPepperRecord, PEPPER_RECORD_FILE } from '../identity/credential-pepper.js';
import { DEV_IDS } from '../identity/identity-types.js';
import type { StartView } from '../storage/store-types.js';
import { upgradeVaultSeals } from '../authorization/vault-seal-upgrade.js';
import { findDigest, type ForeseenDigest } from './authorization-digest-start.js';
import { adminSealError, earlierBuildDataDir, trustsRowsFound } from './authorization-sealing.js';
import { DevDataDirError } from './bootstrap.js';

// Every refusal a start can foresee, checked before it writes anything
// (docs/deployment.md, *Upgrades*): the start migrates the schema, converts
// and seals rows, and writes the data dir's records only after these pass,
// so a refused start leaves the database and the data dir as they were and
// the previous build can still open them. Each check is the read-only half of
// the step that would refuse later on the way (that step keeps its own check,
// for what changes in between: a cluster member's start).

export interface PreflightOptions {
  dataDir: string;
  dev: boolean;
  sealStored: boolean;
  sqlite: boolean;
  /** The database is shared with other servers (--cluster): its digest is held to its rows at the start, under a lock (authorization-digest-start.ts). */
  cluster?: boolean;
  /** --accept-authorization-rows: the digest's refusal is the operator's to override (authorization-digest-start.ts). */
  acceptRows: boolean;
}

/** The database's keys are wrapped by master keys this server does not hold. */
export function unknownMasterKeyError(unknown: string[], primaryId: string): Error {
  return new Error(
    `the database's keys are wrapped by master key ${unknown.join(', ')}, which this server does not have ` +
      `(its master key is ${primaryId}): start it with the master key the database was made with ` +
      '(every member of a cluster needs the same one: COFFER_MASTER_KEY, or the same master.key file)',
  );
}

/**
 * Throws what the start would refuse; reads only (the view is rolled back after, whatever a check did). Returns the
 * authorization digest it found (null: not checked here), which the start takes if nothing changed since.
 */
export async function preflight(view: StartView, keyring: Keyring, opts: PreflightOptions): Promise<ForeseenDigest | null> {
  const unknown = [...(await keyIdsInUse(view, keyring))].filter((id) => !keyring.has(id));
  if (unknown.length > 0) throw unknownMasterKeyError(unknown, keyring.primaryId);
  // startSealing: the stored authorization key held to the data dir's record, then the rows found unsealed.
  await checkAuthorizationKeyRecord(view.settings, keyring, join(opts.dataDir, AUTHORIZATION_KEY_FILE));
  const key = await view.settings.get(AUTHORIZATION_KEY_SETTING);
  const state = key === null ? null : storedKeyState(key);
  const trusted = async () =>
    trustsRowsFound({ dataDir: opts.dataDir, sealStored: opts.sealStored, servedByEarlierBuild: await earlierBuildDataDir(view, { dataDir: opts.dataDir, sqlite: opts.sqlite }) });
  if (!state?.bound && !(await trusted())) await refuseUnsealed(view);
  // The administrator's row held to its seal (a renewal cut short is finished first, which seals it again: not foreseen here).
  const admin = await view.settings.get(ADMIN_SETTING);
  if (key !== null && state?.bound && !state.renewing && admin !== null) {
    const seal = sealOfStoredKey(key, keyring);
    if (!seal.intact(await view.settings.get(ADMIN_SEAL_SETTING), seal.setting(ADMIN_SETTING, admin))) throw adminSealError(admin);
  }
  // startSealing's authorization digest: rows put back, added or removed outside coffer. A cluster's other members may write
  // meanwhile (their writes change rows and record at once, which these reads could see half of): checked at its start only.
  let digest: ForeseenDigest | null = null;
  if (!opts.cluster && key !== null && state?.bound && !state.renewing && !opts.acceptRows) {
    const seal = sealOfStoredKey(key, keyring);
    // As the start will have done first: vaults sealed by a build before schema 18 sealed again (rolled back here).
    const upgraded = await upgradeVaultSeals(view, seal);
    const found = await findDigest(view, seal, { dataDir: opts.dataDir, trusted: await trusted() });
    if (found.refusal) throw found.refusal;
    // The start's upgrade empties the journal as it seals them: it then checks the rows itself.
    digest = upgraded > 0 ? null : { found, key };
  }
  await checkPepperRecord(view.settings, view.principals, keyring, join(opts.dataDir, PEPPER_RECORD_FILE));
  // ensureDeployment: a data dir made with --dev holds principals whose credentials are published.
  if (!opts.dev && ((await view.principals.getByAppId(DEV_IDS.adminAppId)) || (await view.principals.get(DEV_IDS.userObjectId)))) throw new DevDataDirError();
  await checkAuditKeyRecord(view.settings, keyring, join(opts.dataDir, 'audit-key.json'));
  return digest;
}
