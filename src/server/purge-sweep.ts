import type { Logger } from 'pino';
import type { AccessIndex } from '../authorization/access-index.js';
import { removedExpired, removeOrphanedAssignments } from '../authorization/orphaned-assignments.js';
import { systemEntry } from '../audit/audit-hook.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { SecretService } from '../secrets/secret-service.js';
import type { Store } from '../storage/store-types.js';
import type { VaultService } from '../vaults/vault-service.js';

// The periodic sweep (at start, then every --purge-sweep-seconds): soft-deleted
// objects past retention, expired refresh tokens and sign-in codes, audit
// records past retention, time-bound role assignments past their end, and
// assignments whose scope is gone. A failure is logged; the next sweep tries again.

export interface SweepDeps {
  secrets: SecretService;
  vaults: VaultService;
  store: Pick<Store, 'refreshTokens' | 'signInCodes'>;
  audit: AuditLog;
  index: AccessIndex;
  auditRetentionDays: number;
  log: Logger;
}

export function createPurgeSweep(deps: SweepDeps): () => Promise<void> {
  const { secrets, vaults, store, audit, index, log } = deps;
  return async () => {
    const now = Math.floor(Date.now() / 1000);
    try {
      const purgedSecrets = await secrets.sweep(now);
      const purgedVaults = await vaults.sweep(now);
      await store.refreshTokens.deleteExpired(now);
      await store.signInCodes.deleteExpired(now);
      await audit.retain(new Date((now - deps.auditRetentionDays * 86400) * 1000));
      const ended = await index.sweepExpired(now);
      if (ended.length > 0) log.info({ roleAssignments: ended.map((a) => a.id) }, 'removed time-bound role assignments past their end time');
      // Removed already (in one statement): their records follow.
      for (const a of ended) await audit.write(systemEntry(removedExpired(a)));
      // Vaults purged past retention (and any scope gone another way) take their assignments with them.
      const orphaned = await removeOrphanedAssignments(index, (scope) => vaults.scopeExists(scope), '', { log: audit, entry: systemEntry });
      if (orphaned.length > 0) log.info({ roleAssignments: orphaned }, 'removed role assignments whose scope is gone');
      if (purgedSecrets + purgedVaults > 0) log.info({ purgedSecrets, purgedVaults }, 'purged soft-deleted objects past retention');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'sweep failed');
    }
  };
}
