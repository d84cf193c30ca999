import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors } from '../server/errors.js';
import type { PrincipalRow } from '../storage/store-types.js';
import type { DirectoryService } from './directory-service.js';
import { ofKind } from './graph-filter.js';
import { credentialView, iso, refusePasswordCredentials, resourceNotFound } from './graph-resources.js';
import { keyCredentialView } from './key-credentials.js';
import { registerFederatedCredentialRoutes } from './federated-credential-routes.js';
import { addPassword, patchCredentials, removePassword, type GraphRequest as Req, type GraphRouteKit } from './graph-route-kit.js';

// Graph's /applications, as a view of coffer's service principals: coffer
// folds an application and its service principal into one object, whose
// client secrets are the application's password credentials. This is what
// `az ad sp create-for-rbac` (and `az ad app ...`) ask for: register an
// application, give it a password, then create its service principal
// (which exists already, and is answered as created).

/** An application's object id: derived from its appId (coffer keeps one object), distinct from the service principal's. */
export function applicationObjectId(appId: string): string {
  const h = createHash('sha256').update(`coffer-application|${appId.toLowerCase()}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** An application's `id` as its list shows it (and as `$filter=id eq '…'` names it); null appIds are never listed here. */
const applicationIdOf = (p: PrincipalRow): string => (p.appId === null ? '' : applicationObjectId(p.appId));

type Credentials = { passwordCredentials: ReturnType<typeof credentialView>[]; keyCredentials: ReturnType<typeof keyCredentialView>[] };

function applicationResource(p: PrincipalRow, { passwordCredentials, keyCredentials }: Credentials) {
  return {
    id: applicationObjectId(p.appId!),
    appId: p.appId,
    displayName: p.displayName,
    createdDateTime: iso(p.createdAt),
    signInAudience: 'AzureADMyOrg',
    identifierUris: [],
    keyCredentials,
    passwordCredentials,
  };
}

export function registerApplicationRoutes(graph: FastifyInstance, deps: { directory: DirectoryService; kit: GraphRouteKit }): void {
  const { directory, kit } = deps;
  const withCredentials = async (p: PrincipalRow) =>
    applicationResource(p, {
      passwordCredentials: (await directory.listClientSecrets(p.objectId)).map(credentialView),
      keyCredentials: (await directory.listKeyCredentials(p.objectId)).map(keyCredentialView),
    });
  const loadApplication = async (req: Req): Promise<PrincipalRow> => {
    const id = (req.params.id ?? '').toLowerCase();
    const p = (await directory.list()).find((x) => x.kind === 'ServicePrincipal' && x.appId !== null && applicationObjectId(x.appId) === id);
    if (!p) throw resourceNotFound(req.params.id ?? '');
    return p;
  };

  graph.get('/v1.0/applications', async (req: Req) => kit.page(req, (await directory.list()).filter(ofKind('ServicePrincipal', req.query.$filter, applicationIdOf)), withCredentials));
  graph.get('/v1.0/applications/:id', async (req: Req) => withCredentials(await loadApplication(req)));
  graph.post('/v1.0/applications', async (req: Req, reply: FastifyReply) => {
    kit.requireAdmin(req);
    const name = kit.body(req).displayName;
    if (typeof name !== 'string' || name.trim() === '' || name.length > 256) throw errors.graphBadRequest('displayName is required (1 to 256 characters).');
    refusePasswordCredentials(kit.body(req));
    // Certificate credentials come with the application (az ad sp create-for-rbac --cert / --create-cert), in its transaction.
    const p = await req.writeAudited((record) => directory.createApplication(name, record?.(), kit.body(req).keyCredentials), 201);
    return reply.status(201).send(await withCredentials(p));
  });
  // az patches an application it finds by name with what it was given (its display name, the same), and its
  // certificate credentials with their full list (credential reset --cert, credential delete --cert): coffer keeps nothing else of one.
  graph.patch('/v1.0/applications/:id', async (req: Req, reply: FastifyReply) => {
    kit.requireAdmin(req);
    const p = await loadApplication(req);
    await patchCredentials(req, kit, directory, p);
    return reply.status(204).send();
  });
  graph.delete('/v1.0/applications/:id', async (req: Req, reply: FastifyReply) => {
    kit.requireAdmin(req);
    await kit.removePrincipal(req, (await loadApplication(req)).objectId);
    return reply.status(204).send();
  });
  graph.post('/v1.0/applications/:id/addPassword', async (req: Req) => {
    kit.requireAdmin(req);
    return addPassword(req, kit, directory, (await loadApplication(req)).objectId);
  });
  registerFederatedCredentialRoutes(graph, { federated: directory.federated, kit, loadApplication });
  graph.post('/v1.0/applications/:id/removePassword', async (req: Req, reply: FastifyReply) => {
    kit.requireAdmin(req);
    await removePassword(req, kit, directory, (await loadApplication(req)).objectId);
    return reply.status(204).send();
  });
}
