import type { AccessIndex } from '../authorization/access-index.js';
import type { RoleCatalog } from '../authorization/role-catalog.js';
import type { VaultKeys } from '../crypto/vault-keys.js';
import { CREDENTIAL_PEPPER_SETTING } from '../identity/credential-pepper-row.js';
import type { TokenService } from '../identity/token-service.js';
import type { ChangeFeed, StoreChange } from '../storage/change-feed.js';
import type { VaultService } from '../vaults/vault-service.js';

// A cluster member's caches follow the changes announced by every member
// (storage/change-feed.ts). The changes of one turn of the event loop are
// applied together, so that a bulk change (a principal's many assignments
// deleted with it, a group's members) costs a few reads, not one each:
// vault rows are dropped (and the data keys of those vaults, which may be
// purged) and read again on their next use; assignments and memberships are
// read again (in turn with this server's own changes, AccessIndex); custom
// roles and token signing keys are few and read again whole; the credential
// pepper's generations are read again (another member renewed them); a
// deleted principal's verified tokens are dropped (all of them, when changes
// were missed).

export interface FollowedCaches {
  vaults: Pick<VaultService, 'forgetAll'>;
  vaultKeys: Pick<VaultKeys, 'forget'>;
  index: Pick<AccessIndex, 'refreshAssignments' | 'refreshMemberships' | 'reload'>;
  catalog: Pick<RoleCatalog, 'refresh'>;
  tokens: Pick<TokenService, 'reloadKeys' | 'forgetPrincipal' | 'forgetAll'>;
  /** Reads the credential pepper's generations again; it handles its own errors (a refused row keeps what is held). */
  pepper: { reload(): Promise<void> };
}

/** Waits between tries to read a change (the database away for a moment). */
const RETRY_MS = [100, 500, 2_000];

interface Pending {
  all: boolean;
  vaults: Set<string>;
  assignments: Set<string>;
  /** Members by group. */
  memberships: Map<string, Set<string>>;
  roles: boolean;
  signingKeys: boolean;
  pepper: boolean;
  /** Principals deleted from the directory. */
  principals: Set<string>;
}

const nothing = (): Pending => ({ all: false, vaults: new Set(), assignments: new Set(), memberships: new Map(), roles: false, signingKeys: false, pepper: false, principals: new Set() });

function note(p: Pending, change: StoreChange): void {
  switch (change.topic) {
    case 'all':
      p.all = true;
      return;
    case 'vault':
      p.vaults.add(change.key);
      return;
    case 'assignment':
      p.assignments.add(change.key);
      return;
    case 'membership': {
      const [groupId = '', memberId = ''] = change.key.split('/');
      const members = p.memberships.get(groupId) ?? new Set<string>();
      members.add(memberId);
      p.memberships.set(groupId, members);
      return;
    }
    case 'role':
      p.roles = true;
      return;
    case 'signing-key':
      p.signingKeys = true;
      return;
    case 'setting':
      if (change.key === CREDENTIAL_PEPPER_SETTING) p.pepper = true;
      return;
    case 'principal':
      p.principals.add(change.key);
      return;
  }
}

/**
 * `stop` is called if a change cannot be read after retries (once per change):
 * the cache would stay behind the store for good, like a member that lost its
 * announcements, so the server stops serving until it has renewed its
 * connection and read everything again, or stops (database-outage.ts).
 */
export function followChanges(feed: ChangeFeed, caches: FollowedCaches, stop: (err: Error) => void): void {
  const failed = (err: unknown) => stop(new Error(`could not read a change a cluster member made: ${(err as Error).message}`));
  const read = (run: () => Promise<unknown>, tries = 0): void => {
    run().catch((err: unknown) => {
      const wait = RETRY_MS[tries];
      if (wait === undefined) failed(err);
      else setTimeout(() => read(run, tries + 1), wait).unref();
    });
  };

  function apply(p: Pending): void {
    // First, and with no read: a deleted principal's tokens verified here stop working now, not at their next look-up.
    for (const id of p.principals) caches.tokens.forgetPrincipal(id);
    // Dropped before any read below: the vault's next request reads its row (and unwraps its key) again.
    if (p.all || p.vaults.size > 0) caches.vaults.forgetAll();
    for (const id of p.vaults) caches.vaultKeys.forget(id);
    if (p.all) {
      // Principal deletions may be among the missed changes.
      caches.tokens.forgetAll();
      read(() => Promise.all([caches.index.reload(), caches.catalog.refresh(), caches.tokens.reloadKeys()]));
      void caches.pepper.reload();
      return;
    }
    if (p.assignments.size > 0) {
      const ids = [...p.assignments];
      read(() => caches.index.refreshAssignments(ids));
    }
    for (const [groupId, members] of p.memberships) {
      const ids = [...members];
      read(() => caches.index.refreshMemberships(groupId, ids));
    }
    if (p.roles) read(() => caches.catalog.refresh());
    if (p.signingKeys) read(() => caches.tokens.reloadKeys());
    // Not through read(): the minute timer reads the generations again anyway, and a row refused must not stop the server.
    if (p.pepper) void caches.pepper.reload();
  }

  let pending: Pending | null = null;
  feed.subscribe((change) => {
    if (!pending) {
      pending = nothing();
      setImmediate(() => {
        const p = pending!;
        pending = null;
        apply(p);
      });
    }
    note(pending, change);
  });
}
