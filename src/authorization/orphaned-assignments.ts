import type { AccessIndex } from './access-index.js';
import { covers, parseScope, type Scope } from './scopes.js';

// Role assignments whose scope is gone: a deleted resource group's, a purged
// vault's (and its secrets'). They are removed, so that a group or vault made
// later under the same name does not inherit them (Azure removes a deleted
// scope's assignments with it). A soft-deleted vault still exists: its
// assignments stay, so that recovering it brings its access back.

/** Whether a scope's resource exists (a secret scope: its vault, live or soft-deleted). */
export type ScopeExists = (scope: Scope) => Promise<boolean>;

/** The resource whose existence decides a scope's: a secret's vault, else the scope itself. */
function ownerKey(scope: Scope): string {
  return scope.kind === 'secret' ? scope.key.slice(0, scope.key.lastIndexOf('/secrets/')) : scope.key;
}

/**
 * Removes the assignments at `underKey` or below ('' for all) whose scope no
 * longer exists; returns their ids. Each scope's existence is asked once.
 */
export async function removeOrphanedAssignments(index: AccessIndex, exists: ScopeExists, underKey = ''): Promise<string[]> {
  const known = new Map<string, boolean>();
  const removed: string[] = [];
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
    if (!there && (await index.removeAssignment(a.id)) !== null) removed.push(a.id);
  }
  return removed;
}
