import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { Keyring } from '../crypto/keyring.js';
import { rewrapSetting, unwrapFrom, wrapInto, type WrappedSetting } from '../crypto/wrapped-setting.js';
import type { AuditStore, SettingsStore } from '../storage/store-types.js';
import { ANCHOR_SETTING, GENESIS, HEAD_SETTING, sealedPoint, type ChainKey } from './audit-chain.js';

// The audit trail's MAC key (see audit-chain.ts), stored in the settings
// table wrapped by the master keyring, like the backup key. The first seq it
// covers is bound into the wrapping (the AAD), so it cannot be moved to pass
// keyed rows off as unkeyed ones. The key is made once, on the first start
// of a version that keys the chain, together with the head checkpoint (in
// one transaction): from then on a trail without a valid checkpoint fails.

export const AUDIT_KEY_SETTING = 'auditKey';
type Stored = WrappedSetting & { since: number };
const aad = (stored: { since: number }) => `coffer/audit-key/v1/since=${stored.since}`;

/** The audit key, made on first use; `onCreated` hears the first seq it covers when it is made here. */
export async function loadAuditKey(deps: { settings: SettingsStore; audit: AuditStore }, keyring: Keyring, onCreated: (since: number) => void = () => {}): Promise<ChainKey> {
  let raw = await deps.settings.get(AUDIT_KEY_SETTING);
  if (!raw) {
    // No record can be appended before the key exists, so the tip stays put meanwhile.
    const tip = await deps.audit.tip();
    const { anchor } = await deps.audit.ends();
    const since = tip.seq + 1;
    const bytes = randomBytes(32);
    const key = createSecretKey(bytes);
    const fresh = JSON.stringify(wrapInto(keyring, bytes, aad({ since }), { since }));
    bytes.fill(0);
    const sealed: Record<string, string> = { [HEAD_SETTING]: sealedPoint(key, 'head', tip) };
    if (anchor.seq !== 0 || anchor.hash !== GENESIS) sealed[ANCHOR_SETTING] = sealedPoint(key, 'anchor', anchor);
    raw = await deps.settings.setIfAbsent(AUDIT_KEY_SETTING, fresh, sealed);
    if (raw === fresh) onCreated(since);
  }
  const stored = JSON.parse(raw) as Stored;
  const bytes = unwrapFrom(keyring, stored, aad(stored));
  const key = createSecretKey(bytes);
  bytes.fill(0);
  return { key, since: stored.since };
}

export const rewrapAuditKey = (settings: SettingsStore, from: Keyring, to: Keyring): Promise<boolean> => rewrapSetting<Stored>(settings, AUDIT_KEY_SETTING, aad, from, to);

/**
 * The audit key's fingerprint and first seq, kept in the data dir beside the
 * master key: outside the database, so that someone who can only write the
 * database cannot remove the key (which would make the server key the trail
 * anew, from its last record, and leave everything before it verifiable by
 * unkeyed hashes that anyone can recompute) without the next start noticing.
 */
interface KeyRecord {
  fingerprint: string;
  since: number;
}

const fingerprintOf = (key: ChainKey): string => createHmac('sha256', key.key).update('coffer-audit-key-fingerprint').digest('hex').slice(0, 32);

export class AuditKeyChangedError extends Error {
  constructor(file: string, recorded: KeyRecord, found: string) {
    super(
      `the database's audit key ${found}, but this data dir recorded one keyed from record ${recorded.since} (${file}): ` +
        'the audit key was removed or replaced in the database, and the trail before the new key would verify by unkeyed hashes only. ' +
        `If the database was replaced on purpose, remove ${file} and start again.`,
    );
    this.name = 'AuditKeyChangedError';
  }
}

/** loadAuditKey, held to the record in `file`: a database whose key went missing or changed is refused before anything is keyed anew. */
export async function loadRecordedAuditKey(deps: { settings: SettingsStore; audit: AuditStore }, keyring: Keyring, file: string, onCreated?: (since: number) => void): Promise<ChainKey> {
  const recorded = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as KeyRecord) : null;
  if (recorded && (await deps.settings.get(AUDIT_KEY_SETTING)) === null) throw new AuditKeyChangedError(file, recorded, 'is missing');
  const key = await loadAuditKey(deps, keyring, onCreated);
  const current: KeyRecord = { fingerprint: fingerprintOf(key), since: key.since };
  if (!recorded) writeFileAtomic(file, JSON.stringify(current) + '\n');
  else if (recorded.fingerprint !== current.fingerprint || recorded.since !== current.since) throw new AuditKeyChangedError(file, recorded, `is another (keyed from record ${current.since})`);
  return key;
}
