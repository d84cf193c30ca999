import { createSecretKey, randomBytes } from 'node:crypto';
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
