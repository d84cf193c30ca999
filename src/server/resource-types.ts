import { errors, type ServiceError } from './errors.js';
import { pathSegments } from './query-params.js';

/**
 * The resource types coffer serves under each Resource Manager namespace it
 * serves: nested types joined by '/', lower case (the namespace's key too),
 * as Resource Manager compares them. A Map, since the key comes from the
 * URL: `providers/__proto__` must find nothing, not Object.prototype.
 */
const SERVED = new Map<string, { name: string; types: Set<string> }>(
  Object.entries({
    'microsoft.keyvault': {
      name: 'Microsoft.KeyVault',
      types: new Set([
        'vaults',
        'vaults/accesspolicies',
        'vaults/secrets',
        'deletedvaults',
        'managedhsms',
        'deletedmanagedhsms',
        'checknameavailability',
        'locations/deletedvaults',
        'locations/deletedvaults/purge',
        // The provider's own actions (provider-routes.ts).
        'register',
        'unregister',
      ]),
    },
    'microsoft.authorization': { name: 'Microsoft.Authorization', types: new Set(['roleassignments', 'roledefinitions', 'permissions', 'classicadministrators', 'register', 'unregister']) },
  }),
);

/**
 * Resource Manager's answer to a path whose last `/providers/{namespace}/...`
 * is one of coffer's namespaces but names a type it does not have (404
 * InvalidResourceType, as Azure answers a GET of an unknown type), or null:
 * a served type, another namespace, or no provider segment at all.
 */
export function unknownResourceType(url: string, apiVersion: unknown): ServiceError | null {
  if (typeof apiVersion !== 'string' || apiVersion === '') return null;
  // Decoded, as the routes read them (role%41ssignments is roleAssignments); a path that does not decode is no type.
  const segments = pathSegments(url);
  if (segments === null) return null;
  const at = segments.map((s) => s.toLowerCase()).lastIndexOf('providers');
  const namespace = at < 0 ? undefined : SERVED.get((segments[at + 1] ?? '').toLowerCase());
  const rest = segments.slice(at + 2);
  if (!namespace || rest.length === 0) return null;
  // Types and names alternate after the namespace: vaults/{name}/secrets/{name} is the type vaults/secrets.
  const type = rest.filter((_, i) => i % 2 === 0).join('/').toLowerCase();
  return namespace.types.has(type) ? null : errors.invalidResourceType(namespace.name, apiVersion);
}
