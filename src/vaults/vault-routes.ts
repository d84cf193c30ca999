import type { FastifyInstance, FastifyReply } from 'fastify';
import { applyPolicyChange, parsePolicies, policiesOf, type AccessPolicyEntry } from '../authorization/access-policies.js';
import { removeOrphanedAssignments } from '../authorization/orphaned-assignments.js';
import { unconditioned } from '../authorization/builtin-roles.js';
import { consequenceEntry } from '../audit/audit-hook.js';
import { resourceGroupScope, vaultScope } from '../authorization/scopes.js';
import { armPage, bodyObject, subscriptionChecker, type ArmDeps, type ArmRequest } from '../server/arm-common.js';
import { errors } from '../server/errors.js';
import { requireCaller } from '../server/request-context.js';
import type { VaultRow } from '../storage/store-types.js';
import { deletedVaultResource, genericResource, vaultResource } from './arm-wire.js';
import { checkVaultName, parseVaultPatch, parseVaultPut } from './vault-input.js';
import { actorOf, vaultPolicy } from './vault-types.js';
import { resourceExpansion, resourceFilter } from './resource-filter.js';
import { holdsAnyRole } from './subscription-routes.js';

/** A vault list's page size when `$top` is absent, and its largest (Resource Manager's own for /resources). */
const MAX_TOP = 1000;

/** The first ARM api-version whose vault create defaults to RBAC. */
const RBAC_DEFAULT_API = '2026-02-01';

// Vaults (ARM): CRUD, lists, access policies, deleted vaults. Every route
// authorizes its ARM action at the vault's scope through the one authorizer.

const VAULT_PATH = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.KeyVault/vaults/:name';
const A = {
  read: 'Microsoft.KeyVault/vaults/read',
  write: 'Microsoft.KeyVault/vaults/write',
  delete: 'Microsoft.KeyVault/vaults/delete',
  policies: 'Microsoft.KeyVault/vaults/accessPolicies/write',
  switchModel: 'Microsoft.Authorization/roleAssignments/write',
  deletedRead: 'Microsoft.KeyVault/deletedVaults/read',
  deletedGet: 'Microsoft.KeyVault/locations/deletedVaults/read',
  purge: 'Microsoft.KeyVault/locations/deletedVaults/purge/action',
};

