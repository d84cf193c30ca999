import type { AccessIndex, IndexedAssignment } from './access-index.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEntry } from '../audit/audit-types.js';
import type { RoleAssignmentRow } from '../storage/store-types.js';
import { covers, parseScope, type Scope } from './scopes.js';

// Role assignments whose scope is gone: a deleted resource group's, a purged
// vault's (and its secrets'). They are removed, so that a group or vault made
// later under the same name does not inherit them (Azure removes a deleted
// scope's assignments with it). A soft-deleted vault still exists: its
// assignments stay, so that recovering it brings its access back.

/** Whether a scope's resource exists (a secret scope: its vault, live or soft-deleted). */
export type ScopeExists = (scope: Scope) => Promise<boolean>;

/** What the audit trail says about a removal. */
export interface RemovalRecord {
  operation: string;
  resourceId: string;
  vault: string | null;
  description: string;
}

/**
 * How removals are recorded: `entry` makes a record (a request's caller, or
 * coffer itself for the sweep), stored with the removal where the trail
 * allows, else just after it (`--audit-file`).
 */
export interface RemovalRecords {
  log: Pick<AuditLog, 'recordsTravelWithWrites' | 'recordWithWrite' | 'storedWithWrite' | 'write'>;
  entry: (what: RemovalRecord) => AuditEntry;
}

const assignmentResourceId = (scope: string, id: string) => `${scope}/providers/Microsoft.Authorization/roleAssignments/${id}`;
const described = (id: string, roleDefinitionId: string, principalId: string) => `Role assignment ${id} (role definition ${roleDefinitionId}, principal ${principalId})`;

/** The record of an assignment removed because its scope is gone. */
export const removedWithScope = (a: IndexedAssignment, scope: Scope): RemovalRecord => ({
  operation: 'RoleAssignmentRemovedWithScope',
  resourceId: assignmentResourceId(a.scopeKey, a.id),
  vault: scope.vault ?? null,
  description: `${described(a.id, a.roleDefinitionId, a.principalId)} was removed because its scope ${a.scopeKey} no longer exists.`,
});

/** The record of a time-bound assignment removed past its end time. */
export const removedExpired = (a: RoleAssignmentRow): RemovalRecord => ({
  operation: 'RoleAssignmentExpired',
  resourceId: assignmentResourceId(a.scope, a.id),
  vault: parseScope(a.scope)?.vault ?? null,
  description: `${described(a.id, a.roleDefinitionId, a.principalId)} at ${a.scope} was removed: its end time had passed.`,
});

/** Removes one assignment with its record; false if it was gone already. */
export async function removeRecorded(index: AccessIndex, id: string, what: RemovalRecord, records?: RemovalRecords): Promise<boolean> {
  const travels = records?.log.recordsTravelWithWrites() ?? false;
  const removed = (await index.removeAssignment(id, travels ? () => records!.log.recordWithWrite(records!.entry(what)) : undefined)) !== null;
  if (removed && records) {
    if (travels) records.log.storedWithWrite();
    else await records.log.write(records.entry(what));
  }
  return removed;
}

/** The resource whose existence decides a scope's: a secret's vault, else the scope itself. */
function ownerKey(scope: Scope): string {
  return scope.kind === 'secret' ? scope.key.slice(0, scope.key.lastIndexOf('/secrets/')) : scope.key;
}

/**
 * Removes the assignments at `underKey` or below ('' for all) whose scope no
 * longer exists, each recorded by `records`; returns their ids. Each scope's
 * existence is asked once.
 */
export async function removeOrphanedAssignments(index: AccessIndex, exists: ScopeExists, underKey = '', records?: RemovalRecords): Promise<string[]> {
  // A removed scope's assignments stored through another cluster member, which this one has not heard of yet
  // (the periodic sweep, underKey '', finds them later anyway). Such an insert held the resource group's row
  // until it committed, so the deletion that called this came after it.
  if (underKey !== '') await index.catchUpUnder(underKey);
  // Found in the index's turn: an assignment being added at a scope as it goes either is stored before this looks
  // (and is found) or looks for its scope after (and finds it gone: role-assignment-service.ts).
  const orphans = await index.inTurn(async () => {
    const known = new Map<string, boolean>();
    const found: Array<{ a: IndexedAssignment; scope: Scope }> = [];
    for (const a of index.all()) {
      if (!covers(underKey, a.scopeKey)) continue;
      const scope = parseScope(a.scopeKey);
      if (!scope || scope.kind === 'root' || scope.kind === 'subscription') continue;
      const key = ownerKey(scope);
      let there = known.get(key);
      if (there === undefined) {
        there = await exists(scope);
        known.set(key, there);
      }
      if (!there) found.push({ a, scope });
    }
    return found;
  });
  const removed: string[] = [];
  for (const { a, scope } of orphans) if (await removeRecorded(index, a.id, removedWithScope(a, scope), records)) removed.push(a.id);
  return removed;
}
