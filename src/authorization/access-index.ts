import type { AssignmentChecks } from '../storage/assignment-checks.js';
import type { AuditRecord, GroupStore, RoleAssignmentRow, RoleAssignmentStore } from '../storage/store-types.js';
import { covers } from './scopes.js';

// The in-memory view the authorizer decides from: role assignments by
// principal and group memberships. A decision reads only the caller's own
// assignments and its groups', so it costs the same with 10 or 10,000
// assignments in the deployment. A principal with many assignments of its
// own (an automation identity granted per secret) is looked up by scope:
// only the scopes on the path to the requested one, not every assignment.
// Writes go through here and update the view.
//
// The view keeps only what decisions need (578 bytes an assignment measured,
// against 1.4 KB for whole rows); responses that show an assignment read
// its row from the store.

/** What a decision needs of an assignment. */
export class IndexedAssignment {
  constructor(
    /** Lower-case GUID. */
    readonly id: string,
    /** Lower-case scope without a trailing slash (see covers()). */
    readonly scopeKey: string,
    readonly roleDefinitionId: string,
    /** Lower-case object id. */
    readonly principalId: string,
    readonly endTime: number | null,
    /** Indexing order: the order of a principal's list. */
    readonly order: number,
  ) {}
}

/** Past this many changed assignments, a refresh reads them all rather than one by one. */
const REFRESH_ONE_BY_ONE = 32;

/** Past this many assignments of one principal, decisions look them up by scope instead of reading them all. */
const SCAN_LIMIT = 16;

/** The scope and every scope above it ('' is the root), as covers() sees them. */
function pathTo(scopeKey: string): string[] {
  const out = [''];
  for (let i = scopeKey.indexOf('/', 1); i !== -1; i = scopeKey.indexOf('/', i + 1)) out.push(scopeKey.slice(0, i));
  if (scopeKey !== '') out.push(scopeKey);
  return out;
}

export interface AccessIndex {
  /** The principal and every group it belongs to, directly or through other groups. */
  identities(principalId: string): string[];
  /** Assignments of the given principals whose scope covers `scopeKey`, live at `now`. */
  applicable(principalIds: string[], scopeKey: string, now: number): IndexedAssignment[];
  assignmentsOf(principalId: string): IndexedAssignment[];
  /** The principal's assignments at exactly this scope (any role, expired or not). */
  atScope(principalId: string, scopeKey: string): IndexedAssignment[];
  all(): IndexedAssignment[];
  get(id: string): IndexedAssignment | null;
  /**
   * Stores and indexes the assignment, if `stillValid` (run in turn with the
   * index's other changes) agrees: false, and nothing stored, otherwise. A
   * principal deleted from the directory before forgetPrincipal's turn is
   * then never left with an assignment.
   */
  addAssignment(row: RoleAssignmentRow, stillValid?: () => Promise<boolean>, audit?: () => AuditRecord, checks?: AssignmentChecks): Promise<boolean>;
  /**
   * Runs `task` in turn with the index's changes: no assignment is added or
   * removed while it runs (it must not call them itself). For checks that an
   * addition's `stillValid` must not slip between: a role deleted only while
   * unassigned, the assignments left at a scope just removed.
   */
  inTurn<T>(task: () => Promise<T>): Promise<T>;
  /**
   * Changes a stored assignment's description and end time (`stored` as read
   * and checked); the row after, or null when it was deleted or changed meanwhile.
   */
  updateAssignment(stored: RoleAssignmentRow, change: Pick<RoleAssignmentRow, 'description' | 'endTime' | 'updatedAt'>, audit?: () => AuditRecord): Promise<RoleAssignmentRow | null>;
  /** Deletes the assignment; returns its stored row (null if there was none). */
  removeAssignment(id: string, audit?: () => AuditRecord): Promise<RoleAssignmentRow | null>;
  /** The stored row of an indexed assignment (null if it was deleted meanwhile). */
  row(a: IndexedAssignment): Promise<RoleAssignmentRow | null>;
  /** The stored rows of these assignments, in their order (any deleted meanwhile left out). */
  rows(list: IndexedAssignment[]): Promise<RoleAssignmentRow[]>;
  addMember(groupId: string, memberId: string, audit?: () => AuditRecord): Promise<boolean>;
  membersOf(groupId: string): Promise<string[]>;
  removeMember(groupId: string, memberId: string, audit?: () => AuditRecord): Promise<boolean>;
  /** Drops a principal's assignments (the principal was deleted from the directory: delete it there first). */
  forgetPrincipal(principalId: string): Promise<void>;
  /** Removes expired time-bound assignments from store and index. */
  sweepExpired(now: number): Promise<RoleAssignmentRow[]>;
  /** Principals whose group closure is cached (for tests: only members of some group are). */
  identitiesCached(): number;
  // A cluster member changed the store (see storage/change-feed.ts): read it again, in turn with the changes made here.
  /** Indexes the assignments as stored now, dropping those that are gone (past a few, by reading them all). */
  refreshAssignments(ids: readonly string[]): Promise<void>;
  /**
   * Indexes the stored assignments at `underKey` or below that the index lacks: ones another cluster member
   * stored whose announcement has not arrived yet (a scope's removal must find them).
   */
  catchUpUnder(underKey: string): Promise<void>;
  /** Links or unlinks these members of the group as the store has them now. */
  refreshMemberships(groupId: string, memberIds: readonly string[]): Promise<void>;
  /** Reads every assignment and membership again. */
  reload(): Promise<void>;
}

