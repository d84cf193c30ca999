import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.js';
import { parseWrappedSetting, rewrappedUnder, unwrapFrom, wrapInto, type WrappedSetting } from '../crypto/wrapped-setting.js';
import type { SettingsStore } from '../storage/store-types.js';

// The settings row that holds the credential pepper's generations, each
// wrapped by the master keyring. The top level is the current generation
// (`generation` absent: 0, as stored before renewals); `earlier` holds the
// ones before it, which verify the hashes first made under them (each hash
// is keyed again under every later generation, password-hash.ts).
//
// Each generation after the first carries a link: a MAC under the previous
// generation's pepper over its own fingerprint. A generation appended by
// someone who holds only an older master key (still in the keyring during a
// rotation) has no valid link, since they lack the pepper it follows.

export const CREDENTIAL_PEPPER_SETTING = 'credentialPepper';

export interface PepperGeneration extends WrappedSetting {
  generation: number;
  /** base64 MAC under the previous generation's pepper (generations after 0). */
  link?: string;
}

/** `converted`: every stored hash was brought to this generation (bound in the AAD). */
export interface StoredPepper extends WrappedSetting {
  converted: boolean;
  generation?: number;
  link?: string;
  earlier?: PepperGeneration[];
  /**
   * While converting: the tags (pendingTag, under this generation's pepper)
   * of the hashes stored when the generation was made, the only ones the
   * conversion keys again and the only older ones that verify meanwhile.
   * Absent in rows stored before the list: every hash of the previous
   * generation converts.
   */
  pending?: string[];
}

/**
 * A hash's tag in a conversion's list: a MAC under the new generation's
 * pepper, which whoever planted a hash under an older one cannot make, so a
 * hash written after the renewal is neither converted nor verified. It
 * covers the hash's owner (password-hash.ts ownerId): a listed hash copied
 * into another row is not listed there.
 */
export const pendingTag = (pepper: Buffer, owner: string, hash: string): string =>
  createHmac('sha256', pepper).update('coffer-credential-pending\0').update(owner).update('\0').update(hash).digest().subarray(0, 16).toString('base64url');

/**
 * The wrapping binds the generation (the first one's predates generations),
 * whether its conversion is done, and, while it runs, whether it has a list
 * of hashes to convert (`pending`): a list deleted from the row would
 * otherwise let every hash of the previous generation convert.
 */
export const pepperAad = (generation: number, converted: boolean, listed = false) =>
  (generation === 0 ? 'coffer/credential-pepper/v1' : `coffer/credential-pepper/v1;generation=${generation}`) + (converted ? '' : ';converting' + (listed ? ';listed' : ''));

export const pepperFingerprint = (pepper: Buffer): string => createHmac('sha256', pepper).update('coffer-credential-pepper-fingerprint').digest('hex').slice(0, 32);

export const pepperLink = (previous: Buffer, generation: number, pepper: Buffer): string =>
  createHmac('sha256', previous).update(`coffer-credential-pepper-link\0${generation}\0${pepperFingerprint(pepper)}`).digest('base64');

export async function readPepperRow(settings: Pick<SettingsStore, 'get'>): Promise<{ raw: string; stored: StoredPepper } | null> {
  const raw = await settings.get(CREDENTIAL_PEPPER_SETTING);
  return raw === null ? null : { raw, stored: parseWrappedSetting<StoredPepper>(CREDENTIAL_PEPPER_SETTING, raw) };
}

export const currentGeneration = (stored: StoredPepper): number => stored.generation ?? 0;

/** Every generation as stored, oldest first (the current one last, with its conversion state). */
function generationsOf(stored: StoredPepper): Array<PepperGeneration & { converted: boolean; listed: boolean }> {
  const earlier = (stored.earlier ?? []).map((g) => ({ ...g, converted: true, listed: false }));
  const current = { keyId: stored.keyId, sealed: stored.sealed, generation: currentGeneration(stored), link: stored.link, converted: stored.converted === true };
  return [...earlier, { ...current, listed: stored.pending !== undefined }];
}

/**
 * Opens every generation's pepper (index = generation). Throws when one does
 * not open under the keyring, the generations are not 0, 1, … in order, or a
 * link does not verify: the row was changed outside coffer.
 */
export function openPeppers(keyring: Keyring, stored: StoredPepper): Buffer[] {
  const peppers: Buffer[] = [];
  for (const [index, g] of generationsOf(stored).entries()) {
    if (g.generation !== index) throw new Error(`the credential pepper's generations are not 0 to ${index} in order: it was changed outside coffer`);
    let pepper: Buffer;
    try {
      pepper = unwrapFrom(keyring, g, pepperAad(index, g.converted, g.listed));
    } catch (err) {
      throw new Error(`the credential pepper (setting ${CREDENTIAL_PEPPER_SETTING}, generation ${index}) does not open under the master key: it was changed outside coffer`, { cause: err });
    }
    if (index > 0) {
      const expected = Buffer.from(pepperLink(peppers[index - 1]!, index, pepper));
      const found = Buffer.from(g.link ?? '');
      if (expected.length !== found.length || !timingSafeEqual(expected, found)) {
        throw new Error(`the credential pepper's generation ${index} was not made by its previous generation's holder: it was changed outside coffer`);
      }
    }
    peppers.push(pepper);
  }
  return peppers;
}

/** The row with `pepper` as a new current generation (conversion pending for the hashes tagged in `pending`) after every generation in `peppers`. */
export function withNewGeneration(keyring: Keyring, stored: StoredPepper, peppers: readonly Buffer[], pepper: Buffer, pending: readonly string[]): StoredPepper {
  const from = currentGeneration(stored);
  const previous: PepperGeneration = { keyId: stored.keyId, sealed: stored.sealed, generation: from, ...(stored.link ? { link: stored.link } : {}) };
  return {
    ...wrapInto(keyring, pepper, pepperAad(from + 1, false, true), { converted: false }),
    generation: from + 1,
    link: pepperLink(peppers[from]!, from + 1, pepper),
    earlier: [...(stored.earlier ?? []), previous],
    pending: [...pending],
  };
}

/** The row with its current generation's conversion marked done (its list dropped). */
export function markedConverted(keyring: Keyring, stored: StoredPepper, pepper: Buffer): StoredPepper {
  const { pending: _done, ...rest } = stored;
  return { ...rest, ...wrapInto(keyring, pepper, pepperAad(currentGeneration(stored), true), { converted: true }) };
}

/** The row with more tags in its conversion's list. */
export const withPending = (stored: StoredPepper, tags: readonly string[]): StoredPepper => ({ ...stored, pending: [...new Set([...(stored.pending ?? []), ...tags])] });

/** The row with every generation not yet under `keyring`'s primary rewrapped (null: nothing to do). */
export function rewrapped(from: Keyring, to: Keyring, stored: StoredPepper): StoredPepper | null {
  const earlier = stored.earlier?.map((g) => rewrappedUnder(from, to, g, pepperAad(g.generation, true)));
  const current = rewrappedUnder(from, to, stored, pepperAad(currentGeneration(stored), stored.converted === true, stored.pending !== undefined));
  if (current === stored && (earlier ?? []).every((g, i) => g === stored.earlier![i])) return null;
  return { ...current, ...(earlier ? { earlier } : {}) };
}

/** Master key ids the stored generations are wrapped under. */
export const pepperKeyIds = (stored: StoredPepper): string[] => generationsOf(stored).map((g) => g.keyId);
