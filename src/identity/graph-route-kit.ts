import type { FastifyRequest } from 'fastify';
import type { AccessIndex } from '../authorization/access-index.js';
import { errors } from '../server/errors.js';
import { requireCaller } from '../server/request-context.js';
import type { PrincipalRow } from '../storage/store-types.js';
import type { DirectoryService } from './directory-service.js';
import type { TokenService } from './token-service.js';
import { checkStartNow, iso, refusePasswordCredentials, resourceNotFound, unlessGone, yearsUntil } from './graph-resources.js';
import { GUID_RE } from './identity-types.js';
import { graphPage } from './graph-paging.js';

// What the Graph-shaped routes share: who may write, how a path names an
// object, and how a principal leaves the directory.

export type GraphRequest = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: unknown }>;

export function createGraphRouteKit(deps: { directory: DirectoryService; adminObjectId: string; index: AccessIndex; tokens: Pick<TokenService, 'forgetPrincipal'>; authority: string }) {
  const { directory } = deps;
  return {
    /** Writes to the directory are the deployment administrator's. */
    requireAdmin(req: GraphRequest): void {
      if (requireCaller(req).objectId !== deps.adminObjectId) throw errors.graphInsufficientPrivileges();
    },
    /** The path's object of `kind`: by object id, or a user by user principal name too (az's `ad user show --id alice@...`). */
    async load(req: GraphRequest, kind: PrincipalRow['kind']): Promise<PrincipalRow> {
      const id = req.params.id ?? '';
      const p = GUID_RE.test(id) ? await directory.get(id.toLowerCase()) : kind === 'User' && id.includes('@') ? await directory.getByUpn(id) : null;
      if (!p || p.kind !== kind) throw resourceNotFound(id);
      return p;
    },
    exists: async (id: string): Promise<boolean> => (await directory.get(id)) !== null,
    /** One page of a list of directory objects, in object id order, as Graph pages it (graph-paging.ts). */
    page: <R>(req: GraphRequest, rows: readonly PrincipalRow[], show: (p: PrincipalRow) => R | Promise<R>) => graphPage(req, deps.authority, rows, (p) => p.objectId, show),
    /** The JSON object a write sends (none: empty); an array, string or number is Graph's 400, not an empty update. */
    body: (req: GraphRequest): Record<string, unknown> => {
      if (req.body === undefined || req.body === null) return {};
      if (typeof req.body !== 'object' || Array.isArray(req.body)) throw errors.graphBadRequest('The request body must be a JSON object.');
      return req.body as Record<string, unknown>;
    },
    /**
     * Out of the directory first, then its assignments: one being created for it meanwhile checks again in the
     * index's turn. Its record travels with the principal's removal; gone meanwhile (another delete), it is not found.
     */
    async removePrincipal(req: GraphRequest, objectId: string): Promise<void> {
      if (objectId === deps.adminObjectId) throw errors.administratorUndeletable();
      if (!(await req.writeAudited((record) => directory.delete(objectId, record?.()), 204))) throw resourceNotFound(objectId);
      // Its tokens first: an access policy naming it would otherwise keep granting them until they expire.
      deps.tokens.forgetPrincipal(objectId);
      await deps.index.forgetPrincipal(objectId);
    },
  };
}

/** Graph's addPassword: a new client secret for the principal, its text shown this once. */
export async function addPassword(req: GraphRequest, kit: Pick<GraphRouteKit, 'body' | 'exists'>, directory: DirectoryService, objectId: string) {
  const raw = kit.body(req).passwordCredential ?? {};
  const cred = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const years = yearsUntil(cred.endDateTime);
  checkStartNow(cred.startDateTime);
  const displayName = typeof cred.displayName === 'string' ? cred.displayName.slice(0, 256) : undefined;
  const created = await unlessGone(req.writeAudited((record) => directory.addClientSecret(objectId, { years, displayName }, record?.())), [objectId], kit.exists);
  return { keyId: created.keyId, secretText: created.secret, hint: created.secret.slice(0, 3), endDateTime: iso(created.endAt), displayName: displayName ?? null };
}

/** Graph's removePassword: one client secret of the principal, by keyId. */
export async function removePassword(req: GraphRequest, kit: Pick<GraphRouteKit, 'body'>, directory: DirectoryService, objectId: string): Promise<void> {
  const keyId = kit.body(req).keyId;
  if (typeof keyId !== 'string' || !(await req.writeAudited((record) => directory.removeClientSecret(objectId, keyId, record?.()), 204))) {
    throw errors.passwordCredentialNotFound(keyId);
  }
}

/**
 * A PATCH of an application or service principal: its display name as it is, and its certificate credentials
 * (Graph's full `keyCredentials` list, key-credentials.ts); coffer keeps nothing else of one.
 */
export async function patchCredentials(req: GraphRequest, kit: Pick<GraphRouteKit, 'body' | 'exists'>, directory: DirectoryService, p: PrincipalRow): Promise<void> {
  const b = kit.body(req);
  refusePasswordCredentials(b);
  const changed = Object.keys(b).filter((k) => !(k === 'displayName' && b[k] === p.displayName) && k !== 'keyCredentials' && k !== 'passwordCredentials');
  if (changed.length > 0) throw errors.graphBadRequest(`coffer keeps only an application's display name and credentials: it cannot change ${changed.slice(0, 5).join(', ')}.`);
  if (b.keyCredentials === undefined) return;
  await unlessGone(req.writeAudited((record) => directory.setKeyCredentials(p.objectId, b.keyCredentials, record?.()), 204), [p.objectId], kit.exists);
}

export type GraphRouteKit = ReturnType<typeof createGraphRouteKit>;
