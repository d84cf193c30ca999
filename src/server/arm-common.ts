import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RemovalRecords } from '../authorization/orphaned-assignments.js';
import type { AccessIndex } from '../authorization/access-index.js';
import type { Authorizer } from '../authorization/authorizer.js';
import type { RoleCatalog } from '../authorization/role-catalog.js';
import type { DirectoryService } from '../identity/directory-service.js';
import { GUID_RE as GUID } from '../identity/identity-types.js';
import type { VaultService } from '../vaults/vault-service.js';
import type { BearerAuth } from './bearer-auth.js';
import { errors, ServiceError } from './errors.js';
import type { Urls } from './urls.js';
import { canonicalOptions, decodeToken, encodeToken, isCalendarDate, nextLinkTo, queryOptions, repeatedParameter } from './query-params.js';

// What every ARM-shaped route module gets, and the hook they share:
// api-version required, management token verified.

export interface ArmDeps {
  tenantId: string;
  subscriptionId: string;
  location: string;
  urls: Urls;
  authorizer: Authorizer;
  vaults: VaultService;
  index: AccessIndex;
  catalog: RoleCatalog;
  directory: DirectoryService;
  /** For the records of what a request removes beyond what it names (orphaned-assignments.ts). */
  audit: RemovalRecords['log'];
}

export type ArmRequest = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: unknown }>;

/** The query options Resource Manager's routes read, in any case. */
const ARM_OPTIONS = ['api-version', '$filter', '$expand', '$top', '$skiptoken'];

/** Resource Manager's first api-version (2014-04-01-preview); any later well-formed date is served. */
const FIRST_ARM_API_VERSION = '2014-04-01';

export function installArmHook(arm: FastifyInstance, auth: BearerAuth): void {
  arm.addHook('onRequest', async (req: FastifyRequest<{ Querystring: Record<string, string | string[]> }>, reply) => {
    // As Resource Manager does on every answer, errors included: the client's correlation id when it sent one (a GUID), else the request's.
    const given = req.headers['x-ms-correlation-request-id'];
    reply.header('x-ms-correlation-request-id', typeof given === 'string' && GUID.test(given) ? given.toLowerCase() : req.id);
    const repeated = repeatedParameter(req.query) ?? canonicalOptions(req.query, ARM_OPTIONS);
    const version = req.query['api-version'];
    if (!version) throw errors.armMissingApiVersion();
    if (repeated !== undefined) throw errors.invalidArm(`The query parameter '${repeated}' is given more than once.`);
    // Dated before Resource Manager's first api-version: a typo, not a version any client was built for.
    if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/i.test(version as string) || !isCalendarDate((version as string).slice(0, 10)) || (version as string) < FIRST_ARM_API_VERSION) {
      throw errors.invalidApiVersion(version);
    }
    req.caller = await auth.management(req.headers.authorization);
  });
}

export function subscriptionChecker(subscriptionId: string) {
  return (sub: string | undefined): void => {
    if (!sub || sub.toLowerCase() !== subscriptionId) throw errors.subscriptionNotFound(sub ?? '');
  };
}

/** A JSON object of the body (none: empty); an array, string or number where an object belongs is ARM's 400, not an empty change. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw errors.invalidRequestContent(`a JSON object was expected, not ${Array.isArray(body) ? 'an array' : `a ${typeof body}`}`);
  return body as Record<string, unknown>;
}

/** Input refused by the data plane's checks, in Resource Manager's words. */
export async function asArm<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw err instanceof ServiceError && err.code === 'BadParameter' ? errors.invalidArm(err.message) : err;
  }
}

/** `$top` as Resource Manager's lists take it (any positive int32); pages hold at most `max`. */
export function parseTop(raw: string | undefined, max: number): number {
  if (raw === undefined || raw === '') return max;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1) throw errors.invalidArm(`The value of $top must be a positive integer, not '${raw.slice(0, 32)}'.`);
  return Math.min(n, max);
}

/** The $skiptoken's cursor (null for none), refused in Resource Manager's words. */
export const armCursor = (req: ArmRequest): Promise<string | null> => asArm(() => decodeToken(req.query.$skiptoken));

/**
 * The link the SDKs fetch verbatim for the page after `next`: the request's path and query options ($filter and
 * $expand too, or the next page would answer another question), its $top and the cursor.
 */
export function armNextLink(req: ArmRequest, authority: string, top: number, next: string | null): string | null {
  if (next === null) return null;
  const q = queryOptions(req.query);
  q.set('$top', String(top));
  q.set('$skiptoken', encodeToken(next));
  return nextLinkTo(authority, req.url, q);
}

/**
 * One page of a list held whole in memory and sorted by `keyOf` (vaults: a
 * subscription has few): the items after the $skiptoken's key, at most $top
 * of them, and the nextLink when more follow.
 */
export async function armPage<T>(req: ArmRequest, authority: string, items: readonly T[], keyOf: (item: T) => string, max: number): Promise<{ value: T[]; nextLink: string | null }> {
  const top = parseTop(req.query.$top, max);
  const after = await armCursor(req);
  const rest = after === null ? items : items.filter((item) => keyOf(item) > after);
  const value = rest.slice(0, top);
  return { value, nextLink: armNextLink(req, authority, top, rest.length > top ? keyOf(value[value.length - 1]!) : null) };
}
