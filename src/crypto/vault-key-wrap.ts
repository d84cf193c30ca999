import type { Keyring } from './keyring.js';
import { IntegrityError, vaultKeyAad } from './envelope.js';

// How a vault data key is wrapped: under the primary master key, with the id
// of the master key that was primary when the key was made (where it was
// "born") bound into the AAD and written before the sealed bytes:
// [0xB0][id length][id][sealed]. A rewrap under a later master key keeps it.
//
// Why: a rotation renews every vault's data key, but the earlier generations
// stay (rewrapped) to open what they sealed, and whoever held the old master
// key knows them. Someone who can also write the database could make one of
// them a vault's current key again, and read what is sealed after that. A
// key born under a master key the keyring no longer holds never seals (see
// vault-keys.ts), and a start renews such keys (master-key-rotation.ts).
// Keys wrapped before this format have no birth and count as born under a
// key no longer held.

const BORN_FORMAT = 0xb0;

export interface WrappedVaultKey {
  id: string;
  generation: number;
  masterKeyId: string;
  dekWrapped: Buffer;
}

const aadOf = (vaultId: string, generation: number, born: string | null) => vaultKeyAad(vaultId, generation) + (born === null ? '' : `|born:${born}`);

/** The master key id a wrapped key names as its birth (null: wrapped before births were recorded). Not yet authenticated: unwrap checks it. */
export function bornUnder(dekWrapped: Buffer): string | null {
  if (dekWrapped[0] !== BORN_FORMAT || dekWrapped.length < 2) return null;
  return dekWrapped.subarray(2, 2 + dekWrapped[1]!).toString('latin1');
}

function sealedPart(dekWrapped: Buffer): Buffer {
  return dekWrapped[0] === BORN_FORMAT ? dekWrapped.subarray(2 + dekWrapped[1]!) : dekWrapped;
}

/** Wraps `raw` under the keyring's primary; `born` defaults to that primary (a new key). */
export function wrapVaultKey(keyring: Keyring, vaultId: string, generation: number, raw: Buffer, born: string = keyring.primaryId): { dekWrapped: Buffer; masterKeyId: string } {
  const id = Buffer.from(born, 'latin1');
  if (id.length === 0 || id.length > 255) throw new RangeError('a master key id must be 1 to 255 bytes');
  const { sealed, keyId } = keyring.wrap(raw, aadOf(vaultId, generation, born));
  return { dekWrapped: Buffer.concat([Buffer.from([BORN_FORMAT, id.length]), id, sealed]), masterKeyId: keyId };
}

/** Opens a wrapped vault key (throws when it does not open: a damaged or tampered row, or a key not in the keyring). */
export function unwrapVaultKey(keyring: Keyring, key: WrappedVaultKey): { raw: Buffer; born: string | null } {
  const born = bornUnder(key.dekWrapped);
  return { raw: keyring.unwrap(key.masterKeyId, sealedPart(key.dekWrapped), aadOf(key.id, key.generation, born)), born };
}

/** A key made under a master key no longer held was asked to seal (vault-keys.ts, backup-key.ts). */
export class UnsealableKeyError extends IntegrityError {
  constructor(readonly what: string) {
    super(`${what} was made under a master key that is no longer in use (an earlier key put back in the database, or a key from before the last rotation): nothing is sealed with it; restart the server to renew it`);
    this.name = 'UnsealableKeyError';
  }
}

/** Whether a key born under `born` may seal: only one born under a master key the keyring still holds. */
export const maySeal = (keyring: Keyring, born: string | null): boolean => born !== null && keyring.has(born);

/** The key rewrapped under `keyring`'s primary, its birth kept (a key without one stays without). */
export function rewrapVaultKey(keyring: Keyring, key: WrappedVaultKey): { dekWrapped: Buffer; masterKeyId: string } {
  const { raw, born } = unwrapVaultKey(keyring, key);
  try {
    if (born !== null) return wrapVaultKey(keyring, key.id, key.generation, raw, born);
    const { sealed, keyId } = keyring.wrap(raw, aadOf(key.id, key.generation, null));
    return { dekWrapped: sealed, masterKeyId: keyId };
  } finally {
    raw.fill(0);
  }
}
