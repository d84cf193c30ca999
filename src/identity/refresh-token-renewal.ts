import type { RefreshTokenStore } from '../storage/store-types.js';
import { rowMatches, type RefreshTokenClaims } from './refresh-token-binding.js';

// A refresh token is stored as a keyed hash under the credential pepper's
// current generation, and a master key rotation renews the pepper: a token
// issued before it redeems nothing. Its holder is told why, but only when the
// token is one this deployment issued (its row, unused, is found under an
// earlier generation and names the same user and sign-in): an unknown or
// forged token, which no earlier pepper's hash matches, gets the generic answer.
//
// Entra ID's nearest answer is AADSTS50173 (FreshTokenNeeded): a grant revoked
// by a change on the user's side (a password reset, an admin's revocation),
// with a sentence on why; coffer's why is the rotation.

export const ISSUED_BEFORE_ROTATION =
  "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The refresh token was issued before this deployment's keys were rotated (coffer admin rotate-master-key), so it is no longer valid: sign in again.";

/**
 * How many earlier generations are looked in. Refresh tokens live 90 days, and every failed
 * refresh of a well-formed token costs one read per generation: a few cover the rotations of a lifetime.
 */
export const EARLIER_GENERATIONS_LOOKED_IN = 3;

/** Whether `claims`' token was issued, and not used, under one of `earlierHashes` (its hash under earlier pepper generations). */
export async function issuedBeforeRenewal(store: RefreshTokenStore, earlierHashes: readonly string[], clientId: string, claims: RefreshTokenClaims): Promise<boolean> {
  for (const hash of earlierHashes) {
    const row = await store.findUnused(hash, clientId);
    if (row) return rowMatches(row, claims);
  }
  return false;
}
