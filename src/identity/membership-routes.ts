import type { FastifyInstance } from 'fastify';
import type { AccessIndex } from '../authorization/access-index.js';
import { errors } from '../server/errors.js';
import type { PrincipalRow } from '../storage/store-types.js';
import type { DirectoryService } from './directory-service.js';
import { resourceNotFound } from './graph-resources.js';
import type { GraphRequest, GraphRouteKit } from './graph-route-kit.js';
import { GUID_RE } from './identity-types.js';

// Graph's membership questions, asked by az (`ad group member check`, `ad
// user get-member-groups`): checkMemberGroups and getMemberGroups, on any
// directory object and on users, service principals and groups. Transitive,
// as Graph's are: the group closure that authorization uses (AccessIndex).
// Readable as the rest of the directory (directory-access.ts: users, the administrator, not app-only callers).

/** Graph's limit on the groups one checkMemberGroups asks about. */
const MAX_GROUP_IDS = 20;

const KINDS: Record<string, PrincipalRow['kind'] | null> = { directoryObjects: null, users: 'User', servicePrincipals: 'ServicePrincipal', groups: 'Group' };

export function registerMembershipRoutes(graph: FastifyInstance, deps: { directory: DirectoryService; index: AccessIndex; kit: GraphRouteKit }): void {
  const { directory, index, kit } = deps;
  /** The groups `p` is in, directly or through other groups. */
  const groupsOf = (p: PrincipalRow): string[] => index.identities(p.objectId).filter((id) => id !== p.objectId);
  for (const [collection, kind] of Object.entries(KINDS)) {
    const target = async (req: GraphRequest): Promise<PrincipalRow> => {
      if (kind) return kit.load(req, kind);
      const id = req.params.id ?? '';
      const p = GUID_RE.test(id) ? await directory.get(id.toLowerCase()) : null;
      if (!p) throw resourceNotFound(id);
      return p;
    };
    graph.post(`/v1.0/${collection}/:id/checkMemberGroups`, async (req: GraphRequest) => {
      const asked = kit.body(req).groupIds;
      if (!Array.isArray(asked) || asked.length === 0 || asked.length > MAX_GROUP_IDS || !asked.every((g) => typeof g === 'string')) {
        throw errors.graphBadRequest(`The property 'groupIds' must be an array of 1 to ${MAX_GROUP_IDS} group ids.`);
      }
      const mine = new Set(groupsOf(await target(req)));
      return { value: (asked as string[]).filter((g) => mine.has(g.toLowerCase())) };
    });
    graph.post(`/v1.0/${collection}/:id/getMemberGroups`, async (req: GraphRequest) => {
      if (typeof kit.body(req).securityEnabledOnly !== 'boolean') throw errors.graphBadRequest("The property 'securityEnabledOnly' must be true or false.");
      // Every coffer group is a security group: the answer is the same either way.
      return { value: groupsOf(await target(req)) };
    });
  }
}
