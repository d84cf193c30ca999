import type { FastifyInstance, FastifyReply } from 'fastify';
import { removeOrphanedAssignments } from '../authorization/orphaned-assignments.js';
import { consequenceEntry } from '../audit/audit-hook.js';
import { covers, resourceGroupScope, subscriptionScope, vaultScope } from '../authorization/scopes.js';
import { armPage, bodyObject, subscriptionChecker, type ArmDeps, type ArmRequest } from '../server/arm-common.js';
import { errors } from '../server/errors.js';
import { requireCaller } from '../server/request-context.js';
import type { AuditRecordFor } from '../audit/audit-hook.js';
import type { VaultRow } from '../storage/store-types.js';
import { resourceGroupResource } from './arm-wire.js';
import { subscriptionLocations } from './location-list.js';
import { checkLocation, checkTags } from './vault-input.js';
import { resourceGroupFilter } from './resource-filter.js';

// Subscriptions, tenants and resource groups (ARM). A subscription is listed
// to callers who hold some role in it, as ARM does.

const RG_WRITE = 'Microsoft.Resources/subscriptions/resourceGroups/write';
const RG_READ = 'Microsoft.Resources/subscriptions/resourceGroups/read';
const RG_DELETE = 'Microsoft.Resources/subscriptions/resourceGroups/delete';
const VAULT_DELETE = 'Microsoft.KeyVault/vaults/delete';
const LOCATIONS_READ = 'Microsoft.Resources/subscriptions/locations/read';

/** The most resource groups on one page of their list. */
const MAX_GROUPS_PAGE = 1000;

/** Whether the principal holds any live role assignment at, above or below the subscription: what lets it see the subscription. */
/**
 * Azure's resource group names: up to 90 letters and digits (Unicode, as .NET's \w: letters, marks, digits,
 * connectors such as '_'), '-', '.', '(' and ')', not ending in '.'.
 */
function validResourceGroupName(name: string): boolean {
  return /^[\p{L}\p{Mn}\p{Nd}\p{Pc}\-.()]+$/u.test(name) && [...name].length <= 90 && !name.endsWith('.');
}

export function holdsAnyRole(deps: Pick<ArmDeps, 'index' | 'subscriptionId'>, objectId: string): boolean {
  const now = Math.floor(Date.now() / 1000);
  const subKey = subscriptionScope(deps.subscriptionId).toLowerCase();
  return deps.index
    .identities(objectId)
    .some((id) => deps.index.assignmentsOf(id).some((a) => (a.endTime === null || a.endTime > now) && (covers(a.scopeKey, subKey) || covers(subKey, a.scopeKey))));
}

