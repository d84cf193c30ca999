import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authorizer } from '../authorization/authorizer.js';
import type { BearerAuth } from '../server/bearer-auth.js';
import { errors, ServiceError } from '../server/errors.js';
import { requireCaller } from '../server/request-context.js';
import type { Urls } from '../server/urls.js';
import type { VaultRow } from '../storage/store-types.js';
import { genericResource, resourceGroupResource, vaultResource } from './arm-wire.js';
import { checkVaultName, parseVaultPatch, parseVaultPut } from './vault-input.js';
import type { VaultService } from './vault-service.js';
import { vaultResourceId } from './vault-types.js';

// The ARM-shaped management API on the bare host: subscription, tenant,
// resource groups and vaults. Thin: parse, authorize, call the vault service.

interface Deps {
  tenantId: string;
  subscriptionId: string;
  location: string;
  urls: Urls;
  auth: BearerAuth;
  authorizer: Authorizer;
  vaults: VaultService;
}

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: unknown }>;

const VAULT_PATH = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.KeyVault/vaults/:name';
const ACTIONS = {
  rgWrite: 'Microsoft.Resources/subscriptions/resourceGroups/write',
  rgRead: 'Microsoft.Resources/subscriptions/resourceGroups/read',
  vaultRead: 'Microsoft.KeyVault/vaults/read',
  vaultWrite: 'Microsoft.KeyVault/vaults/write',
  vaultDelete: 'Microsoft.KeyVault/vaults/delete',
};

