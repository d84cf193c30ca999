import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors } from '../server/errors.js';
import { StoreConflictError, type FederatedCredentialRow, type PrincipalRow, type PrincipalStore } from '../storage/store-types.js';
import { resourceNotFound, unlessGone } from './graph-resources.js';
import type { GraphRequest as Req, GraphRouteKit } from './graph-route-kit.js';
import { federatedCredentialView, MAX_FEDERATED_CREDENTIALS, newFederatedCredential, patchedFederatedCredential } from './federated-credentials.js';

// Graph's /applications/{id}/federatedIdentityCredentials: list, create, and
// one by id or name to read, change or delete. Reading is as for the
// application; writing is the deployment administrator's, as every write of
// an application's credentials is.

export type FederatedStore = Pick<PrincipalStore, 'listFederatedCredentials' | 'addFederatedCredential' | 'updateFederatedCredential' | 'removeFederatedCredential'>;

const clash = (stored: FederatedCredentialRow[], row: FederatedCredentialRow) => {
  if (stored.some((r) => r.id !== row.id && r.name.toLowerCase() === row.name.toLowerCase())) {
    return errors.graphConflict(`A federated identity credential named '${row.name}' already exists on this application.`);
  }
  return errors.graphConflict(`A federated identity credential with issuer '${row.issuer.slice(0, 128)}' and subject '${row.subject.slice(0, 128)}' already exists on this application.`);
};

export function registerFederatedCredentialRoutes(
  graph: FastifyInstance,
  deps: { federated: FederatedStore; kit: GraphRouteKit; loadApplication: (req: Req) => Promise<PrincipalRow> },
): void {
  const { federated, kit, loadApplication } = deps;
  const base = '/v1.0/applications/:id/federatedIdentityCredentials';
  /** The application's credential the path names, by id or by name (either in any case). */
  const loadOne = async (req: Req) => {
    const app = await loadApplication(req);
    const key = (req.params.fic ?? '').toLowerCase();
    const row = (await federated.listFederatedCredentials(app.objectId)).find((r) => r.id === key || r.name.toLowerCase() === key);
    if (!row) throw resourceNotFound(req.params.fic ?? '');
    return { app, row };
  };
  /** A write's store conflicts answered as Graph's: the pair or name taken (409), the limit reached (400). */
  const conflicts = async <T>(app: PrincipalRow, row: FederatedCredentialRow, write: Promise<T>): Promise<T> => {
    try {
      return await unlessGone(write, [app.objectId], kit.exists);
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
      if (err.reason === 'changed') throw errors.graphBadRequest(`An application can have at most ${MAX_FEDERATED_CREDENTIALS} federated identity credentials.`);
      throw clash(await federated.listFederatedCredentials(app.objectId), row);
    }
  };

  graph.get(base, async (req: Req) => {
    const app = await loadApplication(req);
    return { value: (await federated.listFederatedCredentials(app.objectId)).map(federatedCredentialView) };
  });
  graph.post(base, async (req: Req, reply: FastifyReply) => {
    kit.requireAdmin(req);
    const app = await loadApplication(req);
    const row = newFederatedCredential(app.objectId, kit.body(req));
    await conflicts(app, row, req.writeAudited((record) => federated.addFederatedCredential(row, MAX_FEDERATED_CREDENTIALS, record?.()), 201));
    return reply.status(201).send(federatedCredentialView(row));
  });
  graph.get(`${base}/:fic`, async (req: Req) => federatedCredentialView((await loadOne(req)).row));
  graph.patch(`${base}/:fic`, async (req: Req, reply: FastifyReply) => {
    kit.requireAdmin(req);
    const { app, row } = await loadOne(req);
    const changed = patchedFederatedCredential(row, kit.body(req));
    // Over the seal read: a change made meanwhile by another request is not overwritten.
    if (!(await conflicts(app, changed, req.writeAudited((record) => federated.updateFederatedCredential(changed, row.mac, record?.()), 204)))) {
      throw errors.graphConflict('The federated identity credential was changed or deleted by another request since it was read. Read it again, then retry.');
    }
    return reply.status(204).send();
  });
  graph.delete(`${base}/:fic`, async (req: Req, reply: FastifyReply) => {
    kit.requireAdmin(req);
    const { app, row } = await loadOne(req);
    if (!(await req.writeAudited((record) => federated.removeFederatedCredential(app.objectId, row.id, record?.()), 204))) throw resourceNotFound(req.params.fic ?? '');
    return reply.status(204).send();
  });
}
