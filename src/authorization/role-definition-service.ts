import type { Caller } from '../identity/identity-types.js';
import { GUID_RE } from '../identity/identity-types.js';
import { errors } from '../server/errors.js';
import { StoreConflictError, type AuditRecord, type RolePermissionRow } from '../storage/store-types.js';
import type { AccessIndex } from './access-index.js';
import type { Authorizer } from './authorizer.js';
import { parseFilter } from './odata-filter.js';
import { roleIdOf } from './role-assignment-service.js';
import type { Role, RoleCatalog } from './role-catalog.js';
import { covers, requireScope, type Scope } from './scopes.js';

// Role definitions: Azure's built-in roles and custom roles, listed with
// ARM's `roleName eq` / `type eq` filters; custom roles created, updated and
// deleted with their assignable scopes.

const A = { read: 'Microsoft.Authorization/roleDefinitions/read', write: 'Microsoft.Authorization/roleDefinitions/write', delete: 'Microsoft.Authorization/roleDefinitions/delete' };

/**
 * The root scope shows the built-in roles to any signed-in caller, as Azure
 * does (Microsoft publishes every one): tools name a role there by
 * `/providers/Microsoft.Authorization/roleDefinitions/{id}`. Custom roles are
 * never assignable at the root, so none shows there.
 */
const publicAtRoot = (scope: Scope) => scope.kind === 'root';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Bounds on a custom role: every authorization that looks at a role walks its action strings. */
const MAX_STRINGS = 1000;
const MAX_PERMISSION_BLOCKS = 100;
const stringArray = (v: unknown, what: string, kind = 'action strings'): string[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length === 0 || x.length > 300)) throw errors.invalidArm(`${what} must be an array of ${kind} of 1 to 300 characters.`);
  if (v.length > MAX_STRINGS) throw errors.invalidArm(`${what} has ${v.length} entries; at most ${MAX_STRINGS} are allowed.`);
  return v as string[];
};
/** Action strings are printable ASCII without spaces ("Microsoft.KeyVault/vaults/secrets/*"). */
const actionArray = (v: unknown, what: string): string[] => {
  const list = stringArray(v, what);
  const bad = list.find((a) => !/^[\x21-\x7e]+$/.test(a));
  if (bad !== undefined) throw errors.invalidArm(`${what} holds '${bad.slice(0, 80)}', which is not an action string.`);
  return list;
};

function parsePermissions(raw: unknown): RolePermissionRow[] {
  if (!Array.isArray(raw) || raw.length === 0) throw errors.invalidArm('properties.permissions must be a non-empty array.');
  if (raw.length > MAX_PERMISSION_BLOCKS) throw errors.invalidArm(`properties.permissions has ${raw.length} entries; at most ${MAX_PERMISSION_BLOCKS} are allowed.`);
  return raw.map((p, i) => {
    if (!isObject(p)) throw errors.invalidArm(`properties.permissions[${i}] must be an object.`);
    // A permission's ABAC condition (API 2022-05-01-preview) narrows what it grants; coffer evaluates none,
    // and a role stored without it would grant its actions everywhere.
    if ((p.condition != null && p.condition !== '') || (p.conditionVersion != null && p.conditionVersion !== '')) {
      throw errors.invalidArm(`properties.permissions[${i}].condition is not supported by coffer: it evaluates no conditions.`);
    }
    return {
      actions: actionArray(p.actions, `permissions[${i}].actions`),
      notActions: actionArray(p.notActions, `permissions[${i}].notActions`),
      dataActions: actionArray(p.dataActions, `permissions[${i}].dataActions`),
      notDataActions: actionArray(p.notDataActions, `permissions[${i}].notDataActions`),
    };
  });
}