export function registerArmRoutes(app: FastifyInstance, deps: Deps): void {
  const { vaults, authorizer, urls } = deps;
  const asVault = (v: VaultRow) => vaultResource(v, urls.vaultUri(v.name));

  app.register(async (arm) => {
    arm.addHook('onRequest', async (req: FastifyRequest<{ Querystring: Record<string, string> }>) => {
      if (!req.query['api-version']) {
        throw new ServiceError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
      }
      req.caller = await deps.auth.management(req.headers.authorization);
    });

    const checkSubscription = (sub: string | undefined) => {
      if (!sub || sub.toLowerCase() !== deps.subscriptionId) throw errors.subscriptionNotFound(sub ?? '');
    };
    const visible = async (req: Req, list: VaultRow[]) => {
      const caller = requireCaller(req);
      const out: VaultRow[] = [];
      for (const v of list) {
        try {
          await authorizer.authorizeManagement(caller, ACTIONS.vaultRead, vaultResourceId(v), v);
          out.push(v);
        } catch (err) {
          if (!(err instanceof ServiceError)) throw err;
        }
      }
      return out;
    };
    const subscription = () => ({
      id: `/subscriptions/${deps.subscriptionId}`,
      authorizationSource: 'RoleBased',
      subscriptionId: deps.subscriptionId,
      tenantId: deps.tenantId,
      displayName: 'coffer',
      state: 'Enabled',
      subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'coffer', spendingLimit: 'Off' },
    });

    arm.get('/subscriptions', async () => ({ value: [subscription()] }));
    arm.get('/subscriptions/:sub', async (req: Req) => {
      checkSubscription(req.params.sub);
      return subscription();
    });
    arm.get('/tenants', async () => ({
      value: [{ id: `/tenants/${deps.tenantId}`, tenantId: deps.tenantId, tenantCategory: 'Home', displayName: 'coffer', defaultDomain: 'coffer.local' }],
    }));

    arm.put('/subscriptions/:sub/resourceGroups/:rg', async (req: Req, reply: FastifyReply) => {
      checkSubscription(req.params.sub);
      const rg = req.params.rg!;
      if (!/^[-\w._()]{1,90}$/.test(rg) || rg.endsWith('.')) throw errors.invalidArm(`Resource group name '${rg}' is invalid.`);
      const body = (req.body ?? {}) as { location?: unknown; tags?: unknown };
      if (typeof body.location !== 'string') throw new ServiceError(400, 'LocationRequired', 'The location property is required for this definition.');
      await authorizer.authorizeManagement(requireCaller(req), ACTIONS.rgWrite, `/subscriptions/${deps.subscriptionId}/resourceGroups/${rg}`, null);
      const tags = (body.tags && typeof body.tags === 'object' ? body.tags : {}) as Record<string, string>;
      const { group, created } = await vaults.ensureResourceGroup({ subscriptionId: deps.subscriptionId, name: rg, location: body.location, tags });
      return reply.status(created ? 201 : 200).send(resourceGroupResource(group));
    });
    arm.get('/subscriptions/:sub/resourceGroups/:rg', async (req: Req) => {
      checkSubscription(req.params.sub);
      return resourceGroupResource(await vaults.getResourceGroup(deps.subscriptionId, req.params.rg!));
    });
    arm.get('/subscriptions/:sub/resourceGroups', async (req: Req) => {
      checkSubscription(req.params.sub);
      return { value: (await vaults.listResourceGroups(deps.subscriptionId)).map(resourceGroupResource) };
    });

    arm.get('/subscriptions/:sub/resources', async (req: Req) => {
      checkSubscription(req.params.sub);
      const filter = req.query.$filter ?? '';
      const typeMatch = /resourceType\s+eq\s+'([^']+)'/i.exec(filter);
      if (typeMatch && typeMatch[1]!.toLowerCase() !== 'microsoft.keyvault/vaults') return { value: [] };
      const list = await visible(req, await vaults.list({ subscriptionId: deps.subscriptionId }));
      return { value: list.map(genericResource) };
    });
    arm.get('/subscriptions/:sub/providers/Microsoft.KeyVault/vaults', async (req: Req) => {
      checkSubscription(req.params.sub);
      return { value: (await visible(req, await vaults.list({ subscriptionId: deps.subscriptionId }))).map(asVault) };
    });
    arm.get('/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.KeyVault/vaults', async (req: Req) => {
      checkSubscription(req.params.sub);
      const rg = await vaults.getResourceGroup(deps.subscriptionId, req.params.rg!);
      return { value: (await visible(req, await vaults.list({ subscriptionId: deps.subscriptionId, resourceGroup: rg.name }))).map(asVault) };
    });
    arm.post('/subscriptions/:sub/providers/Microsoft.KeyVault/checkNameAvailability', async (req: Req) => {
      checkSubscription(req.params.sub);
      const name = (req.body as { name?: unknown } | undefined)?.name;
      if (typeof name !== 'string') throw errors.invalidArm("The property 'name' is required.");
      try {
        checkVaultName(name);
      } catch (err) {
        return { nameAvailable: false, reason: 'AccountNameInvalid', message: (err as Error).message };
      }
      const taken = (await vaults.findLive(name)) !== null;
      return taken
        ? { nameAvailable: false, reason: 'AlreadyExists', message: `The vault name '${name}' is already in use.` }
        : { nameAvailable: true };
    });

    const loadVault = async (req: Req, action: string) => {
      checkSubscription(req.params.sub);
      const vault = await vaults.get(deps.subscriptionId, req.params.rg!, req.params.name!);
      await authorizer.authorizeManagement(requireCaller(req), action, vaultResourceId(vault), vault);
      return vault;
    };

    arm.put(VAULT_PATH, async (req: Req, reply: FastifyReply) => {
      checkSubscription(req.params.sub);
      const name = checkVaultName(req.params.name!);
      const body = parseVaultPut(req.body, deps.tenantId);
      const rg = await vaults.getResourceGroup(deps.subscriptionId, req.params.rg!);
      const existing = await vaults.findLive(name);
      const scope = `/subscriptions/${deps.subscriptionId}/resourceGroups/${rg.name}/providers/Microsoft.KeyVault/vaults/${name}`;
      await authorizer.authorizeManagement(requireCaller(req), ACTIONS.vaultWrite, scope, existing);
      const { vault, created } = await vaults.put({ subscriptionId: deps.subscriptionId, resourceGroup: rg.name, name, body, createdBy: requireCaller(req).objectId });
      return reply.status(created ? 201 : 200).send(asVault(vault));
    });
    arm.get(VAULT_PATH, async (req: Req) => asVault(await loadVault(req, ACTIONS.vaultRead)));
    arm.patch(VAULT_PATH, async (req: Req) => {
      const body = parseVaultPatch(req.body, deps.tenantId);
      return asVault(await vaults.patch(await loadVault(req, ACTIONS.vaultWrite), body));
    });
    arm.delete(VAULT_PATH, async (req: Req, reply: FastifyReply) => {
      checkSubscription(req.params.sub);
      const vault = await vaults.findLive(req.params.name!);
      if (!vault || vault.resourceGroup.toLowerCase() !== req.params.rg!.toLowerCase()) return reply.status(204).send();
      await vaults.delete(await loadVault(req, ACTIONS.vaultDelete));
      return reply.status(200).send();
    });
  });
}