export function registerVaultRoutes(arm: FastifyInstance, deps: ArmDeps): void {
  const { vaults, authorizer, urls } = deps;
  const checkSubscription = subscriptionChecker(deps.subscriptionId);
  const scopeOf = (v: Pick<VaultRow, 'subscriptionId' | 'resourceGroup' | 'name'>) => vaultScope(v.subscriptionId, v.resourceGroup, v.name);
  const asVault = (v: VaultRow) => vaultResource(v, urls.vaultUri(v.name));
  const visible = (req: ArmRequest, list: VaultRow[]) =>
    list.filter((v) => authorizer.rbacGrant(requireCaller(req).objectId, A.read, 'control', scopeOf(v)) !== null);
  /** A page of vaults, live or deleted (the store lists them by name key), each as `toWire` shows it; the last page has no nextLink. */
  const page = async (req: ArmRequest, list: VaultRow[], toWire: (v: VaultRow) => unknown) => {
    const { value, nextLink } = await armPage(req, urls.authority, list, (v) => v.name.toLowerCase(), MAX_TOP);
    return nextLink === null ? { value: value.map(toWire) } : { value: value.map(toWire), nextLink };
  };

  /** A purged vault's role assignments (at it and its secrets) go with it: a vault made later under its name starts with none. */
  const forgetScope = (req: ArmRequest, v: VaultRow) =>
    removeOrphanedAssignments(deps.index, (scope) => vaults.scopeExists(scope), scopeOf(v).toLowerCase(), { log: deps.audit, entry: (what) => consequenceEntry(req, what) });

  // Every vault route authorizes at the scope its URL names before it looks anything up or reads the body,
  // as Azure does: a caller without the right gets 403 whether the vault (or its group) exists or not.
  const authorizeAtUrl = async (req: ArmRequest, action: string) => {
    checkSubscription(req.params.sub);
    await authorizer.authorizeManagement(requireCaller(req), action, vaultScope(deps.subscriptionId, req.params.rg!, req.params.name!));
  };
  const loadVault = async (req: ArmRequest, action: string) => {
    await authorizeAtUrl(req, action);
    return vaults.get(deps.subscriptionId, req.params.rg!, req.params.name!);
  };

  /**
   * Azure lets only holders of roleAssignments/write change the permission
   * model. A PUT replaces the properties, so a PUT that leaves the flag out
   * moves an RBAC vault to access policies; a PATCH without it changes nothing.
   */
  const guardModelSwitch = async (req: ArmRequest, vault: VaultRow | null, next: Record<string, unknown>, how: 'put' | 'patch') => {
    if (vault === null) return;
    const flag = next.enableRbacAuthorization;
    const rbac = how === 'put' ? flag === true : typeof flag === 'boolean' ? flag : vaultPolicy(vault).rbac;
    if (rbac === vaultPolicy(vault).rbac) return;
    const caller = requireCaller(req);
    if (!authorizer.rbacGrants(caller.objectId, A.switchModel, 'control', scopeOf(vault)).some(unconditioned)) {
      throw errors.authorizationFailed(caller, A.switchModel, scopeOf(vault));
    }
  };

  arm.get('/subscriptions/:sub/resources', async (req: ArmRequest) => {
    checkSubscription(req.params.sub);
    const keep = resourceFilter(req.query.$filter);
    const expand = resourceExpansion(req.query.$expand);
    return page(req, visible(req, await vaults.list({ subscriptionId: deps.subscriptionId })).filter(keep), (v) => genericResource(v, expand));
  });
  arm.get('/subscriptions/:sub/providers/Microsoft.KeyVault/vaults', async (req: ArmRequest) => {
    checkSubscription(req.params.sub);
    return page(req, visible(req, await vaults.list({ subscriptionId: deps.subscriptionId })), asVault);
  });
  /**
   * The vaults of the URL's group the caller may see. A caller who may read vaults across the group learns whether it
   * exists; one who may read only some of its vaults gets those, and one who may read none of them gets 403 whether
   * the group exists or not.
   */
  const vaultsOfGroup = async (req: ArmRequest): Promise<VaultRow[]> => {
    checkSubscription(req.params.sub);
    const caller = requireCaller(req);
    const groupScope = resourceGroupScope(deps.subscriptionId, req.params.rg!);
    if (authorizer.rbacGrant(caller.objectId, A.read, 'control', groupScope) !== null) {
      const rg = await vaults.getResourceGroup(deps.subscriptionId, req.params.rg!);
      return vaults.list({ subscriptionId: deps.subscriptionId, resourceGroup: rg.name });
    }
    const rg = await vaults.findResourceGroup(deps.subscriptionId, req.params.rg!);
    const seen = rg ? visible(req, await vaults.list({ subscriptionId: deps.subscriptionId, resourceGroup: rg.name })) : [];
    if (seen.length === 0) throw errors.authorizationFailed(caller, A.read, groupScope);
    return seen;
  };
  arm.get('/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.KeyVault/vaults', async (req: ArmRequest) => page(req, await vaultsOfGroup(req), asVault));
  // A group's resources (Resources - List By Resource Group: the SDKs' resources.list_by_resource_group; az resource
  // list -g filters the subscription's list instead). coffer's only resources are vaults.
  arm.get('/subscriptions/:sub/resourceGroups/:rg/resources', async (req: ArmRequest) => {
    const list = await vaultsOfGroup(req);
    const expand = resourceExpansion(req.query.$expand);
    return page(req, list.filter(resourceFilter(req.query.$filter)), (v) => genericResource(v, expand));
  });
  arm.post('/subscriptions/:sub/providers/Microsoft.KeyVault/checkNameAvailability', async (req: ArmRequest) => {
    checkSubscription(req.params.sub);
    // Resource Manager authorizes it at the subscription before the body is looked at: a caller with no role there
    // gets 403. coffer lets any role at or under the subscription ask (as it shows the subscription), so that one
    // who may create vaults only in a group can still check a name before the PUT.
    const caller = requireCaller(req);
    if (!holdsAnyRole(deps, caller.objectId)) throw errors.authorizationFailed(caller, 'Microsoft.KeyVault/checkNameAvailability/read', `/subscriptions/${deps.subscriptionId}`);
    const { name, type } = bodyObject(req.body);
    if (typeof name !== 'string') throw errors.invalidArm("The property 'name' is required.");
    // The spec's VaultCheckNameAvailabilityParameters: `type` is required, and a constant.
    if (typeof type !== 'string') throw errors.invalidArm("The property 'type' is required.");
    if (type.toLowerCase() !== 'microsoft.keyvault/vaults') throw errors.invalidCheckNameType(type);
    try {
      checkVaultName(name);
    } catch (err) {
      return { nameAvailable: false, reason: 'AccountNameInvalid', message: (err as Error).message };
    }
    return (await vaults.nameInUse(name)) ? { nameAvailable: false, reason: 'AlreadyExists', message: errors.vaultAlreadyExists(name).message } : { nameAvailable: true };
  });

  arm.put(VAULT_PATH, async (req: ArmRequest, reply: FastifyReply) => {
    await authorizeAtUrl(req, A.write);
    const name = checkVaultName(req.params.name!);
    const rg = await vaults.getResourceGroup(deps.subscriptionId, req.params.rg!);
    const caller = requireCaller(req);
    // A vault of that name in another group is not this PUT's to change (VaultAlreadyExists, from put): nothing of
    // it (its group, its permission model, its tags) may show in the answer, so it is not looked at here.
    const found = await vaults.findLive(name);
    const existing = found && found.resourceGroup.toLowerCase() === rg.name.toLowerCase() ? found : null;
    const body = parseVaultPut(req.body, deps.tenantId, existing?.tags);
    // From api-version 2026-02-01 Azure creates a vault without the flag with RBAC, and a PUT without it
    // keeps the vault's model; earlier versions created access-policy vaults, and a PUT replaced the flag.
    if (body.properties.enableRbacAuthorization == null && String(req.query['api-version']) >= RBAC_DEFAULT_API) {
      body.properties.enableRbacAuthorization = existing ? vaultPolicy(existing).rbac : true;
    }
    await guardModelSwitch(req, existing, body.properties, 'put');
    const { vault } = await req.writeAudited((record) =>
      vaults.put({ subscriptionId: deps.subscriptionId, resourceGroup: rg.name, name, body, by: actorOf(caller), audit: record?.() }),
    );
    // 200 for a create as well: Key Vault's resource provider never answers 201 (its recordings), whatever the spec allows.
    return reply.status(200).send(asVault(vault));
  });
  arm.get(VAULT_PATH, async (req: ArmRequest) => asVault(await loadVault(req, A.read)));
  arm.patch(VAULT_PATH, async (req: ArmRequest) => {
    const vault = await loadVault(req, A.write);
    const body = parseVaultPatch(req.body, deps.tenantId, vault.tags);
    await guardModelSwitch(req, vault, body.properties, 'patch');
    return asVault(await req.writeAudited((record) => vaults.patch(vault, body, actorOf(requireCaller(req)), record?.())));
  });
  arm.delete(VAULT_PATH, async (req: ArmRequest, reply: FastifyReply) => {
    await authorizeAtUrl(req, A.delete);
    const vault = await vaults.findLive(req.params.name!);
    if (!vault || vault.resourceGroup.toLowerCase() !== req.params.rg!.toLowerCase()) return reply.status(204).send();
    const target = await vaults.get(deps.subscriptionId, req.params.rg!, req.params.name!);
    // Nothing left to delete (a concurrent delete got there first): as for a vault that does not exist.
    const deleted = await req.writeAudited((record) => vaults.delete(target, record?.()));
    // Without soft delete the vault is purged at once.
    if (!vaultPolicy(target).softDelete) await forgetScope(req, target);
    return reply.status(deleted ? 200 : 204).send();
  });

  arm.put(`${VAULT_PATH}/accessPolicies/:operation`, async (req: ArmRequest) => {
    const operation = req.params.operation!.toLowerCase();
    if (operation !== 'add' && operation !== 'replace' && operation !== 'remove') {
      throw errors.invalidArm(`The access policy operation '${req.params.operation}' is not valid: use add, replace or remove.`);
    }
    const vault = await loadVault(req, A.policies);
    const props = bodyObject(bodyObject(req.body).properties);
    const changes = parsePolicies(props.accessPolicies, String(vault.properties.tenantId).toLowerCase());
    const change = (current: AccessPolicyEntry[]) => applyPolicyChange(current, operation, changes);
    const updated = await req.writeAudited((record) => vaults.changeAccessPolicies(vault, change, actorOf(requireCaller(req)), record?.()));
    return {
      id: `${scopeOf(vault)}/accessPolicies/${operation}`,
      name: operation,
      type: 'Microsoft.KeyVault/vaults/accessPolicies',
      location: vault.location,
      properties: { accessPolicies: policiesOf(updated.properties) },
    };
  });

  const deletedBase = '/subscriptions/:sub/providers/Microsoft.KeyVault';
  arm.get(`${deletedBase}/deletedVaults`, async (req: ArmRequest) => {
    checkSubscription(req.params.sub);
    await authorizer.authorizeManagement(requireCaller(req), A.deletedRead, `/subscriptions/${deps.subscriptionId}`);
    return page(req, await vaults.listDeleted(deps.subscriptionId), deletedVaultResource);
  });
  // Managed HSMs are not served (README, support matrix): a subscription has none, live or deleted, so that
  // clients listing both kinds (az keyvault list-deleted, az keyvault list) see the vaults alone.
  for (const kind of ['managedHSMs', 'deletedManagedHSMs']) {
    arm.get(`${deletedBase}/${kind}`, async (req: ArmRequest) => {
      checkSubscription(req.params.sub);
      await authorizer.authorizeManagement(requireCaller(req), `Microsoft.KeyVault/${kind}/read`, `/subscriptions/${deps.subscriptionId}`);
      return { value: [] };
    });
  }
  const loadDeleted = async (req: ArmRequest, action: string) => {
    checkSubscription(req.params.sub);
    await authorizer.authorizeManagement(requireCaller(req), action, `/subscriptions/${deps.subscriptionId}`);
    return vaults.getDeleted(deps.subscriptionId, req.params.location!, req.params.name!);
  };
  arm.get(`${deletedBase}/locations/:location/deletedVaults/:name`, async (req: ArmRequest) => deletedVaultResource(await loadDeleted(req, A.deletedGet)));
  arm.post(`${deletedBase}/locations/:location/deletedVaults/:name/purge`, async (req: ArmRequest, reply: FastifyReply) => {
    const vault = await loadDeleted(req, A.purge);
    await req.writeAudited((record) => vaults.purgeDeleted(vault, record?.()));
    await forgetScope(req, vault);
    return reply.status(200).send();
  });
}
