import type { AccessIndex } from '../authorization/access-index.js';
import type { RoleCatalog } from '../authorization/role-catalog.js';
import type { TokenService } from '../identity/token-service.js';
import type { ChangeFeed, StoreChange } from '../storage/change-feed.js';
import type { VaultService } from '../vaults/vault-service.js';

// A cluster member's caches follow the changes the other members announce
// (storage/change-feed.ts). Vault rows are simply dropped and read again on
// their next use; assignments and memberships are read again one by one, in
// turn with this server's own changes (AccessIndex); custom roles and token
// signing keys are few and read again whole.

export interface FollowedCaches {
  vaults: Pick<VaultService, 'forgetAll'>;
  index: Pick<AccessIndex, 'refreshAssignment' | 'refreshMembership' | 'reload'>;
  catalog: Pick<RoleCatalog, 'refresh'>;
  tokens: Pick<TokenService, 'reloadKeys'>;
}

/** Waits between tries to read a change (the database away for a moment). */
const RETRY_MS = [100, 500, 2_000];

/**
 * `stop` is called (once) if a change cannot be read after retries: the cache
 * would stay behind the store for good, so the server cannot serve safely
 * any more, like a member that lost its announcements.
 */
export function followChanges(feed: ChangeFeed, caches: FollowedCaches, stop: (err: Error) => void): void {
  let stopped = false;
  const failed = (err: unknown) => {
    if (stopped) return;
    stopped = true;
    stop(new Error(`could not read a change another cluster member made: ${(err as Error).message}`));
  };
  const read = (run: () => Promise<unknown>, tries = 0): void => {
    run().catch((err: unknown) => {
      const wait = RETRY_MS[tries];
      if (wait === undefined) failed(err);
      else setTimeout(() => read(run, tries + 1), wait).unref();
    });
  };
  feed.subscribe((change: StoreChange) => {
    switch (change.topic) {
      case 'vault':
        caches.vaults.forgetAll();
        return;
      case 'assignment':
        read(() => caches.index.refreshAssignment(change.key));
        return;
      case 'membership': {
        const [groupId = '', memberId = ''] = change.key.split('/');
        read(() => caches.index.refreshMembership(groupId, memberId));
        return;
      }
      case 'role':
        read(() => caches.catalog.refresh());
        return;
      case 'signing-key':
        read(() => caches.tokens.reloadKeys());
        return;
      case 'all':
        caches.vaults.forgetAll();
        read(() => Promise.all([caches.index.reload(), caches.catalog.refresh(), caches.tokens.reloadKeys()]));
        return;
    }
  });
}
