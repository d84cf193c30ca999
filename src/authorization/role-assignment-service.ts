import { SECRET_NAME_RE } from '../secrets/secret-validation.js';
import type { Caller } from '../identity/identity-types.js';
import { GUID_RE } from '../identity/identity-types.js';
import type { DirectoryService } from '../identity/directory-service.js';
import { errors } from '../server/errors.js';
import { StoreConflictError, StoreParentGoneError, type AuditRecord, type RoleAssignmentRow } from '../storage/store-types.js';
import type { VaultService } from '../vaults/vault-service.js';
import type { AccessIndex, IndexedAssignment } from './access-index.js';
import type { Authorizer } from './authorizer.js';
import { DATA_ACCESS_ADMIN_ASSIGNABLE_ROLE_IDS, unconditioned } from './builtin-roles.js';
import { parseFilter } from './odata-filter.js';
import type { RoleCatalog } from './role-catalog.js';
import { covers, requireScope, type Scope } from './scopes.js';

// Role assignments: create (with coffer's optional end time), update (a PUT
// of an existing one: its description and end time), get, list with ARM's
// filters, delete. Each write is authorized at its scope, including the
// condition on Key Vault Data Access Administrator (Key Vault roles only).

export interface AssignmentInput {
  roleDefinitionId: string;
  principalId: string;
  principalType?: string;
  description?: string;
  endDateTime?: string;
  condition?: unknown;
  conditionVersion?: unknown;
  delegatedManagedIdentityResourceId?: unknown;
}

const A = { write: 'Microsoft.Authorization/roleAssignments/write', read: 'Microsoft.Authorization/roleAssignments/read', delete: 'Microsoft.Authorization/roleAssignments/delete' };
const PRINCIPAL_TYPES: Record<string, RoleAssignmentRow['principalType']> = { ServicePrincipal: 'ServicePrincipal', User: 'User', Group: 'Group' };

export const roleIdOf = (roleDefinitionId: string): string => roleDefinitionId.split('/').pop()!.toLowerCase();

