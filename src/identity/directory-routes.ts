import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BearerAuth } from '../server/bearer-auth.js';
import { errors } from '../server/errors.js';
import { requireCaller } from '../server/request-context.js';
import { StoreParentGoneError, type PrincipalRow } from '../storage/store-types.js';
import type { DirectoryService } from './directory-service.js';
import type { AccessIndex } from '../authorization/access-index.js';
import { GUID_RE } from './identity-types.js';
import { repeatedParameter } from '../server/query-params.js';

// A Microsoft Graph shaped directory API (v1.0 subset) on the bare host:
// service principals with password credentials, and users. coffer folds an
// application and its service principal into one object, as `az ad sp
// create-for-rbac` presents them. Reads are open to the tenant's principals,
// as in Entra ID; writes need the deployment administrator.

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: unknown }>;

const iso = (t: number) => new Date(t * 1000).toISOString();

function spResource(p: PrincipalRow) {
  return { id: p.objectId, appId: p.appId, displayName: p.displayName, servicePrincipalNames: p.appId ? [p.appId] : [], servicePrincipalType: 'Application', accountEnabled: true, createdDateTime: iso(p.createdAt) };
}
function userResource(p: PrincipalRow) {
  return { id: p.objectId, userPrincipalName: p.upn, displayName: p.displayName, accountEnabled: true, createdDateTime: iso(p.createdAt) };
}

const resourceNotFound = (id: string) => errors.graphResourceNotFound(id.slice(0, 64));

/**
 * A write that lost a race to the removal of the object it hangs on (a
 * principal, a group, a member): not found, naming the first of `ids` that
 * is gone (`exists` tells).
 */
async function unlessGone<T>(write: Promise<T>, ids: string[], exists: (id: string) => Promise<boolean>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (!(err instanceof StoreParentGoneError)) throw err;
    for (const id of ids) if (!(await exists(id))) throw resourceNotFound(id);
    throw resourceNotFound(ids[0] ?? '');
  }
}

/** A client secret lives at most this long (coffer's bound; past it, dates stop being representable long before). */
const MAX_SECRET_YEARS = 100;
const YEAR_SECONDS = 365 * 24 * 3600;

/** coffer's `years` for a new service principal's secret: 1 when absent. */
function secretYears(raw: unknown): number {
  if (raw === undefined) return 1;
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw <= 0 || raw > MAX_SECRET_YEARS) {
    throw errors.graphBadRequest(`years must be a number above 0 and at most ${MAX_SECRET_YEARS}.`);
  }
  return raw;
}

/** A passwordCredential's endDateTime as years from now: 1 when absent; in the future and within the bound. */
function yearsUntil(raw: unknown): number {
  if (raw === undefined || raw === null) return 1;
  const end = typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (!Number.isFinite(end)) throw errors.graphBadRequest('passwordCredential.endDateTime must be an ISO 8601 date and time.');
  const years = (end / 1000 - Date.now() / 1000) / YEAR_SECONDS;
  if (years <= 0 || years > MAX_SECRET_YEARS) throw errors.graphBadRequest(`passwordCredential.endDateTime must be in the future and at most ${MAX_SECRET_YEARS} years away.`);
  return years;
}

/** A group's mail nickname: its display name's letters and digits (coffer keeps no other; az filters groups by it). */
const mailNicknameOf = (p: PrincipalRow): string | null => (p.kind === 'Group' ? p.displayName.replace(/[^A-Za-z0-9]/g, '') : null);

type PrincipalTest = (p: PrincipalRow) => boolean;
/** The principals of one kind that a list request's `$filter` selects. */
const ofKind = (kind: PrincipalRow['kind'], filter: string | undefined): PrincipalTest => {
  const test = principalFilter(filter);
  return (p) => p.kind === kind && test(p);
};
const unquote = (v: string) => v.replace(/''/g, "'").toLowerCase();

/** One clause: `displayName eq 'x'`, `appId eq '...'`, `servicePrincipalNames/any(c:c eq '...')`, `startswith(displayName,'x')`. */
function clauseTest(clause: string, filter: string): PrincipalTest {
  const eq = /^\s*(displayName|appId|id|userPrincipalName|mailNickname)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(clause);
  if (eq) {
    const name = eq[1]!.toLowerCase();
    const value = unquote(eq[2]!);
    return (p) => (({ displayname: p.displayName, appid: p.appId, id: p.objectId, userprincipalname: p.upn, mailnickname: mailNicknameOf(p) })[name] ?? '').toLowerCase() === value;
  }
  // az asks for a service principal by its names: servicePrincipalNames/any(c:c eq 'appId').
  const spn = /^\s*servicePrincipalNames\/any\(\s*(\w+)\s*:\s*\1\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$/i.exec(clause);
  if (spn) {
    const value = unquote(spn[2]!);
    return (p) => (p.appId ?? '').toLowerCase() === value;
  }
  const sw = /^\s*startswith\(\s*(displayName|userPrincipalName)\s*,\s*'((?:[^']|'')*)'\s*\)\s*$/i.exec(clause);
  if (sw) {
    const upn = sw[1]!.toLowerCase() !== 'displayname';
    const prefix = unquote(sw[2]!);
    return (p) => ((upn ? p.upn : p.displayName) ?? '').toLowerCase().startsWith(prefix);
  }
  throw errors.graphUnsupportedFilter(filter);
}

