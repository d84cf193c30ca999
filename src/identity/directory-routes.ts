import type { FastifyInstance, FastifyReply } from 'fastify';
import type { BearerAuth } from '../server/bearer-auth.js';
import { errors } from '../server/errors.js';
import { requireCaller } from '../server/request-context.js';
import type { PrincipalRow } from '../storage/store-types.js';
import type { TokenService } from './token-service.js';
import type { DirectoryService } from './directory-service.js';
import type { AccessIndex } from '../authorization/access-index.js';
import { GUID_RE } from './identity-types.js';
import { canonicalOptions, repeatedParameter } from '../server/query-params.js';
import { ofKind, principalFilter } from './graph-filter.js';
import { addPassword, createGraphRouteKit, patchCredentials, removePassword, type GraphRequest as Req } from './graph-route-kit.js';
import { keyCredentialView } from './key-credentials.js';
import { registerApplicationRoutes } from './application-routes.js';
import { registerMembershipRoutes } from './membership-routes.js';
import { mayCallDirectory } from './directory-access.js';
import { credentialView, groupResource, iso, objectResource, refusePasswordCredentials, refuseUnkeptFlags, resourceNotFound, secretYears, spResource, unlessGone, userResource } from './graph-resources.js';
import { echo } from '../server/echo.js';

// A Microsoft Graph shaped directory API (v1.0 subset) on the bare host:
// service principals with password credentials, users and groups. coffer
// folds an application and its service principal into one object, as `az
// ad sp create-for-rbac` presents them (application-routes.ts shows it as
// an application). Reads are open to the tenant's users, as in Entra ID,
// and to a service principal only for its own object (directory-access.ts);
// writes need the deployment administrator.

/** Graph's system query options, read in any case as OData reads them. */
const GRAPH_OPTIONS = ['$filter', '$top', '$skip', '$skiptoken', '$select', '$search', '$count', '$orderby', '$expand'];

/** getByIds' type names for coffer's kinds (Graph takes them in any case). */
const GRAPH_TYPES: Record<PrincipalRow['kind'], string> = { User: 'user', Group: 'group', ServicePrincipal: 'serviceprincipal' };

/**
 * Which objects getByIds' `types` keeps: every one without it (or with `directoryObject`), else those of the types it
 * names. Ignoring it would answer a caller asking for users with the groups and service principals among the ids.
 */
function typesTest(types: unknown): (p: PrincipalRow) => boolean {
  if (types === undefined || types === null) return () => true;
  if (!Array.isArray(types) || !types.every((t) => typeof t === 'string')) throw errors.graphBadRequest("The property 'types' must be an array of type names.");
  const asked = new Set((types as string[]).map((t) => t.toLowerCase().replace(/^microsoft\.graph\./, '')));
  if (asked.size === 0 || asked.has('directoryobject')) return () => true;
  return (p) => asked.has(GRAPH_TYPES[p.kind]);
}

/**
 * The object a `members/$ref` body names: Graph takes the URL of a directory object
 * (`https://graph.microsoft.com/v1.0/directoryObjects/{id}`), and a bare id or
 * anything else that is not a URL is a 400. The host is not checked: a client may
 * reach this server by another name than its own.
 */