export function createRoleAssignmentService(deps: {
  subscriptionId: string;
  tenantId: string;
  index: AccessIndex;
  catalog: RoleCatalog;
  authorizer: Authorizer;
  directory: DirectoryService;
  vaults: VaultService;
  now?: () => number;
}) {
  const { index, catalog, authorizer } = deps;
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  const principalNotFound = (id: string) => errors.principalNotFound(id, deps.tenantId);

  /** The scope must name something that exists in this subscription (a secret scope needs its vault); `raw` as the request wrote it. */
  async function checkScopeExists(scope: Scope, raw: string): Promise<void> {
    if (scope.kind === 'root') return;
    if (scope.subscriptionId !== deps.subscriptionId) throw errors.subscriptionNotFound(scope.subscriptionId ?? '');
    if (scope.resourceGroup) await deps.vaults.getResourceGroup(deps.subscriptionId, scope.resourceGroup);
    if (scope.vault) await deps.vaults.get(deps.subscriptionId, scope.resourceGroup!, scope.vault);
    // A secret scope need not name an existing secret, but it must name a possible one.
    if (scope.secret !== undefined && !SECRET_NAME_RE.test(scope.secret)) throw errors.invalidArm(`The scope '${raw.slice(0, 300)}' names an invalid secret: names are 1 to 127 letters, digits and dashes.`);
  }

  /**
   * Some grant of `action` at the scope, checked before anything is looked up, so that a caller without
   * one cannot tell what exists there; which roles the grant covers is authorizeWrite's, once the role is known.
   */
  function requireSomeGrant(caller: Caller, scope: Scope, action: string) {
    if (authorizer.rbacGrants(caller.objectId, action, 'control', scope.path).length === 0) throw errors.authorizationFailed(caller, action, scope.path);
  }

  /** roleAssignments/write at the scope; Key Vault Data Access Administrator only for Key Vault roles. */
  function authorizeWrite(caller: Caller, scope: Scope, roleId: string, action: string) {
    const grants = authorizer.rbacGrants(caller.objectId, action, 'control', scope.path);
    const usable = grants.some((g) => unconditioned(g) || DATA_ACCESS_ADMIN_ASSIGNABLE_ROLE_IDS.includes(roleId));
    if (!usable) throw errors.authorizationFailed(caller, action, scope.path);
  }

  function parseEnd(raw: unknown): number | null {
    if (raw === undefined || raw === null || raw === '') return null;
    const t = typeof raw === 'string' ? Date.parse(raw) : NaN;
    if (!Number.isFinite(t)) throw errors.invalidArm(`The endDateTime '${String(raw).slice(0, 40)}' is not a valid ISO 8601 date.`);
    const end = Math.floor(t / 1000);
    if (end <= now()) throw errors.invalidArm('The endDateTime of a role assignment must be in the future.');
    return end;
  }

  const description = (input: AssignmentInput): string | null => (typeof input.description === 'string' ? input.description.slice(0, 2048) : null);

  return {
    /**
     * `audit` builds the record stored with a new assignment, or (as a 200) with a change of an existing one;
     * none is stored when an existing one is left as it was.
     */
    async create(caller: Caller, scopeRaw: string, name: string, input: AssignmentInput, audit?: (status?: number) => AuditRecord): Promise<{ assignment: RoleAssignmentRow; created: boolean }> {
      if (!GUID_RE.test(name)) throw errors.invalidRoleAssignmentId(name);
      if (typeof input.principalId !== 'string' || !GUID_RE.test(input.principalId)) throw errors.invalidPrincipalId();
      if (typeof input.roleDefinitionId !== 'string') throw errors.missingRoleDefinitionId();
      // coffer does not evaluate ABAC conditions: storing one and ignoring it would grant more than asked for.
      if ((input.condition !== undefined && input.condition !== null && input.condition !== '') || (input.conditionVersion !== undefined && input.conditionVersion !== null)) {
        throw errors.roleAssignmentConditionsUnsupported();
      }
      // A cross-tenant (Lighthouse) identity: coffer has one tenant, so the assignment would name another principal than asked.
      if (input.delegatedManagedIdentityResourceId !== undefined && input.delegatedManagedIdentityResourceId !== null && input.delegatedManagedIdentityResourceId !== '') {
        throw errors.invalidArm('The property delegatedManagedIdentityResourceId is not supported by coffer: it has no delegated (cross-tenant) managed identities.');
      }
      const scope = requireScope(scopeRaw);
      requireSomeGrant(caller, scope, A.write);
      await checkScopeExists(scope, scopeRaw);
      const roleId = roleIdOf(input.roleDefinitionId);
      if (!GUID_RE.test(roleId)) throw errors.invalidRoleDefinitionId(input.roleDefinitionId.split('/').pop()!);
      const role = catalog.get(roleId);
      if (!role) throw errors.unknownAssignedRole(roleId);
      if (role.type === 'CustomRole' && !role.assignableScopes.some((s) => covers(s.replace(/\/+$/, '').toLowerCase(), scope.key))) {
        throw errors.roleNotAssignableAtScope(role.roleName);
      }
      const principal = await deps.directory.get(input.principalId.toLowerCase());
      if (!principal) throw principalNotFound(input.principalId);
      if (input.principalType !== undefined && PRINCIPAL_TYPES[input.principalType] !== principal.kind) {
        throw errors.unmatchedPrincipalType(principal.objectId, principal.kind, input.principalType);
      }
      authorizeWrite(caller, scope, roleId, A.write);
      const endTime = parseEnd(input.endDateTime);
      const sameRole = (a: IndexedAssignment) => roleIdOf(a.roleDefinitionId) === roleId;
      // Decided against the index; the insert then looks again in its turn with the index's other changes. A
      // request that interleaves with this one (PostgreSQL's reads let it) may have stored this assignment, or its
      // twin under another name, in between: this one is then decided again against what is stored.
      for (let attempt = 0; attempt < 3; attempt++) {
        const existing = index.get(name);
        if (existing) {
          const same = existing.scopeKey === scope.key && existing.principalId === principal.objectId && sameRole(existing);
          if (!same) throw errors.roleAssignmentUpdateNotPermitted();
          const stored = await index.row(existing);
          // Deleted by another request since the check: let the client try again.
          if (!stored) throw errors.roleAssignmentChangedMeanwhile();
          // A PUT of an existing assignment replaces its description and end time (az role assignment update).
          // An end time left out is kept: clients that know only Azure's model (az, the SDKs) leave coffer's field out,
          // and their update must not lift a time-bound grant's end. `endDateTime: null` removes it.
          const change = { description: description(input), endTime: input.endDateTime === undefined ? stored.endTime : endTime, updatedAt: now() };
          if (change.description === stored.description && change.endTime === stored.endTime) return { assignment: stored, created: false };
          const updated = await index.updateAssignment(stored, change, audit && (() => audit(200)));
          if (!updated) throw errors.roleAssignmentChangedMeanwhile();
          return { assignment: updated, created: false };
        }
        if (index.atScope(principal.objectId, scope.key).some(sameRole)) throw errors.roleAssignmentExists();
        const t = now();
        const row: RoleAssignmentRow = {
          id: name.toLowerCase(),
          scope: scope.path,
          roleDefinitionId: roleId,
          principalId: principal.objectId,
          principalType: principal.kind,
          description: description(input),
          endTime,
          createdAt: t,
          updatedAt: t,
          createdBy: caller.objectId,
        };
        // What was checked above, again in the index's turn: the principal (forgetPrincipal), the role (a role is
        // deleted in turn, only while unassigned) and the scope (its assignments are swept in turn once it is gone)
        // may have gone meanwhile, and the name or the grant been taken.
        let refused: 'taken' | 'principal' | 'role' | 'scope' | null = null;
        const admit = async () => {
          if (index.get(name) !== null || index.atScope(principal.objectId, scope.key).some(sameRole)) refused = 'taken';
          else if (catalog.get(roleId) === null) refused = 'role';
          else if (!(await deps.vaults.scopeExists(scope))) refused = 'scope';
          else if ((await deps.directory.get(principal.objectId)) === null) refused = 'principal';
          return refused === null;
        };
        let added: boolean;
        try {
          const at = scope.resourceGroup === undefined ? undefined : { subscriptionId: scope.subscriptionId!, resourceGroup: scope.resourceGroup, vault: scope.vault };
          added = await index.addAssignment(row, admit, audit, { customRole: role.type === 'CustomRole', scope: at });
        } catch (err) {
          // The custom role deleted, or the resource group or vault deleted or purged, through another cluster
          // member, whose change had not reached this one yet.
          if (err instanceof StoreParentGoneError) {
            await catalog.refresh();
            if (catalog.get(roleId) === null) throw errors.unknownAssignedRole(roleId);
            await checkScopeExists(scope, scopeRaw);
            // Both there again (made anew meanwhile): decided again.
            continue;
          }
          // Stored under this name, or its grant under another (err.existing), by another cluster member whose
          // change has not reached this one's index yet.
          if (!(err instanceof StoreConflictError && err.reason === 'exists')) throw err;
          await index.refreshAssignments(err.existing === undefined ? [row.id] : [row.id, err.existing]);
          continue;
        }
        if (added) return { assignment: row, created: true };
        if (refused === 'role') throw errors.unknownAssignedRole(roleId);
        if (refused === 'scope') await checkScopeExists(scope, scopeRaw);
        if (refused === 'principal') throw principalNotFound(input.principalId);
      }
      throw errors.roleAssignmentChangedMeanwhile();
    },

    async get(caller: Caller, scopeRaw: string, name: string): Promise<RoleAssignmentRow> {
      const scope = requireScope(scopeRaw);
      const a = index.get(name);
      const notFound = () => errors.roleAssignmentNotFound(name);
      // Authorized first, as in Azure: a caller without the right cannot tell whether the assignment exists.
      await authorizer.authorizeManagement(caller, A.read, scope.path);
      if (!a || a.scopeKey !== scope.key) throw notFound();
      const row = await index.row(a);
      if (!row) throw notFound();
      return row;
    },

    async delete(caller: Caller, scopeRaw: string, name: string, audit?: () => AuditRecord): Promise<RoleAssignmentRow | null> {
      const scope = requireScope(scopeRaw);
      requireSomeGrant(caller, scope, A.delete);
      const a = index.get(name);
      if (!a || a.scopeKey !== scope.key) return null;
      authorizeWrite(caller, scope, roleIdOf(a.roleDefinitionId), A.delete);
      return index.removeAssignment(a.id, audit);
    },

    /** ARM's list at a scope: at, above and below it; `atScope()` keeps at and above; assignedTo / principalId narrow by principal. */
    async list(caller: Caller, scopeRaw: string, filter: string | undefined): Promise<RoleAssignmentRow[]> {
      const scope = requireScope(scopeRaw);
      await authorizer.authorizeManagement(caller, A.read, scope.path);
      const terms = parseFilter(filter, ['atscope()', 'assignedto(v)', 'principalid']);
      const atScope = terms.calls.has('atscope');
      const assignedTo = terms.calls.get('assignedto')?.toLowerCase();
      const principalEq = terms.eq.get('principalid')?.toLowerCase();
      const identities = assignedTo !== undefined ? new Set(index.identities(assignedTo)) : null;
      const matching = index.all().filter((a) => {
        const inScope = covers(a.scopeKey, scope.key) || (!atScope && covers(scope.key, a.scopeKey));
        if (!inScope) return false;
        if (principalEq !== undefined && a.principalId !== principalEq) return false;
        if (identities && !identities.has(a.principalId)) return false;
        return true;
      });
      return index.rows(matching);
    },

    /** Azure's GET {scope}/providers/Microsoft.Authorization/permissions for the caller. */
    permissionsAt(caller: Caller, scopeRaw: string) {
      const scope = requireScope(scopeRaw);
      return index
        .applicable(index.identities(caller.objectId), scope.key, now())
        .map((a) => catalog.get(a.roleDefinitionId))
        .flatMap((role) => role?.permissions ?? []);
    },

  };
}

export type RoleAssignmentService = ReturnType<typeof createRoleAssignmentService>;
