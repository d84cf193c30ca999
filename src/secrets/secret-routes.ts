import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authorizer } from '../authorization/authorizer.js';
import { SECRET_OPERATIONS, type SecretOperationKey } from '../authorization/secret-operations.js';
import { errors } from '../server/errors.js';
import { decodeToken, encodeToken } from '../server/query-params.js';
import type { Throttle } from '../server/throttle.js';
import { requireCaller, requireVault } from '../server/request-context.js';
import { createTurnstile, placeFor } from '../server/turnstile.js';
import type { Urls } from '../server/urls.js';
import type { AuditRecord } from '../storage/store-types.js';
import type { SecretService } from './secret-service.js';
import { checkSecretName, parseMaxResults, parseRestore, parseSetSecret, parseUpdateSecret, VERSION_RE } from './secret-validation.js';
import { deletedSecretBundle, deletedSecretItem, secretBundle, secretItem, type WireContext } from './secret-wire.js';

// The Key Vault secrets REST operations, one handler each. Authentication and
// vault resolution happened in the data-plane hooks; each handler validates
// its input, asks the authorizer, calls the service and shapes the answer.

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: unknown }>;

const RESTORE_BODY_LIMIT = 32 * 1024 * 1024;
/** Backups built or being written out at once (each blob up to tens of MiB), and in line behind them. */
const BACKUPS_AT_ONCE = 2;
const BACKUPS_IN_LINE = 16;
const BACKUP_RETRY_AFTER_SECONDS = 5;

