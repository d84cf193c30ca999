import type { FastifyInstance } from 'fastify';
import { subscriptionScope } from '../authorization/scopes.js';
import { subscriptionChecker, type ArmDeps, type ArmRequest } from '../server/arm-common.js';
import { errors } from '../server/errors.js';
import { requireCaller } from '../server/request-context.js';
import { subscriptionLocations } from './location-list.js';
import { RESOURCE_PROVIDERS } from './resource-providers.js';
import { holdsAnyRole } from './subscription-routes.js';

// Resource providers (ARM's Providers operations): `az provider show | list
// | register`, and the api-version lookup of `az resource show | update |
// delete --ids`. coffer's namespaces are always registered; registering
// one again answers it as it is, and one coffer does not serve is 404.

export function registerProviderRoutes(arm: FastifyInstance, deps: Pick<ArmDeps, 'subscriptionId' | 'index' | 'authorizer' | 'location'>): void {
  const checkSubscription = subscriptionChecker(deps.subscriptionId);
  const subId = subscriptionScope(deps.subscriptionId);
  // By display name, as Resource Manager lists a type's locations.
  const locations = subscriptionLocations(deps.subscriptionId, deps.location).map((l) => l.displayName);
  const asProvider = (key: string) => {
    const p = RESOURCE_PROVIDERS[key]!;
    return {
      id: `${subId}/providers/${p.namespace}`,
      namespace: p.namespace,
      registrationState: 'Registered',
      registrationPolicy: 'RegistrationRequired',
      resourceTypes: p.resourceTypes.map((t) => ({
        resourceType: t.resourceType,
        locations: t.located ? locations : [],
        apiVersions: t.apiVersions,
        ...(t.capabilities ? { capabilities: t.capabilities } : {}),
      })),
    };
  };
  /** The provider the URL names, to a caller who can see the subscription (as its GET). */
  const providerOf = (req: ArmRequest, action: string) => {
    checkSubscription(req.params.sub);
    const caller = requireCaller(req);
    if (!holdsAnyRole(deps, caller.objectId)) throw errors.authorizationFailed(caller, action, subId);
    const key = (req.params.namespace ?? '').toLowerCase();
    if (!Object.hasOwn(RESOURCE_PROVIDERS, key)) throw errors.invalidResourceNamespace(req.params.namespace ?? '');
    return key;
  };

  arm.get('/subscriptions/:sub/providers', async (req: ArmRequest) => {
    checkSubscription(req.params.sub);
    const caller = requireCaller(req);
    if (!holdsAnyRole(deps, caller.objectId)) throw errors.authorizationFailed(caller, 'Microsoft.Resources/subscriptions/providers/read', subId);
    return { value: Object.keys(RESOURCE_PROVIDERS).map(asProvider) };
  });
  arm.get('/subscriptions/:sub/providers/:namespace', async (req: ArmRequest) => asProvider(providerOf(req, 'Microsoft.Resources/subscriptions/providers/read')));
  // Registering takes the namespace's register action at the subscription (Contributor and Owner hold it), as in Azure.
  arm.post('/subscriptions/:sub/providers/:namespace/register', async (req: ArmRequest) => {
    const key = providerOf(req, `${req.params.namespace}/register/action`);
    await deps.authorizer.authorizeManagement(requireCaller(req), `${RESOURCE_PROVIDERS[key]!.namespace}/register/action`, subId);
    return asProvider(key);
  });
  arm.post('/subscriptions/:sub/providers/:namespace/unregister', async (req: ArmRequest) => {
    const key = providerOf(req, `${req.params.namespace}/unregister/action`);
    await deps.authorizer.authorizeManagement(requireCaller(req), `${RESOURCE_PROVIDERS[key]!.namespace}/unregister/action`, subId);
    throw errors.providerAlwaysRegistered(RESOURCE_PROVIDERS[key]!.namespace);
  });
}
