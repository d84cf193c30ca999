import type { Caller } from './identity-types.js';
import { applicationObjectId } from './application-routes.js';

// Who may call the Graph-shaped directory API at all (writes then need the
// deployment administrator, graph-route-kit.ts). Entra ID lets its users
// read the directory, but gives an app-only token (a service principal
// signed in with its own credentials) nothing of it without an application
// permission (Application.Read.All, Directory.Read.All...), except its own
// service principal. coffer has no Graph permissions to grant, so such a
// caller reads only itself: a connector's credentials, if stolen, do not
// list the deployment's principals, groups and credential metadata.

/** What of the request the decision needs: fastify's route pattern, not the raw URL. */
export interface DirectoryRequest {
  method: string;
  routeUrl: string | undefined;
  params: Record<string, string | undefined>;
}

/** Routes an app-only caller may read when the path's id is its own. */
const OWN_OBJECT_ROUTES = new Map<string, (caller: Caller) => string>([
  ['/v1.0/servicePrincipals/:id', (caller) => caller.objectId],
  ['/v1.0/applications/:id', (caller) => applicationObjectId(caller.appId)],
]);

/**
 * Whether the caller may read the directory at large: a user, or the deployment administrator. Other APIs that
 * would name principals (check-access) ask this too, so that they are no way around the Graph routes' refusal.
 */
export function mayReadDirectory(caller: Caller, adminObjectId: string): boolean {
  return caller.kind === 'user' || caller.objectId === adminObjectId;
}

export function mayCallDirectory(caller: Caller, req: DirectoryRequest, adminObjectId: string): boolean {
  if (mayReadDirectory(caller, adminObjectId)) return true;
  // Graph answers /me for an app-only token with its own 400 (directory-routes.ts), not a 403.
  if (req.routeUrl === '/v1.0/me') return true;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const own = OWN_OBJECT_ROUTES.get(req.routeUrl ?? '');
  return own !== undefined && (req.params.id ?? '').toLowerCase() === own(caller);
}
