import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authorizer } from '../authorization/authorizer.js';
import { subscriptionScope, vaultScope } from '../authorization/scopes.js';
import { errors } from '../server/errors.js';
import { requireCaller } from '../server/request-context.js';
import type { VaultService } from '../vaults/vault-service.js';
import type { AuditLog } from './audit-log.js';
import { mayReadDirectory } from '../identity/directory-access.js';

// Querying and verifying the audit trail (coffer's API; Azure sends these
// records to Log Analytics instead). Reading needs Microsoft.Insights/logs/read
// on the vault, or on the subscription for unfiltered queries. A caller who
// may not read the directory (an app-only token, directory-access.ts) is
// shown no record of a directory request (their resource ids name users by
// UPN and principals by id, as Entra ID keeps its audit logs from such
// callers), nor another caller's UPN or appId.

const READ = 'Microsoft.Insights/logs/read';

/** The resource ids (as recorded, upper-case) of the directory's requests: Graph's and the portal's people search. */
const DIRECTORY_RESOURCE = /^\/(V1\.0|COFFER\/DIRECTORY)(\/|$)/;
const MAX_PAGE = 1000;

const EARLIEST = Date.parse('0000-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');
/**
 * A query time as the stored ones are written, so that they compare as
 * strings: within years 0000–9999 (a later year would be written `+010000-…`,
 * which sorts before every stored time).
 */
const storedForm = (raw: string) => new Date(Math.min(LATEST, Math.max(EARLIEST, Date.parse(raw)))).toISOString();

/** The later of two ISO times (same format, so they compare as strings). */
const latest = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined || a > b ? a : b);

type Req = FastifyRequest<{ Querystring: Record<string, string | undefined> }>;

type Claim = { oid: string | null; upn: string | null; appid: string | null };
type Shown = { resourceId?: string; identity?: { claim?: Claim } };

/**
 * A record as shown to a caller who may not read the directory (an app-only token, directory-access.ts): another
 * caller's UPN and appId are what only the directory tells (its object id stays, as a role assignment list shows
 * it). The stored record, and what verify checks, are unchanged.
 */
function withoutOthersNames(record: Shown, callerId: string): Shown {
  const claim = record.identity?.claim;
  if (claim === undefined || claim.oid === callerId) return record;
  return { ...record, identity: { ...record.identity, claim: { ...claim, upn: null, appid: null } } };
}

export function registerAuditRoutes(app: FastifyInstance, deps: { audit: AuditLog; authorizer: Authorizer; vaults: VaultService; subscriptionId: string; authority: string; adminObjectId: string }): void {
  app.get('/coffer/audit', async (req: Req) => {
    const q = req.query;
    const caller = requireCaller(req);
    // Records name their vault, and a purged vault's name can be taken again: `vault=` gives the records
    // of the live vault of that name, from its creation on, to those who may read its logs. Without a live
    // vault, every record under the name, to subscription readers.
    let since: string | undefined;
    if (q.vault) {
      const vault = await deps.vaults.findLive(q.vault);
      // Its scope (resource group) decides who may read its records: only as sealed.
      if (vault) deps.vaults.assertIntact(vault);
      const scope = vault ? vaultScope(vault.subscriptionId, vault.resourceGroup, vault.name) : subscriptionScope(deps.subscriptionId);
      await deps.authorizer.authorizeManagement(caller, READ, scope);
      if (vault) since = new Date(vault.createdAt * 1000).toISOString();
    } else {
      await deps.authorizer.authorizeManagement(caller, READ, subscriptionScope(deps.subscriptionId));
    }
    const limit = q.maxresults === undefined ? 100 : /^\d{1,9}$/.test(q.maxresults) ? Number(q.maxresults) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw errors.badParameter(`maxresults must be an integer from 1 to ${MAX_PAGE}.`);
    for (const t of [q.from, q.to]) if (t !== undefined && !Number.isFinite(Date.parse(t))) throw errors.badParameter(`'${t.slice(0, 40)}' is not an ISO 8601 time.`);
    const after = q.$skiptoken ?? null;
    if (after !== null && !/^\d{1,15}(\.\d{1,15})?$/.test(after)) throw errors.badParameter('The $skiptoken value is invalid.');
    const page = await deps.audit.list(
      {
        vault: q.vault,
        secret: q.secret,
        principal: q.principal,
        operation: q.operation,
        resultType: q.resultType,
        from: latest(q.from ? storedForm(q.from) : undefined, since),
        to: q.to ? storedForm(q.to) : undefined,
      },
      limit,
      after,
    );
    const next = page.next === null ? null : new URL(`${deps.authority}/coffer/audit`);
    if (next) {
      for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== '$skiptoken') next.searchParams.set(k, v);
      next.searchParams.set('$skiptoken', page.next!);
    }
    const records = page.items.map((r) => ({ seq: r.seq, ...(JSON.parse(r.record) as Shown) }));
    if (mayReadDirectory(caller, deps.adminObjectId)) return { value: records, nextLink: next?.toString() ?? null };
    // Left out of the page after it is read: a page may come out short (even empty) with a nextLink, as OData allows.
    const shown = records.filter((r) => !DIRECTORY_RESOURCE.test(r.resourceId ?? '')).map((r) => withoutOthersNames(r, caller.objectId));
    return { value: shown, nextLink: next?.toString() ?? null };
  });

  app.get('/coffer/audit/verify', async (req: Req) => {
    await deps.authorizer.authorizeManagement(requireCaller(req), READ, subscriptionScope(deps.subscriptionId));
    return deps.audit.verify();
  });
}
