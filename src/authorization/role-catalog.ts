import type { RoleDefinitionRow, RoleDefinitionStore, RolePermissionRow } from '../storage/store-types.js';
import { anyMatches } from './action-match.js';
import { BUILT_IN_ROLES } from './builtin-roles.js';

// Built-in roles (Azure's, in code) and custom roles (in the store), looked up
// by id or name. Custom roles are cached; the cache is refreshed on change.

export interface Role {
  id: string;
  roleName: string;
  description: string;
  type: 'BuiltInRole' | 'CustomRole';
  permissions: RolePermissionRow[];
  assignableScopes: string[];
  createdAt: number | null;
  updatedAt: number | null;
  createdBy: string | null;
}

export type ActionKind = 'control' | 'data';

/** A role grants an action when one permission block allows it and does not exclude it. */
export function roleGrants(role: Role, action: string, kind: ActionKind): boolean {
  return role.permissions.some((p) =>
    kind === 'data' ? anyMatches(p.dataActions, action) && !anyMatches(p.notDataActions, action) : anyMatches(p.actions, action) && !anyMatches(p.notActions, action),
  );
}

const builtIns: Role[] = BUILT_IN_ROLES.map((r) => ({
  id: r.id.toLowerCase(),
  roleName: r.roleName,
  description: r.description,
  type: 'BuiltInRole',
  permissions: r.permissions.map((p) => ({ actions: [...p.actions], notActions: [...p.notActions], dataActions: [...p.dataActions], notDataActions: [...p.notDataActions] })),
  assignableScopes: ['/'],
  createdAt: null,
  updatedAt: null,
  createdBy: null,
}));

const fromRow = (r: RoleDefinitionRow): Role => ({ ...r, id: r.id.toLowerCase(), type: 'CustomRole' });

export interface RoleCatalog {
  get(id: string): Role | null;
  findByName(name: string): Role | null;
  list(): Role[];
  refresh(): Promise<void>;
  store: RoleDefinitionStore;
}

export async function createRoleCatalog(store: RoleDefinitionStore): Promise<RoleCatalog> {
  let byId = new Map<string, Role>();
  let byName = new Map<string, Role>();
  // Refreshes can overlap (PostgreSQL reads are asynchronous): one whose read
  // began before a newer refresh's must not replace what that one applied.
  let started = 0;
  let applied = 0;
  async function refresh() {
    const mine = ++started;
    const all = [...builtIns, ...(await store.list()).map(fromRow)];
    if (mine < applied) return;
    applied = mine;
    byId = new Map(all.map((r) => [r.id, r]));
    byName = new Map(all.map((r) => [r.roleName.toLowerCase(), r]));
  }
  await refresh();
  return {
    get: (id) => byId.get(id.toLowerCase()) ?? null,
    findByName: (name) => byName.get(name.toLowerCase()) ?? null,
    list: () => [...byId.values()],
    refresh,
    store,
  };
}