// Thousands of assignments share a few role definitions and principals; each
// row read from the store brings its own copy of those strings. One copy
// each keeps the view small. Bounded: past the bound strings are simply not
// shared.
const interned = new Map<string, string>();
function intern(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size < 10_000) interned.set(s, s);
  return s;
}

export async function createAccessIndex(deps: { assignments: RoleAssignmentStore; groups: GroupStore }): Promise<AccessIndex> {
  const byId = new Map<string, IndexedAssignment>();
  const byPrincipal = new Map<string, IndexedAssignment[]>();
  // Per principal, by scope key; lists keep the order of byPrincipal.
  const byScope = new Map<string, Map<string, IndexedAssignment[]>>();
  let counter = 0;
  const groupsOf = new Map<string, Set<string>>();
  let closure = new Map<string, string[]>();

  const index = (row: RoleAssignmentRow) =>
    new IndexedAssignment(
      row.id.toLowerCase(),
      row.scope.replace(/\/+$/, '').toLowerCase(),
      intern(row.roleDefinitionId),
      intern(row.principalId.toLowerCase()),
      row.endTime,
      counter++,
    );
  const put = (a: IndexedAssignment) => {
    byId.set(a.id, a);
    const list = byPrincipal.get(a.principalId) ?? [];
    list.push(a);
    byPrincipal.set(a.principalId, list);
    const scopes = byScope.get(a.principalId) ?? new Map<string, IndexedAssignment[]>();
    scopes.set(a.scopeKey, [...(scopes.get(a.scopeKey) ?? []), a]);
    byScope.set(a.principalId, scopes);
  };
  const drop = (id: string) => {
    const a = byId.get(id);
    if (!a) return null;
    byId.delete(id);
    const rest = (byPrincipal.get(a.principalId) ?? []).filter((x) => x.id !== id);
    if (rest.length) byPrincipal.set(a.principalId, rest);
    else byPrincipal.delete(a.principalId);
    const scopes = byScope.get(a.principalId);
    const here = (scopes?.get(a.scopeKey) ?? []).filter((x) => x.id !== id);
    if (here.length) scopes!.set(a.scopeKey, here);
    else scopes?.delete(a.scopeKey);
    if (scopes?.size === 0) byScope.delete(a.principalId);
    return a;
  };
  const replace = (was: IndexedAssignment, now: IndexedAssignment) => {
    byId.set(now.id, now);
    const swap = (list: IndexedAssignment[] | undefined) => {
      const i = list ? list.indexOf(was) : -1;
      if (i >= 0) list![i] = now;
    };
    swap(byPrincipal.get(now.principalId));
    swap(byScope.get(now.principalId)?.get(now.scopeKey));
  };
  const link = (g: string, m: string) => {
    const set = groupsOf.get(m) ?? new Set<string>();
    set.add(g);
    groupsOf.set(m, set);
    closure = new Map();
  };
  const unlink = (g: string, m: string) => {
    groupsOf.get(m)?.delete(g);
    closure = new Map();
  };

  async function load() {
    const [assignments, memberships] = await Promise.all([deps.assignments.list(), deps.groups.allMemberships()]);
    byId.clear();
    byPrincipal.clear();
    byScope.clear();
    groupsOf.clear();
    closure = new Map();
    for (const row of assignments) put(index(row));
    for (const { groupId, memberId } of memberships) link(groupId.toLowerCase(), memberId.toLowerCase());
  }
  await load();

  function identities(principalId: string): string[] {
    const id = principalId.toLowerCase();
    const hit = closure.get(id);
    if (hit) return hit;
    // Only principals in some group are cached: the id may come from a request ($filter=assignedTo('…')),
    // and caching every id asked about would let callers grow this map without bound.
    if (!groupsOf.has(id)) return [id];
    const seen = new Set<string>([id]);
    const queue = [id];
    while (queue.length) {
      for (const g of groupsOf.get(queue.shift()!) ?? []) {
        if (!seen.has(g)) {
          seen.add(g);
          queue.push(g);
        }
      }
    }
    const result = [...seen];
    closure.set(id, result);
    return result;
  }

  // Changes run one at a time, each its store write then its memory update:
  // on PostgreSQL two writes on different pooled connections can return in
  // either order, and memory updated in that order could disagree with the
  // store (a membership added and removed at once, left in memory or not).
  let tail: Promise<unknown> = Promise.resolve();
  function inTurn<T>(run: () => Promise<T>): Promise<T> {
    const result = tail.then(run, run);
    tail = result.catch(() => undefined);
    return result;
  }
  return {
    identities,
    identitiesCached: () => closure.size,
    applicable(principalIds, scopeKey, now) {
      const out: IndexedAssignment[] = [];
      let path: string[] | null = null;
      const live = (a: IndexedAssignment) => a.endTime === null || a.endTime > now;
      for (const p of principalIds) {
        const all = byPrincipal.get(p);
        if (!all) continue;
        if (all.length <= SCAN_LIMIT) {
          for (const a of all) if (live(a) && covers(a.scopeKey, scopeKey)) out.push(a);
          continue;
        }
        path ??= pathTo(scopeKey);
        const scopes = byScope.get(p)!;
        const found: IndexedAssignment[] = [];
        for (const key of path) for (const a of scopes.get(key) ?? []) if (live(a)) found.push(a);
        // The same order as a scan.
        if (found.length > 1) found.sort((x, y) => x.order - y.order);
        out.push(...found);
      }
      return out;
    },
    assignmentsOf: (p) => byPrincipal.get(p.toLowerCase()) ?? [],
    atScope: (p, scopeKey) => byScope.get(p.toLowerCase())?.get(scopeKey) ?? [],
    all: () => [...byId.values()],
    get: (id) => byId.get(id.toLowerCase()) ?? null,
    // `audit` builds the record stored with the change (RoleAssignmentStore's `audit` arguments), if one is made.
    inTurn,
    addAssignment: (row, stillValid = async () => true, audit, checks) =>
      inTurn(async () => {
        if (!(await stillValid())) return false;
        await deps.assignments.insert(row, audit?.(), checks);
        put(index(row));
        return true;
      }),
    updateAssignment: (stored, change, audit) =>
      inTurn(async () => {
        const row = await deps.assignments.update(stored, change, audit?.());
        const was = byId.get(stored.id.toLowerCase());
        // In place, keeping its order in the principal's list: only the end time of what decisions read changes.
        if (row && was) replace(was, new IndexedAssignment(was.id, was.scopeKey, was.roleDefinitionId, was.principalId, row.endTime, was.order));
        return row;
      }),
    removeAssignment: (id, audit) =>
      inTurn(async () => {
        const row = await deps.assignments.get(id);
        const removed = row !== null && (await deps.assignments.delete(id, audit?.()));
        drop(id.toLowerCase());
        return removed ? row : null;
      }),
    row: (a) => deps.assignments.get(a.id),
    async rows(list) {
      // A few by id; many with one read of them all.
      const found = list.length <= 32 ? await Promise.all(list.map((a) => deps.assignments.get(a.id))) : await deps.assignments.list();
      const byKey = new Map(found.filter((r): r is RoleAssignmentRow => r !== null).map((r) => [r.id.toLowerCase(), r]));
      return list.map((a) => byKey.get(a.id)).filter((r): r is RoleAssignmentRow => r !== undefined);
    },
    addMember: (groupId, memberId, audit) =>
      inTurn(async () => {
        const added = await deps.groups.addMember(groupId, memberId, audit?.());
        // Already stored: linked only if the stored membership is one the store lets through (sealed-stores.ts).
        if (added || (await deps.groups.listMembers(groupId)).some((m) => m.toLowerCase() === memberId.toLowerCase())) link(groupId.toLowerCase(), memberId.toLowerCase());
        return added;
      }),
    membersOf: (groupId) => deps.groups.listMembers(groupId.toLowerCase()),
    removeMember: (groupId, memberId, audit) =>
      inTurn(async () => {
        const removed = await deps.groups.removeMember(groupId, memberId, audit?.());
        unlink(groupId.toLowerCase(), memberId.toLowerCase());
        return removed;
      }),
    refreshAssignments: (ids) =>
      inTurn(async () => {
        if (ids.length > REFRESH_ONE_BY_ONE) return load();
        const rows = await Promise.all(ids.map((id) => deps.assignments.get(id)));
        ids.forEach((id, i) => {
          drop(id.toLowerCase());
          const row = rows[i];
          if (row) put(index(row));
        });
      }),
    catchUpUnder: (underKey) =>
      inTurn(async () => {
        for (const row of await deps.assignments.list()) {
          const a = index(row);
          if (!byId.has(a.id) && covers(underKey, a.scopeKey)) put(a);
        }
      }),
    refreshMemberships: (groupId, memberIds) =>
      inTurn(async () => {
        const g = groupId.toLowerCase();
        const members = new Set((await deps.groups.listMembers(g)).map((m) => m.toLowerCase()));
        for (const id of memberIds) {
          const m = id.toLowerCase();
          if (members.has(m)) link(g, m);
          else unlink(g, m);
        }
      }),
    reload: () => inTurn(load),
    forgetPrincipal: (principalId) =>
      inTurn(async () => {
        const id = principalId.toLowerCase();
        await deps.assignments.deleteForPrincipal(id);
        for (const a of [...(byPrincipal.get(id) ?? [])]) drop(a.id);
        groupsOf.delete(id);
        for (const set of groupsOf.values()) set.delete(id);
        closure = new Map();
      }),
    sweepExpired: (now) =>
      inTurn(async () => {
        const removed = await deps.assignments.deleteExpired(now);
        for (const r of removed) drop(r.id.toLowerCase());
        return removed;
      }),
  };
}