export function registerSecretRoutes(app: FastifyInstance, deps: { urls: Urls; secrets: SecretService; authorizer: Authorizer; throttle?: Throttle }): void {
  const backupTurns = createTurnstile(BACKUPS_AT_ONCE, BACKUPS_IN_LINE);
  const { secrets, authorizer, urls, throttle } = deps;

  const wire = (req: Req): WireContext => {
    const vault = requireVault(req);
    return { vault, vaultBase: urls.vaultUri(vault.name).replace(/\/$/, ''), apiVersion: req.query['api-version'] ?? '' };
  };

  /** Authorizes the operation, then counts it against the vault's shared allowance (throttle.ts). */
  async function allow(req: Req, op: SecretOperationKey, secretName?: string) {
    const vault = requireVault(req);
    req.decision = await authorizer.authorizeData({ caller: requireCaller(req), vault, operation: SECRET_OPERATIONS[op], secretName });
    throttle?.admitVault(vault.id, op === 'set');
  }
  /** Route options naming the audit operation. */
  const op = (key: SecretOperationKey, extra: Record<string, unknown> = {}) => ({ ...extra, config: { operation: SECRET_OPERATIONS[key].name } });

  /** The absolute nextLink the SDKs fetch verbatim, or null on the last page. */
  function nextLink(req: Req, path: string, next: string | null, max: number): string | null {
    if (next === null) return null;
    const q = new URLSearchParams({ 'api-version': req.query['api-version'] ?? '', $skiptoken: encodeToken(next), maxresults: String(max) });
    return `${wire(req).vaultBase}${path}?${q.toString().replace('%24skiptoken', '$skiptoken')}`;
  }

  const name = (req: Req) => checkSecretName(req.params.name ?? '');
  const version = (req: Req): string | null => {
    const v = req.params.version ?? '';
    if (v === '') return null;
    if (!VERSION_RE.test(v)) throw errors.secretNotFound(`${req.params.name}/${v}`);
    return v.toLowerCase();
  };

  app.put('/secrets/:name', op('set'), async (req: Req) => {
    const n = name(req);
    const input = parseSetSecret(req.body);
    await allow(req, 'set', n);
    const { meta, value } = await req.writeAudited((record) => secrets.set(requireVault(req), n, input, record?.()));
    return secretBundle(wire(req), meta, value);
  });
  app.put('/secrets', op('set'), async () => {
    throw errors.badParameter('The request URI contains an invalid name: ');
  });

  const getSecret = async (req: Req) => {
    const n = name(req);
    const v = version(req);
    await allow(req, 'get', n);
    const { meta, value } = await secrets.get(requireVault(req), n, v);
    return secretBundle(wire(req), meta, value);
  };
  app.get('/secrets/:name', op('get'), getSecret);
  app.get('/secrets/:name/:version', op('get'), getSecret);

  app.get('/secrets', op('list'), async (req: Req) => {
    const max = parseMaxResults(req.query.maxresults);
    const after = decodeToken(req.query.$skiptoken);
    await allow(req, 'list');
    const page = await secrets.list(requireVault(req), max, after);
    const ctx = wire(req);
    return { value: page.items.map((m) => secretItem(ctx, m, false)), nextLink: nextLink(req, '/secrets', page.next, max) };
  });

  app.get('/secrets/:name/versions', op('listVersions'), async (req: Req) => {
    const n = name(req);
    const max = parseMaxResults(req.query.maxresults);
    const after = decodeToken(req.query.$skiptoken);
    await allow(req, 'listVersions', n);
    const page = await secrets.listVersions(requireVault(req), n, max, after);
    const ctx = wire(req);
    return { value: page.items.map((m) => secretItem(ctx, m, true)), nextLink: nextLink(req, `/secrets/${n}/versions`, page.next, max) };
  });

  const update = async (req: Req) => {
    const n = name(req);
    const v = version(req);
    const input = parseUpdateSecret(req.body);
    await allow(req, 'update', n);
    return secretBundle(wire(req), await req.writeAudited((record) => secrets.update(requireVault(req), n, v, input, record?.())));
  };
  app.patch('/secrets/:name', op('update'), update);
  app.patch('/secrets/:name/:version', op('update'), update);

  app.delete('/secrets/:name', op('delete'), async (req: Req) => {
    const n = name(req);
    await allow(req, 'delete', n);
    const { meta, deleted } = await req.writeAudited((record) => secrets.delete(requireVault(req), n, record?.()));
    return deletedSecretBundle(wire(req), meta, deleted);
  });

  app.get('/deletedsecrets', op('listDeleted'), async (req: Req) => {
    const max = parseMaxResults(req.query.maxresults);
    const after = decodeToken(req.query.$skiptoken);
    await allow(req, 'listDeleted');
    const page = await secrets.listDeleted(requireVault(req), max, after);
    const ctx = wire(req);
    return { value: page.items.map((d) => deletedSecretItem(ctx, d.meta, d.deleted)), nextLink: nextLink(req, '/deletedsecrets', page.next, max) };
  });
  app.get('/deletedsecrets/:name', op('getDeleted'), async (req: Req) => {
    const n = name(req);
    await allow(req, 'getDeleted', n);
    const d = await secrets.getDeleted(requireVault(req), n);
    return deletedSecretBundle(wire(req), d.meta, d.deleted);
  });
  app.delete('/deletedsecrets/:name', op('purge'), async (req: Req, reply: FastifyReply) => {
    const n = name(req);
    await allow(req, 'purge', n);
    await req.writeAudited((record) => secrets.purge(requireVault(req), n, record?.()), 204);
    return reply.status(204).send();
  });
  app.post('/deletedsecrets/:name/recover', op('recover'), async (req: Req) => {
    const n = name(req);
    await allow(req, 'recover', n);
    return secretBundle(wire(req), await req.writeAudited((record) => secrets.recover(requireVault(req), n, record?.())));
  });

  app.post('/secrets/:name/backup', op('backup'), async (req: Req, reply: FastifyReply) => {
    const n = name(req);
    await allow(req, 'backup', n);
    // A blob stays on the heap until its answer is written out: few at once, the rest in a short line, then 429.
    const place = await placeFor(backupTurns, reply.raw);
    if (place === 'full') throw errors.throttled(BACKUP_RETRY_AFTER_SECONDS);
    if (place === 'gone') return reply;
    return { value: await secrets.backup(requireVault(req), n) };
  });
  // Authorized before its body (up to 32 MiB) is read: a caller without restore rights never gets it parsed.
  const restoreFirst = { bodyLimit: RESTORE_BODY_LIMIT, preParsing: async (req: Req, _reply: FastifyReply, payload: unknown) => (await allow(req, 'restore'), payload) };
  app.post('/secrets/restore', op('restore', restoreFirst), async (req: Req) => {
    const blob = parseRestore(req.body);
    // The record names the secret the blob holds (req.auditSecret), known once the blob is opened.
    const named = (record: () => AuditRecord) => (secret: string) => ((req.auditSecret = secret), record());
    const restored = await req.writeAudited((record) => secrets.restore(requireVault(req), blob, record && named(record)));
    req.auditSecret = restored.name;
    return secretBundle(wire(req), restored);
  });
}