export function registerSubscriptionRoutes(arm: FastifyInstance, deps: ArmDeps): void {
  const { vaults, authorizer } = deps;
  const checkSubscription = subscriptionChecker(deps.subscriptionId);
  const subscription = () => ({
    id: subscriptionScope(deps.subscriptionId),
    authorizationSource: 'RoleBased',
    // As Azure: no tenant manages a coffer subscription, and the list is there, empty (az prints null without it).
    managedByTenants: [],
    subscriptionId: deps.subscriptionId,
    tenantId: deps.tenantId,
    displayName: 'coffer',
    state: 'Enabled',
    subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'coffer', spendingLimit: 'Off' },
  });
  const hasAnyRole = (req: ArmRequest) => holdsAnyRole(deps, requireCaller(req).objectId);

  arm.get('/subscriptions', async (req: ArmRequest) => ({ value: hasAnyRole(req) ? [subscription()] : [] }));
  arm.get('/subscriptions/:sub', async (req: ArmRequest) => {
    checkSubscription(req.params.sub);
    if (!hasAnyRole(req)) throw errors.authorizationFailed(requireCaller(req), 'Microsoft.Resources/subscriptions/read', subscriptionScope(deps.subscriptionId));
    return subscription();
  });
  // Subscriptions - List Locations: to whoever may see the subscription, as GET of it (Azure's Reader has
  // Microsoft.Resources/subscriptions/locations/read through */read; any role at, above or below it lets ARM list it).
  arm.get('/subscriptions/:sub/locations', async (req: ArmRequest) => {
    checkSubscription(req.params.sub);
    if (!hasAnyRole(req)) throw errors.authorizationFailed(requireCaller(req), LOCATIONS_READ, subscriptionScope(deps.subscriptionId));
    return { value: subscriptionLocations(deps.subscriptionId, deps.location) };
  });
  arm.get('/tenants', async () => ({
    value: [{ id: `/tenants/${deps.tenantId}`, tenantId: deps.tenantId, tenantCategory: 'Home', displayName: 'coffer', defaultDomain: 'coffer.local' }],
  }));

  arm.put('/subscriptions/:sub/resourceGroups/:rg', async (req: ArmRequest, reply: FastifyReply) => {
    checkSubscription(req.params.sub);
    const rg = req.params.rg!;
    if (!validResourceGroupName(rg)) throw errors.invalidArm(`Resource group name '${rg}' is invalid.`);
    // Authorized before the body is looked at: as in Azure, a caller without the right learns nothing else.
    await authorizer.authorizeManagement(requireCaller(req), RG_WRITE, resourceGroupScope(deps.subscriptionId, rg));
    const body = bodyObject(req.body);
    const location = checkLocation(body.location);
    const tags = checkTags(body.tags, (await vaults.findResourceGroup(deps.subscriptionId, rg))?.tags) ?? {};
    const { group, created } = await req.writeAudited((record) => vaults.ensureResourceGroup({ subscriptionId: deps.subscriptionId, name: rg, location, tags }, record));
    return reply.status(created ? 201 : 200).send(resourceGroupResource(group));
  });
  // Authorized before the lookup: a caller without the right cannot tell a missing group from a hidden one.
  async function readGroup(req: ArmRequest) {
    checkSubscription(req.params.sub);
    await authorizer.authorizeManagement(requireCaller(req), RG_READ, resourceGroupScope(deps.subscriptionId, req.params.rg!));
    return vaults.getResourceGroup(deps.subscriptionId, req.params.rg!);
  }
  // ResourceGroups_CheckExistence (`az group exists`): 204 or 404, never 200. Declared before the GET, whose
  // HEAD fastify would otherwise make (answering 200).
  arm.head('/subscriptions/:sub/resourceGroups/:rg', async (req: ArmRequest, reply: FastifyReply) => {
    await readGroup(req);
    return reply.status(204).send();
  });
  arm.get('/subscriptions/:sub/resourceGroups/:rg', async (req: ArmRequest) => resourceGroupResource(await readGroup(req)));
  // ResourceGroups_Update: only the tags change (a group cannot move); they are replaced, as a PUT does.
  arm.patch('/subscriptions/:sub/resourceGroups/:rg', async (req: ArmRequest) => {
    checkSubscription(req.params.sub);
    await authorizer.authorizeManagement(requireCaller(req), RG_WRITE, resourceGroupScope(deps.subscriptionId, req.params.rg!));
    const group = await vaults.getResourceGroup(deps.subscriptionId, req.params.rg!);
    const tags = checkTags(bodyObject(req.body).tags, group.tags);
    if (tags === undefined) return resourceGroupResource(group);
    const { group: updated } = await req.writeAudited((record) => vaults.ensureResourceGroup({ ...group, tags }, record));
    return resourceGroupResource(updated);
  });
  // ResourceGroups_Delete (az group delete): the group's vaults are deleted with it, soft-deleted where soft delete
  // is on, as Azure does. The caller needs the right to delete each of them; lacking one, nothing is deleted.
  // Answered when done (200), which the clients' long-running-operation pollers take as finished.
  arm.delete('/subscriptions/:sub/resourceGroups/:rg', async (req: ArmRequest, reply: FastifyReply) => {
    checkSubscription(req.params.sub);
    const caller = requireCaller(req);
    await authorizer.authorizeManagement(caller, RG_DELETE, resourceGroupScope(deps.subscriptionId, req.params.rg!));
    const group = await vaults.getResourceGroup(deps.subscriptionId, req.params.rg!);
    const mayDelete = async (v: VaultRow) => void (await authorizer.authorizeManagement(caller, VAULT_DELETE, vaultScope(v.subscriptionId, v.resourceGroup, v.name)));
    // Each vault's record names that vault (its resource id, as a vault DELETE's record does); the last, the group.
    const recordFor = (record: AuditRecordFor) => (v: VaultRow | null) => {
      req.vault = v;
      try {
        return record();
      } finally {
        req.vault = null;
      }
    };
    await req.writeAudited((record) => vaults.deleteResourceGroup(group, mayDelete, record && recordFor(record)));
    // The group's role assignments go with it, and those of any vault purged with it; a soft-deleted vault keeps its own.
    await removeOrphanedAssignments(deps.index, (scope) => vaults.scopeExists(scope), resourceGroupScope(deps.subscriptionId, group.name).toLowerCase(), {
      log: deps.audit,
      entry: (what) => consequenceEntry(req, what),
    });
    return reply.status(200).send();
  });
  arm.get('/subscriptions/:sub/resourceGroups', async (req: ArmRequest) => {
    checkSubscription(req.params.sub);
    const caller = requireCaller(req);
    const keep = resourceGroupFilter(req.query.$filter);
    const groups = (await vaults.listResourceGroups(deps.subscriptionId)).filter((g) => keep(g) && authorizer.rbacGrant(caller.objectId, RG_READ, 'control', resourceGroupScope(deps.subscriptionId, g.name)));
    // Paged by $top and nextLink in name order, as the vault lists are (a bad $top or $skiptoken is a 400).
    const { value, nextLink } = await armPage(req, deps.urls.authority, groups, (g) => g.name.toLowerCase(), MAX_GROUPS_PAGE);
    return nextLink === null ? { value: value.map(resourceGroupResource) } : { value: value.map(resourceGroupResource), nextLink };
  });
}