/** The clauses joined by `and` at the top level (not inside a quoted value or parentheses), as az joins its list filters. */
function andClauses(filter: string): string[] {
  const clauses: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i];
    if (c === "'") quoted = !quoted; // a doubled quote toggles twice: still inside
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && /\s/.test(c!)) {
      const and = /^\s+and\s+/i.exec(filter.slice(i));
      if (and) {
        clauses.push(filter.slice(start, i));
        i += and[0].length - 1;
        start = i + 1;
      }
    }
  }
  clauses.push(filter.slice(start));
  return clauses;
}

/** A Graph `$filter` as a test, checked whole before any principal is (an unsupported clause is a 400 even with none). */
function principalFilter(filter: string | undefined): PrincipalTest {
  if (!filter) return () => true;
  const tests = andClauses(filter).map((c) => clauseTest(c, filter));
  return (p) => tests.every((t) => t(p));
}

function groupResource(p: PrincipalRow) {
  return { id: p.objectId, displayName: p.displayName, mailNickname: mailNicknameOf(p), securityEnabled: true, mailEnabled: false, createdDateTime: iso(p.createdAt) };
}

function objectResource(p: PrincipalRow) {
  const type = { User: '#microsoft.graph.user', Group: '#microsoft.graph.group', ServicePrincipal: '#microsoft.graph.servicePrincipal' }[p.kind];
  const body = p.kind === 'User' ? userResource(p) : p.kind === 'Group' ? groupResource(p) : spResource(p);
  return { '@odata.type': type, ...body };
}

