import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessIndex } from '../authorization/access-index.js';
import type { Authorizer } from '../authorization/authorizer.js';
import type { RoleCatalog } from '../authorization/role-catalog.js';
import type { DirectoryService } from '../identity/directory-service.js';
import { GUID_RE as GUID } from '../identity/identity-types.js';
import type { VaultService } from '../vaults/vault-service.js';
import type { BearerAuth } from './bearer-auth.js';
import { errors } from './errors.js';
import type { Urls } from './urls.js';
import { isCalendarDate, repeatedParameter } from './query-params.js';

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
}

export type ArmRequest = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: unknown }>;

/** Resource Manager's first api-version (2014-04-01-preview); any later well-formed date is served. */
const FIRST_ARM_API_VERSION = '2014-04-01';

export function installArmHook(arm: FastifyInstance, auth: BearerAuth): void {
  arm.addHook('onRequest', async (req: FastifyRequest<{ Querystring: Record<string, string | string[]> }>, reply) => {
    // As Resource Manager does on every answer, errors included: the client's correlation id when it sent one (a GUID), else the request's.
    const given = req.headers['x-ms-correlation-request-id'];
    reply.header('x-ms-correlation-request-id', typeof given === 'string' && GUID.test(given) ? given.toLowerCase() : req.id);
    const version = req.query['api-version'];
    if (!version) throw errors.armMissingApiVersion();
    const repeated = repeatedParameter(req.query);
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

export const bodyObject = (body: unknown): Record<string, unknown> =>
  typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
