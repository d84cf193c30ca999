import type { FastifyInstance, FastifyReply } from 'fastify';
import { bodyObject, type ArmRequest } from '../server/arm-common.js';
import { errors } from '../server/errors.js';
import { requireCaller } from '../server/request-context.js';
import { pathSegments } from '../server/query-params.js';
import { unknownResourceType } from '../server/resource-types.js';
import { sendValueList } from '../server/value-list.js';
import { roleAssignmentResource, roleDefinitionResource } from './authorization-wire.js';
import type { RoleAssignmentService } from './role-assignment-service.js';
import type { RoleDefinitionService } from './role-definition-service.js';

// Microsoft.Authorization under any scope: {scope}/providers/Microsoft.Authorization/
// roleAssignments[/{name}], roleDefinitions[/{id}], permissions and classicAdministrators (always empty). The scope is
// everything before the provider segment, so one route serves every depth.

const PROVIDER = '/providers/microsoft.authorization/';

function split(url: string): { scope: string; collection: string; name: string | null } {
  // An encoded '/' in a name (`roleAssignments/a%2Fb`) stays part of that name, which is then no GUID.
  const segments = pathSegments(url);
  if (segments === null) throw errors.notFound(url.split('?')[0] ?? '');
  const path = `/${segments.join('/')}`;
  let at = -1;
  for (let i = segments.length - 2; i >= 0 && at < 0; i--) if (`/${segments[i]}/${segments[i + 1]}/`.toLowerCase() === PROVIDER) at = i;
  if (at < 0) throw errors.notFound(path);
  const [collection = '', name = null, ...rest] = segments.slice(at + 2);
  if (rest.length > 0) throw errors.notFound(path);
  return { scope: at === 0 ? '/' : `/${segments.slice(0, at).join('/')}`, collection: collection.toLowerCase(), name };
}

export function registerAuthorizationRoutes(arm: FastifyInstance, deps: { subscriptionId: string; assignments: RoleAssignmentService; definitions: RoleDefinitionService }): void {
  const { assignments, definitions, subscriptionId } = deps;
  const asAssignment = (a: Parameters<typeof roleAssignmentResource>[0]) => roleAssignmentResource(a, subscriptionId);
  const roleShownAt = (scope: string) => (r: Parameters<typeof roleDefinitionResource>[0]) => roleDefinitionResource(r, scope === '/' ? null : subscriptionId);

  async function handle(req: ArmRequest, reply: FastifyReply) {
    // These routes catch every request no other ARM route takes, Microsoft.KeyVault's included, after the
    // ARM hook's checks (api-version, then the token): Resource Manager authenticates before it looks at the type.
    const unknownType = unknownResourceType(req.url, req.query['api-version']);
    if (unknownType) throw unknownType;
    // A POST or PATCH of a served type (or of no type coffer serves) that no route takes: not found, as before the catch.
    if (req.method === 'POST' || req.method === 'PATCH') throw errors.notFound(req.url.split('?')[0] ?? '');
    const { scope, collection, name } = split(req.url);
    const caller = requireCaller(req);
    const method = req.method;
    if (collection === 'roleassignments') {
      if (name === null && method === 'GET') return sendValueList(reply, await assignments.list(caller, scope, req.query.$filter), asAssignment);
      if (name !== null && method === 'GET') return asAssignment(await assignments.get(caller, scope, name));
      if (name !== null && method === 'PUT') {
        const input = bodyObject(bodyObject(req.body).properties) as never;
        // The record travels with a new assignment (201); an existing one (200) is recorded as the answer leaves.
        const { assignment, created } = await req.writeAudited((record) => assignments.create(caller, scope, name, input, record), 201);
        return reply.status(created ? 201 : 200).send(asAssignment(assignment));
      }
      if (name !== null && method === 'DELETE') {
        const removed = await req.writeAudited((record) => assignments.delete(caller, scope, name, record));
        return removed ? asAssignment(removed) : reply.status(204).send();
      }
    }
    if (collection === 'roledefinitions') {
      const asRole = roleShownAt(scope);
      if (name === null && method === 'GET') return { value: (await definitions.list(caller, scope, req.query.$filter)).map(asRole) };
      if (name !== null && method === 'GET') return asRole(await definitions.get(caller, scope, name));
      if (name !== null && method === 'PUT') {
        // 201 for an update too: Azure's RoleDefinitions_CreateOrUpdate has no 200, and the SDKs throw on one.
        const { role } = await req.writeAudited((record) => definitions.put(caller, scope, name, req.body, record), 201);
        return reply.status(201).send(asRole(role));
      }
      if (name !== null && method === 'DELETE') {
        const removed = await req.writeAudited((record) => definitions.delete(caller, scope, name, record));
        return removed ? asRole(removed) : reply.status(204).send();
      }
    }
    if (collection === 'permissions' && name === null && method === 'GET') return { value: assignments.permissionsAt(caller, scope) };
    // A subscription's co-administrators (az role assignment list --include-classic-administrators): coffer has none.
    if (collection === 'classicadministrators' && name === null && method === 'GET' && /^\/subscriptions\/[^/]+$/i.test(scope)) return { value: [] };
    throw errors.methodNotAllowed(method);
  }

  for (const url of ['/subscriptions/*', '/providers/Microsoft.Authorization/*']) {
    arm.route({ method: ['GET', 'PUT', 'DELETE', 'POST', 'PATCH'], url, handler: handle });
  }
}
