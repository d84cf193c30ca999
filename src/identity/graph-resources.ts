import { errors } from '../server/errors.js';
import { StoreParentGoneError, type ClientSecretRow, type PrincipalRow } from '../storage/store-types.js';
import { mailNicknameOf } from './graph-filter.js';

// How the Graph-shaped directory API shows coffer's principals, and the
// checks its writes share.

export const iso = (t: number) => new Date(t * 1000).toISOString();

export function spResource(p: PrincipalRow) {
  return { id: p.objectId, appId: p.appId, displayName: p.displayName, servicePrincipalNames: p.appId ? [p.appId] : [], servicePrincipalType: 'Application', accountEnabled: true, createdDateTime: iso(p.createdAt) };
}
export function userResource(p: PrincipalRow) {
  return { id: p.objectId, userPrincipalName: p.upn, displayName: p.displayName, accountEnabled: true, createdDateTime: iso(p.createdAt) };
}

export const resourceNotFound = (id: string) => errors.graphResourceNotFound(id.slice(0, 64));

/**
 * A write that lost a race to the removal of the object it hangs on (a
 * principal, a group, a member): not found, naming the first of `ids` that
 * is gone (`exists` tells).
 */
export async function unlessGone<T>(write: Promise<T>, ids: string[], exists: (id: string) => Promise<boolean>): Promise<T> {
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
export function secretYears(raw: unknown): number {
  if (raw === undefined) return 1;
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw <= 0 || raw > MAX_SECRET_YEARS) {
    throw errors.graphBadRequest(`years must be a number above 0 and at most ${MAX_SECRET_YEARS}.`);
  }
  return raw;
}

/**
 * Refuses a create body's flags that ask for what coffer cannot make: every account it creates can sign in
 * (accountEnabled), has no password change at sign-in, and every group is a security group without mail.
 * Dropped silently, they would leave an enabled account or a grantable group the caller asked to be otherwise.
 */
export function refuseUnkeptFlags(body: Record<string, unknown>, kept: Record<string, boolean>): void {
  for (const [name, value] of Object.entries(kept)) {
    const given = name.split('.').reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined), body);
    if (given === undefined || given === null || given === value) continue;
    if (typeof given !== 'boolean') throw errors.graphBadRequest(`${name} must be a boolean.`);
    throw errors.graphBadRequest(`${name}: ${String(given)} is not supported: coffer makes every such object with ${name}: ${String(value)}.`);
  }
}

/**
 * Client secrets in a create or update body: they come from addPassword (Graph's own route for them), as in
 * Graph. Dropped, an application would lack the credential its creator believes it has.
 */
export function refusePasswordCredentials(body: Record<string, unknown>): void {
  const list = body.passwordCredentials;
  if (list === undefined || list === null || (Array.isArray(list) && list.length === 0)) return;
  throw errors.graphBadRequest('New password credentials must be generated using service actions.');
}

/** A passwordCredential's startDateTime: a credential valid from a later time is refused (coffer's are valid at once). */
export function checkStartNow(raw: unknown): void {
  if (raw === undefined || raw === null) return;
  const start = typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (!Number.isFinite(start)) throw errors.graphBadRequest('passwordCredential.startDateTime must be an ISO 8601 date and time.');
  // Some minutes of clock difference allowed: az sends its own "now".
  if (start > Date.now() + START_SKEW_MS) throw errors.graphBadRequest('passwordCredential.startDateTime in the future is not supported: coffer\'s client secrets are valid from their creation.');
}
const START_SKEW_MS = 5 * 60 * 1000;

/** A passwordCredential's endDateTime as years from now: 1 when absent; in the future and within the bound. */
export function yearsUntil(raw: unknown): number {
  if (raw === undefined || raw === null) return 1;
  const end = typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (!Number.isFinite(end)) throw errors.graphBadRequest('passwordCredential.endDateTime must be an ISO 8601 date and time.');
  const years = (end / 1000 - Date.now() / 1000) / YEAR_SECONDS;
  if (years <= 0 || years > MAX_SECRET_YEARS) throw errors.graphBadRequest(`passwordCredential.endDateTime must be in the future and at most ${MAX_SECRET_YEARS} years away.`);
  return years;
}

export function groupResource(p: PrincipalRow) {
  return { id: p.objectId, displayName: p.displayName, mailNickname: mailNicknameOf(p), securityEnabled: true, mailEnabled: false, createdDateTime: iso(p.createdAt) };
}

export function objectResource(p: PrincipalRow) {
  const type = { User: '#microsoft.graph.user', Group: '#microsoft.graph.group', ServicePrincipal: '#microsoft.graph.servicePrincipal' }[p.kind];
  const body = p.kind === 'User' ? userResource(p) : p.kind === 'Group' ? groupResource(p) : spResource(p);
  return { '@odata.type': type, ...body };
}

/** A client secret's metadata as Graph lists it in `passwordCredentials` (never its text or hash). */
export const credentialView = (c: Omit<ClientSecretRow, 'secretHash'>) => ({ keyId: c.keyId, hint: c.hint, displayName: c.displayName, startDateTime: iso(c.startAt), endDateTime: iso(c.endAt) });