export function registerDirectoryRoutes(app: FastifyInstance, deps: { directory: DirectoryService; auth: BearerAuth; adminObjectId: string; index: AccessIndex }): void {
  const { directory } = deps;
  app.register(async (graph) => {
    graph.addHook('onRequest', async (req) => {
      req.caller = await deps.auth.management(req.headers.authorization);
      const repeated = repeatedParameter(req.query);
      if (repeated !== undefined) throw errors.badParameter(`The query parameter '${repeated}' is given more than once.`);
    });
    const requireAdmin = (req: Req) => {
      const caller = requireCaller(req);
      if (caller.objectId !== deps.adminObjectId) {
        throw errors.graphInsufficientPrivileges();
      }
    };
    // Graph names a user by object id or user principal name (az's `ad user show --id alice@...`); anything else by object id.
    const load = async (req: Req, kind: PrincipalRow['kind']) => {
      const id = req.params.id ?? '';
      const p = GUID_RE.test(id) ? await directory.get(id.toLowerCase()) : kind === 'User' && id.includes('@') ? await directory.getByUpn(id) : null;
      if (!p || p.kind !== kind) throw resourceNotFound(id);
      return p;
    };
    const exists = async (id: string) => (await directory.get(id)) !== null;
    const body = (req: Req) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});
    // Out of the directory first, then its assignments: one being created for it meanwhile checks again in the index's turn.
    // Its record travels with the principal's removal; gone meanwhile (another delete), it is not found.
    const removePrincipal = async (req: Req, objectId: string) => {
      if (!(await req.writeAudited((record) => directory.delete(objectId, record?.()), 204))) {
        throw resourceNotFound(objectId);
      }
      await deps.index.forgetPrincipal(objectId);
    };

    graph.get('/v1.0/servicePrincipals', async (req: Req) => ({
      value: (await directory.list()).filter(ofKind('ServicePrincipal', req.query.$filter)).map(spResource),
    }));
    graph.get('/v1.0/servicePrincipals/:id', async (req: Req) => {
      const p = await load(req, 'ServicePrincipal');
      const credentials = await directory.listClientSecrets(p.objectId);
      return {
        ...spResource(p),
        passwordCredentials: credentials.map((c) => ({ keyId: c.keyId, hint: c.hint, displayName: c.displayName, startDateTime: iso(c.startAt), endDateTime: iso(c.endAt) })),
      };
    });
    graph.post('/v1.0/servicePrincipals', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const name = body(req).displayName;
      if (typeof name !== 'string' || name.trim() === '' || name.length > 256) throw errors.badParameter('displayName is required (1 to 256 characters).');
      const years = secretYears(body(req).years);
      const { principal, credential } = await req.writeAudited((record) => directory.createServicePrincipal({ displayName: name, years }, record?.()), 201);
      return reply.status(201).send({
        ...spResource(principal),
        passwordCredentials: [{ keyId: credential.keyId, secretText: credential.secret, hint: credential.secret.slice(0, 3), endDateTime: iso(credential.endAt) }],
      });
    });
    graph.delete('/v1.0/servicePrincipals/:id', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const p = await load(req, 'ServicePrincipal');
      if (p.objectId === deps.adminObjectId) throw errors.administratorUndeletable();
      await removePrincipal(req, p.objectId);
      return reply.status(204).send();
    });
    graph.post('/v1.0/servicePrincipals/:id/addPassword', async (req: Req) => {
      requireAdmin(req);
      const p = await load(req, 'ServicePrincipal');
      const raw = body(req).passwordCredential ?? {};
      const cred = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
      const years = yearsUntil(cred.endDateTime);
      const displayName = typeof cred.displayName === 'string' ? cred.displayName.slice(0, 256) : undefined;
      const created = await unlessGone(req.writeAudited((record) => directory.addClientSecret(p.objectId, { years, displayName }, record?.())), [p.objectId], exists);
      return { keyId: created.keyId, secretText: created.secret, hint: created.secret.slice(0, 3), endDateTime: iso(created.endAt), displayName: displayName ?? null };
    });
    graph.post('/v1.0/servicePrincipals/:id/removePassword', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const p = await load(req, 'ServicePrincipal');
      const keyId = body(req).keyId;
      if (typeof keyId !== 'string' || !(await req.writeAudited((record) => directory.removeClientSecret(p.objectId, keyId, record?.()), 204))) {
        throw errors.passwordCredentialNotFound(keyId);
      }
      return reply.status(204).send();
    });

    graph.get('/v1.0/me', async (req: Req) => {
      const caller = requireCaller(req);
      if (caller.kind !== 'user') throw errors.meRequiresDelegatedFlow();
      const me = await directory.get(caller.objectId);
      if (!me) throw errors.meNotFound(caller.objectId);
      return userResource(me);
    });
    graph.get('/v1.0/users', async (req: Req) => ({
      value: (await directory.list()).filter(ofKind('User', req.query.$filter)).map(userResource),
    }));
    graph.get('/v1.0/users/:id', async (req: Req) => userResource(await load(req, 'User')));
    graph.post('/v1.0/users', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const b = body(req);
      const profile = (b.passwordProfile ?? {}) as Record<string, unknown>;
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
      if (unknown.length > 0) throw errors.graphBadRequest(`coffer changes only passwordProfile of a user, not ${unknown.slice(0, 5).join(', ')}.`);
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

    graph.get('/v1.0/groups', async (req: Req) => ({
      value: (await directory.list()).filter(ofKind('Group', req.query.$filter)).map(groupResource),
    }));
    graph.get('/v1.0/groups/:id', async (req: Req) => groupResource(await load(req, 'Group')));
    graph.post('/v1.0/groups', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const name = body(req).displayName;
      if (typeof name !== 'string') throw errors.graphBadRequest('displayName is required.');
      return reply.status(201).send(groupResource(await req.writeAudited((record) => directory.createGroup({ displayName: name }, record?.()), 201)));
    });
    graph.delete('/v1.0/groups/:id', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const group = await load(req, 'Group');
      await removePrincipal(req, group.objectId);
      return reply.status(204).send();
    });
    graph.get('/v1.0/groups/:id/members', async (req: Req) => {
      const group = await load(req, 'Group');
      const members = await Promise.all((await deps.index.membersOf(group.objectId)).map((id) => directory.get(id)));
      return { value: members.filter((m): m is PrincipalRow => m !== null).map(objectResource) };
    });
    graph.post('/v1.0/groups/:id/members/$ref', async (req: Req, reply: FastifyReply) => {
      requireAdmin(req);
      const group = await load(req, 'Group');
      const ref = body(req)['@odata.id'];
      const memberId = typeof ref === 'string' ? ref.split('/').pop() ?? '' : '';
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

    // Graph's batch lookup, which the portal uses to name the principals of role assignments.
    graph.post('/v1.0/directoryObjects/getByIds', async (req: Req) => {
      const ids = body(req).ids;
      if (!Array.isArray(ids) || ids.length > 1000 || !ids.every((id) => typeof id === 'string')) {
        throw errors.graphBadRequest("The property 'ids' must be an array of at most 1000 object ids.");
      }
      const found = await Promise.all((ids as string[]).filter((id) => GUID_RE.test(id)).map((id) => directory.get(id.toLowerCase())));
      return { value: found.filter((p): p is PrincipalRow => p !== null).map(objectResource) };
    });

    // coffer: one search across users, groups and service principals (the portal's "Select members").
    graph.get('/coffer/directory/search', async (req: Req) => ({
      value: (await directory.search(String(req.query.q ?? ''), 50)).map(objectResource),
    }));
  });
}
