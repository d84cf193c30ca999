import type { PrincipalRow, PrincipalStore } from '../storage/store-types.js';
import { ownerId, type CredentialHasher, type CredentialOwner } from './password-hash.js';

// The client secrets and passwords a cluster member stored itself lately.
// Another member's pepper renewal converts the hashes stored when it began
// (credential-pepper.ts); one this member stored under the previous
// generation before it read the renewal is not among them, and would stop
// working when the conversion ends. Reading the renewal, this member holds
// both peppers and keys those again itself (CredentialHasher.catchUp).
//
// Every server's directory writes through watchCredentialWrites (only a
// cluster's members have other members' renewals to catch up with). It
// also unlists, while a conversion runs, what is replaced or removed
// through the server (CredentialHasher.unlist): written back into the
// database, it neither verifies on this server nor is keyed again by its
// conversion.
//
// Only what this server stored, and only the newest per row: a row's entry
// goes when the row gets a newer credential or is removed through this
// server, and each entry is tried once, where its row still holds exactly
// it. So a password reset or a secret removed through this server, written
// back into the database by someone who knows it, is never keyed again by
// this. One reset or removed through another member is, if written back
// before this one reads the renewal (milliseconds, through the change
// feed; up to a minute without it).

/** How many rows' credentials are remembered, and for how long (a renewal lists what was stored before it). */
const MAX_ENTRIES = 10_000;
const KEPT_FOR_MS = 10 * 60_000;

export interface OwnCredentials {
  /** A credential this server stored (its write committed), in place of `replaced` if any. */
  stored(owner: CredentialOwner, hash: string, replaced?: string): void;
  /** Credentials removed through this server (a client secret, or a deleted principal's). */
  removed(credentials: readonly StoredCredential[]): void;
  /**
   * Keys again those behind the current generation, each tried once, and
   * forgets entries past their time. `overflowed`: entries dropped for room
   * since the last call (their credentials may stop working if a renewal
   * had not listed them).
   */
  catchUp(): Promise<{ caughtUp: number; overflowed: number }>;
}

interface Entry {
  owner: CredentialOwner;
  hash: string;
  at: number;
}

/** `track` false (a single server): nothing is kept to key again, and only unlisting is done. */
export function createOwnCredentials(principals: Pick<PrincipalStore, 'replaceCredentialHash'>, hasher: CredentialHasher, onError: (err: Error) => void, track = true): OwnCredentials {
  // By owner, oldest first (a stored entry moves to the end).
  const entries = new Map<string, Entry>();
  // Dropped for room since the last catchUp: reported then.
  let overflowed = 0;
  const attempt = async (key: string, e: Entry): Promise<boolean> => {
    // Replaced or removed since (a catchUp's list is read before its awaits), or tried already: never tried.
    if (entries.get(key) !== e) return false;
    const next = hasher.catchUp(e.hash, e.owner);
    if (next === null) return false;
    entries.delete(key);
    return principals.replaceCredentialHash(e.owner.objectId, e.owner.keyId ?? null, e.hash, next);
  };
  return {
    stored(owner, hash, replaced) {
      // While a conversion runs, what was replaced is listed no more (CredentialHasher.unlist).
      if (replaced !== undefined) hasher.unlist(replaced, owner);
      if (!track) return;
      const key = ownerId(owner);
      const entry = { owner, hash, at: Date.now() };
      entries.delete(key);
      entries.set(key, entry);
      if (entries.size > MAX_ENTRIES) {
        entries.delete(entries.keys().next().value!);
        overflowed++;
      }
      // Made before this server read a renewal, stored after: keyed again now.
      attempt(key, entry).catch(onError);
    },
    removed(credentials) {
      for (const c of credentials) {
        hasher.unlist(c.hash, c.owner);
        entries.delete(ownerId(c.owner));
      }
    },
    async catchUp() {
      const since = Date.now() - KEPT_FOR_MS;
      const dropped = overflowed;
      overflowed = 0;
      let caughtUp = 0;
      for (const [key, e] of [...entries]) {
        if (e.at < since && entries.get(key) === e) entries.delete(key);
        else if (await attempt(key, e)) caughtUp++;
      }
      return { caughtUp, overflowed: dropped };
    },
  };
}

/** A stored credential hash and the row it belongs to. */
export interface StoredCredential {
  owner: CredentialOwner;
  hash: string;
}

/** A principal's credentials as stored: its password's hash, and (a service principal's) its client secrets', or the one of `keyId`. */
export async function credentialsOf(principals: Pick<PrincipalStore, 'listClientSecrets'>, p: PrincipalRow, keyId?: string): Promise<StoredCredential[]> {
  const out: StoredCredential[] = [];
  if (keyId === undefined && p.passwordHash !== null) out.push({ owner: { objectId: p.objectId }, hash: p.passwordHash });
  if (p.kind !== 'ServicePrincipal') return out;
  for (const s of await principals.listClientSecrets(p.objectId)) if (keyId === undefined || s.keyId === keyId) out.push({ owner: { objectId: p.objectId, keyId: s.keyId }, hash: s.secretHash });
  return out;
}

/** The credentials a removal is about to take: a principal's, or one client secret. */
async function credentialsBefore(principals: PrincipalStore, objectId: string, keyId?: string): Promise<StoredCredential[]> {
  const p = await principals.get(objectId);
  return p ? credentialsOf(principals, p, keyId) : [];
}

/** `principals` with every credential it stores, replaces or removes told to `own` (the directory writes through it). */
export function watchCredentialWrites(principals: PrincipalStore, own: OwnCredentials): PrincipalStore {
  return {
    ...principals,
    async insert(row, audit, firstSecret, firstKeys) {
      await principals.insert(row, audit, firstSecret, firstKeys);
      if (row.passwordHash !== null) own.stored({ objectId: row.objectId }, row.passwordHash);
      if (firstSecret) own.stored({ objectId: row.objectId, keyId: firstSecret.keyId }, firstSecret.secretHash);
    },
    async addClientSecret(row, audit) {
      await principals.addClientSecret(row, audit);
      own.stored({ objectId: row.objectId, keyId: row.keyId }, row.secretHash);
    },
    async setPassword(objectId, from, to, audit) {
      const changed = await principals.setPassword(objectId, from, to, audit);
      if (changed) own.stored({ objectId }, to, from);
      return changed;
    },
    // Read first (removals are rare); forgotten even if the call fails: it may have committed, and forgetting costs at most a catch-up.
    async removeClientSecret(objectId, keyId, audit) {
      const gone = await credentialsBefore(principals, objectId, keyId);
      try {
        return await principals.removeClientSecret(objectId, keyId, audit);
      } finally {
        own.removed(gone);
      }
    },
    async delete(objectId, audit) {
      const gone = await credentialsBefore(principals, objectId);
      try {
        return await principals.delete(objectId, audit);
      } finally {
        own.removed(gone);
      }
    },
  };
}