export function createRoleDefinitionService(deps: { subscriptionId: string; catalog: RoleCatalog; index: AccessIndex; authorizer: Authorizer; now?: () => number }) {
  const { catalog, authorizer } = deps;
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));

  return {
    async list(caller: Caller, scopeRaw: string, filter: string | undefined): Promise<Role[]> {
      const scope = requireScope(scopeRaw);
      if (!publicAtRoot(scope)) await authorizer.authorizeManagement(caller, A.read, scope.path);
      const terms = parseFilter(filter, ['rolename', 'type', 'atscopeandbelow()']);
      const name = terms.eq.get('rolename');
      const type = terms.eq.get('type');
      const andBelow = terms.calls.has('atscopeandbelow');
      // As Azure lists them: the roles assignable at the scope or above it; with atScopeAndBelow(), below it too.
      const applies = (r: Role) =>
        (!publicAtRoot(scope) || r.type === 'BuiltInRole') &&
        r.assignableScopes.some((s) => {
          const key = s.replace(/\/+$/, '').toLowerCase();
          return covers(key, scope.key) || (andBelow && covers(scope.key, key));
        });
      return catalog
        .list()
        .filter((r) => applies(r) && (name === undefined || r.roleName.toLowerCase() === name.toLowerCase()) && (type === undefined || r.type.toLowerCase() === type.toLowerCase()))
        .sort((a, b) => a.roleName.localeCompare(b.roleName));
    },

    async get(caller: Caller, scopeRaw: string, id: string): Promise<Role> {
      const scope = requireScope(scopeRaw);
      if (!publicAtRoot(scope)) await authorizer.authorizeManagement(caller, A.read, scope.path);
      const role = catalog.get(roleIdOf(id));
      if (!role || (publicAtRoot(scope) && role.type !== 'BuiltInRole')) throw errors.roleDefinitionNotFound(id);
      // Only a role the list at this scope could show (assignable at it, above it or, with atScopeAndBelow(), below
      // it): read at one group is no view of a custom role made for another ("users granted roleDefinitions/read at
      // a scope can view the custom roles that are available for assignment at that scope").
      const related = role.assignableScopes.some((s) => {
        const key = s.replace(/\/+$/, '').toLowerCase();
        return covers(key, scope.key) || covers(scope.key, key);
      });
      if (!related) throw errors.roleDefinitionNotFound(id);
      return role;
    },

    // `audit` builds the record stored with the change (RoleDefinitionStore's `audit` arguments).
    async put(caller: Caller, scopeRaw: string, id: string, body: unknown, audit?: () => AuditRecord): Promise<{ role: Role; created: boolean }> {
      // At the URL's scope first, as Resource Manager authorizes every request, then at each scope the role reaches.
      const urlScope = requireScope(scopeRaw).path;
      await authorizer.authorizeManagement(caller, A.write, urlScope);
      const linked = async (scope: string) => {
        if (!authorizer.rbacGrant(caller.objectId, A.write, 'control', scope)) throw errors.linkedAuthorizationFailed(caller, A.write, urlScope, scope);
      };
      if (!GUID_RE.test(id)) throw errors.invalidArm(`The role definition ID '${id.slice(0, 64)}' is not valid. It must be a GUID.`);
      const existing = catalog.get(id);
      if (existing?.type === 'BuiltInRole') throw errors.builtInRoleDefinitionReadOnly('changed');
      const props = isObject(body) && isObject(body.properties) ? body.properties : null;
      if (!props) throw errors.invalidArm('properties is required.');
      if (typeof props.roleName !== 'string' || props.roleName.trim() === '' || props.roleName.length > 512 || props.roleName !== props.roleName.trim()) {
        throw errors.invalidArm('properties.roleName is required: 1 to 512 characters, without leading or trailing spaces.');
      }
      // Invisible characters (a zero-width space, a direction mark) would let a custom role read as a built-in one's name.
      if (/[\p{Cc}\p{Cf}]/u.test(props.roleName)) {
        throw errors.invalidArm('properties.roleName may not contain control or invisible formatting characters (such as U+200B, a zero-width space).');
      }
      if (props.description !== undefined && props.description !== null && (typeof props.description !== 'string' || props.description.length > 2048)) {
        throw errors.invalidArm('properties.description must be a string of at most 2048 characters.');
      }
      const assignableScopes = stringArray(props.assignableScopes, 'properties.assignableScopes', 'scopes').map((s) => requireScope(s).path);
      if (assignableScopes.length === 0) throw errors.invalidArm('properties.assignableScopes must name at least one scope.');
      for (const s of assignableScopes) {
        const scope = requireScope(s);
        if (scope.kind !== 'root' && scope.subscriptionId !== deps.subscriptionId) throw errors.subscriptionNotFound(scope.subscriptionId ?? '');
        await linked(scope.path);
      }
      // A change reaches every existing assignment of the role, wherever it was assignable: the caller must be
      // allowed to write the role there too, or an owner of one resource group could widen a subscription-wide role.
      for (const s of existing?.assignableScopes ?? []) await linked(s);
      // The checks that follow, and the write, in the index's turn: role writes then run one at a time, so that two
      // of one new name or id sent together are decided in order (one created, the other a clash or an update).
      const roleName = props.roleName;
      const roleDescription = typeof props.description === 'string' ? props.description : '';
      const permissions = parsePermissions(props.permissions);
      return deps.index.inTurn(async () => {
        const stored = catalog.get(id);
        // Created or changed by another request since the checks above: this one changes what is stored now, so it
        // needs the right to wherever that is assignable.
        if (stored && stored !== existing) for (const s of stored.assignableScopes) await linked(s);
        // Assignments of a role id that names no role (its row removed, or hidden by a broken seal, in the database)
        // would take whatever a new role of that id grants, wherever they are: such an id is not taken again.
        if (!stored && deps.index.all().some((a) => roleIdOf(a.roleDefinitionId) === id.toLowerCase())) throw errors.roleDefinitionIdAssigned(id);
        const clash = catalog.findByName(roleName);
        if (clash && clash.id !== id.toLowerCase()) throw errors.roleDefinitionNameExists();
        const t = now();
        try {
          await catalog.store.upsert({
            id: id.toLowerCase(),
            roleName,
            description: roleDescription,
            permissions,
            assignableScopes,
            createdAt: stored?.createdAt ?? t,
            updatedAt: t,
            createdBy: stored?.createdBy ?? caller.objectId,
          }, audit?.());
        } catch (err) {
          // The name taken on another cluster member, whose change has not reached this one's catalog yet.
          if (err instanceof StoreConflictError && err.reason === 'exists') throw errors.roleDefinitionNameExists();
          throw err;
        } finally {
          await catalog.refresh();
        }
        return { role: catalog.get(id)!, created: !stored };
      });
    },

    async delete(caller: Caller, scopeRaw: string, id: string, audit?: () => AuditRecord): Promise<Role | null> {
      // At the URL's scope first, as Azure does: a caller without the right gets 403 whether the role exists or not.
      await authorizer.authorizeManagement(caller, A.delete, requireScope(scopeRaw).path);
      const role = catalog.get(roleIdOf(id));
      if (!role) return null;
      if (role.type === 'BuiltInRole') throw errors.builtInRoleDefinitionReadOnly('deleted');
      for (const s of role.assignableScopes) await authorizer.authorizeManagement(caller, A.delete, s);
      // In the index's turn: an assignment of the role being added meanwhile looks for the role in its own turn
      // (role-assignment-service.ts), so the role goes only while nothing assigns it, and the other finds it gone.
      return deps.index.inTurn(async () => {
        if (deps.index.all().some((a) => roleIdOf(a.roleDefinitionId) === role.id)) throw errors.roleDefinitionHasAssignments();
        // The store refuses too if an assignment of the role was stored through another cluster member meanwhile.
        const removed = await catalog.store.delete(role.id, audit?.()).catch((err: unknown) => {
          throw err instanceof StoreConflictError && err.reason === 'changed' ? errors.roleDefinitionHasAssignments() : err;
        });
        await catalog.refresh();
        return removed ? role : null;
      });
    },

  };
}

export type RoleDefinitionService = ReturnType<typeof createRoleDefinitionService>;