function referencedId(ref: unknown): string {
  let url: URL | null = null;
  try {
    url = typeof ref === 'string' ? new URL(ref) : null;
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw errors.graphInvalidReference();
  return url.pathname.split('/').pop() ?? '';
}

/**
 * Members given with a group's create (Graph's `members@odata.bind`) or by a rule (a dynamic group): coffer adds
 * members through `members/$ref` only, and a group made without them would not hold who its creator named.
 */
function refuseGroupMembership(b: Record<string, unknown>): void {
  const bound = b['members@odata.bind'];
  if (bound !== undefined && bound !== null && !(Array.isArray(bound) && bound.length === 0)) {
    throw errors.graphBadRequest('members@odata.bind is not supported: add members through /groups/{id}/members/$ref.');
  }
  const types = b.groupTypes;
  const dynamic = Array.isArray(types) && types.some((t) => typeof t === 'string' && t.toLowerCase() === 'dynamicmembership');
  if (dynamic || (typeof b.membershipRule === 'string' && b.membershipRule !== '')) {
    throw errors.graphBadRequest('Dynamic membership (groupTypes DynamicMembership, membershipRule) is not supported: coffer evaluates no membership rules.');
  }
}

export function registerDirectoryRoutes(app: FastifyInstance, deps: { directory: DirectoryService; auth: BearerAuth; adminObjectId: string; index: AccessIndex; tokens: Pick<TokenService, 'forgetPrincipal'>; authority: string }): void {
  const { directory } = deps;
  app.register(async (graph) => {
    graph.addHook('onRequest', async (req) => {
      req.caller = await deps.auth.management(req.headers.authorization);
      if (!mayCallDirectory(req.caller, { method: req.method, routeUrl: req.routeOptions.url, params: req.params as Record<string, string | undefined> }, deps.adminObjectId)) {
        throw errors.graphInsufficientPrivileges();
      }
      const repeated = repeatedParameter(req.query) ?? canonicalOptions(req.query, GRAPH_OPTIONS);
      if (repeated !== undefined) throw errors.badParameter(`The query parameter '${repeated}' is given more than once.`);
    });
    const kit = createGraphRouteKit(deps);
    const { requireAdmin, load, exists, body, removePrincipal, page } = kit;

    // Graph's whole object, in a list as by id; coffer folds an application and its service principal into one object: both show its credentials.
    const withCredentials = async (p: PrincipalRow) => ({
      ...spResource(p),
      keyCredentials: (await directory.listKeyCredentials(p.objectId)).map(keyCredentialView),
      passwordCredentials: (await directory.listClientSecrets(p.objectId)).map(credentialView),
    });
    graph.get('/v1.0/servicePrincipals', async (req: Req) => page(req, (await directory.list()).filter(ofKind('ServicePrincipal', req.query.$filter)), withCredentials));
    graph.get('/v1.0/servicePrincipals/:id', async (req: Req) => withCredentials(await load(req, 'ServicePrincipal')));
    // az ad sp credential reset --cert / delete --cert send the full keyCredentials list.
    graph.patch('/v1.0/servicePrincipals/:id', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      await patchCredentials(req, kit, directory, await load(req, 'ServicePrincipal'));
      return reply.status(204).send();
    });
    graph.post('/v1.0/servicePrincipals', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      refuseUnkeptFlags(body(req), { accountEnabled: true });
      refusePasswordCredentials(body(req));
      // Not dropped: the principal would lack the certificate its creator believes it has.
      const keys = body(req).keyCredentials;
      if (keys !== undefined && keys !== null && !(Array.isArray(keys) && keys.length === 0)) {
        throw errors.graphBadRequest("keyCredentials are not taken on a service principal's create in coffer: create the application with them, or PATCH them afterwards.");
      }
      // Graph's form, {appId}: the service principal of an application registered through /applications, which
      // coffer made with it (application-routes.ts). The wording avoids what az retries on for minutes.
      const appId = body(req).appId;
      if (typeof appId === 'string') {
        const p = GUID_RE.test(appId) ? await directory.getByAppId(appId.toLowerCase()) : null;
        if (!p) throw errors.graphBadRequest(`coffer has no application with appId '${appId.slice(0, 64)}': register it through /v1.0/applications first.`);
        return reply.status(201).send(spResource(p));
      }
      const name = body(req).displayName;
      if (typeof name !== 'string' || name.trim() === '' || name.length > 256) throw errors.graphBadRequest('displayName is required (1 to 256 characters).');
      const years = secretYears(body(req).years);
      const { principal, credential } = await req.writeAudited((record) => directory.createServicePrincipal({ displayName: name, years }, record?.()), 201);
      return reply.status(201).send({
        ...spResource(principal),
        passwordCredentials: [{ keyId: credential.keyId, secretText: credential.secret, hint: credential.secret.slice(0, 3), endDateTime: iso(credential.endAt) }],
      });
    });
    graph.delete('/v1.0/servicePrincipals/:id', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      await removePrincipal(req, (await load(req, 'ServicePrincipal')).objectId);
      return reply.status(204).send();
    });
    graph.post('/v1.0/servicePrincipals/:id/addPassword', async (req: Req) => {
      requireAdmin(req);
      return addPassword(req, kit, directory, (await load(req, 'ServicePrincipal')).objectId);
    });
    graph.post('/v1.0/servicePrincipals/:id/removePassword', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      await removePassword(req, kit, directory, (await load(req, 'ServicePrincipal')).objectId);
      return reply.status(204).send();
    });

    graph.get('/v1.0/me', async (req: Req) => {
      const caller = requireCaller(req);
      if (caller.kind !== 'user') throw errors.meRequiresDelegatedFlow();
      const me = await directory.get(caller.objectId);
      if (!me) throw errors.meNotFound(caller.objectId);
      return userResource(me);
    });
    graph.get('/v1.0/users', async (req: Req) => page(req, (await directory.list()).filter(ofKind('User', req.query.$filter)), userResource));
    graph.get('/v1.0/users/:id', async (req: Req) => userResource(await load(req, 'User')));
    graph.post('/v1.0/users', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const b = body(req);
      const profile = (b.passwordProfile ?? {}) as Record<string, unknown>;
      refuseUnkeptFlags(b, { accountEnabled: true, 'passwordProfile.forceChangePasswordNextSignIn': false, 'passwordProfile.forceChangePasswordNextSignInWithMfa': false });
      if (typeof b.userPrincipalName !== 'string' || typeof profile.password !== 'string') {
        throw errors.graphBadRequest('userPrincipalName and passwordProfile.password are required.');
      }
      if (b.displayName !== undefined && typeof b.displayName !== 'string') throw errors.graphBadRequest('displayName must be a string.');
      const displayName = typeof b.displayName === 'string' ? b.displayName : b.userPrincipalName;
      const input = { upn: b.userPrincipalName, displayName, password: profile.password };
      const user = await req.writeAudited((record) => directory.createUser(input, record?.()), 201);
      return reply.status(201).send(userResource(user));
    });
    // Graph's user update, for what coffer keeps of a user: its password (an administrator's reset).
    graph.patch('/v1.0/users/:id', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const b = body(req);
      const unknown = Object.keys(b).filter((k) => k !== 'passwordProfile');
      if (unknown.length > 0) throw errors.graphBadRequest(`coffer changes only passwordProfile of a user, not ${unknown.slice(0, 5).map((k) => echo(k)).join(', ')}.`);
      const profile = b.passwordProfile ?? {};
      if (typeof profile !== 'object' || Array.isArray(profile)) throw errors.graphBadRequest('passwordProfile must be an object.');
      const { password, forceChangePasswordNextSignIn } = profile as { password?: unknown; forceChangePasswordNextSignIn?: unknown };
      if (password !== undefined && typeof password !== 'string') throw errors.graphBadRequest('passwordProfile.password must be a string.');
      // coffer has no password change at sign-in: a reset cannot ask for one.
      if (forceChangePasswordNextSignIn === true) throw errors.graphBadRequest('passwordProfile.forceChangePasswordNextSignIn is not supported: coffer has no password change at sign-in.');
      const user = await load(req, 'User');
      // As Graph: an update that changes nothing (no password) is answered 204 all the same.
      if (password !== undefined) await req.writeAudited((record) => directory.setUserPassword(user.objectId, password, record?.()), 204);
      return reply.status(204).send();
    });
    graph.delete('/v1.0/users/:id', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const user = await load(req, 'User');
      await removePrincipal(req, user.objectId);
      return reply.status(204).send();
    });

    graph.get('/v1.0/groups', async (req: Req) => page(req, (await directory.list()).filter(ofKind('Group', req.query.$filter)), groupResource));
    graph.get('/v1.0/groups/:id', async (req: Req) => groupResource(await load(req, 'Group')));
    graph.post('/v1.0/groups', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const { displayName, mailNickname } = body(req);
      refuseUnkeptFlags(body(req), { securityEnabled: true, mailEnabled: false });
      refuseGroupMembership(body(req));
      if (typeof displayName !== 'string') throw errors.graphBadRequest('displayName is required.');
      // Graph's rule: 1 to 64 ASCII characters, none of @ ( ) \ [ ] " ; : < > , or space. Graph requires one; coffer derives one when absent.
      if (mailNickname !== undefined && (typeof mailNickname !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(mailNickname) || /[@()\\[\]";:<>,]/.test(mailNickname))) {
        throw errors.graphBadRequest("Invalid value specified for property 'mailNickname' of resource 'Group'.");
      }
      const input = { displayName, ...(mailNickname === undefined ? {} : { mailNickname }) };
      return reply.status(201).send(groupResource(await req.writeAudited((record) => directory.createGroup(input, record?.()), 201)));
    });
    graph.delete('/v1.0/groups/:id', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const group = await load(req, 'Group');
      await removePrincipal(req, group.objectId);
      return reply.status(204).send();
    });
    graph.get('/v1.0/groups/:id/members', async (req: Req) => {
      const group = await load(req, 'Group');
      // The filter is read before any member is: a clause coffer cannot serve is a 400, never the whole group.
      const keep = principalFilter(req.query.$filter);
      const members = await Promise.all((await deps.index.membersOf(group.objectId)).map((id) => directory.get(id)));
      return page(req, members.filter((m): m is PrincipalRow => m !== null && keep(m)), objectResource);
    });
    graph.post('/v1.0/groups/:id/members/$ref', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const group = await load(req, 'Group');
      const memberId = referencedId(body(req)['@odata.id']);
      const member = GUID_RE.test(memberId) ? await directory.get(memberId.toLowerCase()) : null;
      if (!member) throw resourceNotFound(memberId);
      if (member.objectId === group.objectId) throw errors.groupSelfMembership();
      if (!(await unlessGone(req.writeAudited((record) => deps.index.addMember(group.objectId, member.objectId, record), 204), [group.objectId, member.objectId], exists))) {
        throw errors.memberAlreadyExists();
      }
      return reply.status(204).send();
    });
    graph.delete('/v1.0/groups/:id/members/:memberId/$ref', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const group = await load(req, 'Group');
      const memberId = (req.params.memberId ?? '').toLowerCase();
      if (!(await req.writeAudited((record) => deps.index.removeMember(group.objectId, memberId, record), 204))) {
        throw errors.notGroupMember(String(req.params.memberId));
      }
      return reply.status(204).send();
    });

    registerApplicationRoutes(graph, { directory, kit });
    registerMembershipRoutes(graph, { directory, index: deps.index, kit });

    // Graph's batch lookup, which the portal uses to name the principals of role assignments.
    graph.post('/v1.0/directoryObjects/getByIds', async (req: Req) => {
      const ids = body(req).ids;
      if (!Array.isArray(ids) || ids.length > 1000 || !ids.every((id) => typeof id === 'string')) {
        throw errors.graphBadRequest("The property 'ids' must be an array of at most 1000 object ids.");
      }
      const ofType = typesTest(body(req).types);
      const found = await Promise.all((ids as string[]).filter((id) => GUID_RE.test(id)).map((id) => directory.get(id.toLowerCase())));
      return { value: found.filter((p): p is PrincipalRow => p !== null && ofType(p)).map(objectResource) };
    });

    // coffer: one search across users, groups and service principals (the portal's "Select members").
    graph.get('/coffer/directory/search', async (req: Req) => ({
      value: (await directory.search(String(req.query.q ?? ''), 50)).map(objectResource),
    }));
  });
}
