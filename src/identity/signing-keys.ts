import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { signingKeyAad } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import { readRecordFile, writeFileAtomic } from '../storage/atomic-file.js';
import type { SigningKeyRow, SigningKeyStore } from '../storage/store-types.js';

// Token signing keys as the token service holds them: RSA 2048, the private
// half sealed by the master keyring in the store, the public half always
// derived from it (never taken from the store alone).

export interface LoadedKey {
  kid: string;
  /** Null when this server does not sign with the key (retired, or another cluster member's). */
  privateKey: KeyObject | null;
  publicKey: KeyObject;
  jwk: JWK;
  createdAt: number;
  /** When the key stopped signing (unix seconds); null while it signs. */
  retiredAt: number | null;
}

const publicJwk = (publicKey: KeyObject, kid: string): JWK => ({ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256', kty: 'RSA' });

/**
 * The kids this server has seen retired, kept in its data dir: a retired key's
 * seal from before its retirement, put back from a database copy, would open
 * as active (until the master key it was made with is dropped); a kid recorded
 * here is never trusted as active again.
 */
/** Why a stored key is not trusted: its seal does not open, or its kid was seen retired and the row says active. */
export type OnUntrustedKey = (kid: string, why: 'seal' | 'retired') => void;

export interface RetiredKids {
  has(kid: string): boolean;
  add(kids: readonly string[]): void;
}

export function retiredKidsFile(file: string): RetiredKids {
  const kids = new Set<string>(readRecordFile<{ retired: string[] }>(file)?.retired ?? []);
  return {
    has: (kid) => kids.has(kid),
    add(more) {
      const before = kids.size;
      for (const kid of more) kids.add(kid);
      if (kids.size !== before) writeFileAtomic(file, JSON.stringify({ retired: [...kids] }) + '\n');
    },
  };
}

/**
 * A stored key with both halves taken from its sealed private key, or null if
 * that does not open: the stored public JWK is never trusted by itself, so a
 * row written into the database without the master key verifies nothing.
 * Nor is an active row of a kid `retired` has seen retired.
 */
export function trustedKey(row: SigningKeyRow, keyring: Keyring, onUntrusted?: OnUntrustedKey, retired?: RetiredKids): LoadedKey | null {
  if (row.retiredAt === null && retired?.has(row.kid)) {
    onUntrusted?.(row.kid, 'retired');
    return null;
  }
  let privateKey: KeyObject;
  try {
    // The retirement as sealed, not as the row says: a row made active again, or retired later, opens nothing.
    privateKey = createPrivateKey({ key: keyring.unwrap(row.masterKeyId, row.privateSealed, signingKeyAad(row.kid, row.retiredAt)), format: 'der', type: 'pkcs8' });
  } catch {
    onUntrusted?.(row.kid, 'seal');
    return null;
  }
  const publicKey = createPublicKey(privateKey);
  return { kid: row.kid, privateKey, publicKey, jwk: publicJwk(publicKey, row.kid), createdAt: row.createdAt, retiredAt: row.retiredAt };
}

/** A new signing key, stored sealed and returned loaded. */
export async function createSigningKey(store: SigningKeyStore, keyring: Keyring, now: number): Promise<LoadedKey> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID().replace(/-/g, '').slice(0, 27);
  const { sealed, keyId } = keyring.wrap(privateKey.export({ format: 'der', type: 'pkcs8' }), signingKeyAad(kid));
  await store.insert({ kid, publicJwk: JSON.stringify(publicJwk(publicKey, kid)), privateSealed: sealed, masterKeyId: keyId, createdAt: now, retiredAt: null });
  return { kid, privateKey, publicKey, jwk: publicJwk(publicKey, kid), createdAt: now, retiredAt: null };
}

/** Every trusted stored key (one made if none signs); only active keys keep their private half. */
export async function loadOrCreateKeys(store: SigningKeyStore, keyring: Keyring, now: number, onUntrusted?: OnUntrustedKey, retired?: RetiredKids): Promise<LoadedKey[]> {
  const rows = await store.list();
  const loaded = rows.map((row) => trustedKey(row, keyring, onUntrusted, retired)).filter((k): k is LoadedKey => k !== null);
  for (const key of loaded) if (key.retiredAt !== null) key.privateKey = null;
  // Retirements made while this server was down (by another member) are recorded now.
  retired?.add(loaded.filter((k) => k.retiredAt !== null).map((k) => k.kid));
  if (!loaded.some((k) => k.retiredAt === null)) loaded.unshift(await createSigningKey(store, keyring, now));
  return loaded;
}

/** Retires an active stored key at `at`, resealing it with the retirement bound in; false when it was not active (or does not open). */
export async function retireSigningKey(store: SigningKeyStore, keyring: Keyring, row: SigningKeyRow, at: number): Promise<boolean> {
  if (row.retiredAt !== null) return false;
  let pkcs8: Buffer;
  try {
    pkcs8 = keyring.unwrap(row.masterKeyId, row.privateSealed, signingKeyAad(row.kid));
  } catch {
    return false;
  }
  const { sealed, keyId } = keyring.wrap(pkcs8, signingKeyAad(row.kid, at));
  pkcs8.fill(0);
  return store.retire(row.kid, at, sealed, keyId);
}
