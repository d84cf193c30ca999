import type { Keyring } from './keyring.js';

// A key kept in the settings table wrapped by the master keyring (the backup
// key, the audit key), as JSON: the master key id and the sealed key, plus
// whatever else the owner stores beside them (bound in through the AAD).

export interface WrappedSetting {
  keyId: string;
  sealed: string;
}

export const wrapInto = <T extends object>(keyring: Keyring, key: Buffer, aad: string, extra: T): T & WrappedSetting => {
  const { sealed, keyId } = keyring.wrap(key, aad);
  return { ...extra, keyId, sealed: sealed.toString('base64') };
};

export const unwrapFrom = (keyring: Keyring, stored: WrappedSetting, aad: string): Buffer => keyring.unwrap(stored.keyId, Buffer.from(stored.sealed, 'base64'), aad);

/** A wrapped setting's JSON; one that is not JSON (written outside coffer) is named in the error. */
export function parseWrappedSetting<T extends WrappedSetting>(name: string, raw: string): T {
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new Error(`the settings row '${name}' is not JSON: it was changed outside coffer`);
  }
}

/** `w` rewrapped under `to`'s primary, the rest of it kept (`w` itself when it is there already). */
export function rewrappedUnder<T extends WrappedSetting>(from: Keyring, to: Keyring, w: T, aad: string): T {
  if (w.keyId === to.primaryId) return w;
  const key = unwrapFrom(from, w, aad);
  const next = wrapInto(to, key, aad, w);
  key.fill(0);
  return next;
}
