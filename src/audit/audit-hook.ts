import type { FastifyInstance, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { vaultResourceId } from '../vaults/vault-types.js';
import type { AuditLog } from './audit-log.js';
import { createAnonymousAuditLimit, type AnonymousAuditLimits } from './anonymous-audit-limit.js';
import type { RefusalAuditLimit } from './refusal-audit-limit.js';
import { createThrottledAuditLimit, throttledKey, type ThrottledAuditLimits } from './throttled-audit-limit.js';
import { networkKey, sourceKey } from '../identity/sign-in-lockout.js';
import type { ErrorLog } from '../server/error-handler.js';
import type { AuditEntry } from './audit-types.js';
import { isStorageFull, type AuditRecord } from '../storage/store-types.js';
import type { InFlight } from '../server/graceful-close.js';

// Records every data-plane and management request, allowed or refused, before
// its response leaves (fail-closed): if the record cannot be written, the
// client gets 503 instead of the answer. Routes opt out with config.audit=false
// (token endpoint, discovery, health). A write stores its success record in
// its own transaction (req.writeAudited): the record then cannot be lost
// without the write (nor the write happen without its record), and the answer
// waits for one commit instead of two.
// Every request counts as in flight (graceful-close.ts) from onRequest until
// its record is written or found unneeded: a handler goes on when its
// connection is closed, and its record comes after its write, so the store
// must stay open until then.

/** Builds a request's record as an answer with `status` (the writeAudited default unless given). */
export type AuditRecordFor = (status?: number) => AuditRecord;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Audit operationName (AuditEvent) for this route. */
    operation?: string;
    audit?: boolean;
  }
  interface FastifyRequest {
    /**
     * Runs a write that stores this request's audit record (as a `status`
     * answer, 200 unless given) in its own transaction, so that the write and
     * its record commit at once. `record` builds the record when the write
     * asks for it (after the write has learnt what it needs, such as a
     * restored secret's name, or the answer's status when only the write
     * knows it); it is undefined when records cannot travel with writes.
     * Once a write that asked for its record has succeeded, an answer with
     * that status is not recorded again.
     */
    writeAudited<T>(write: (record: AuditRecordFor | undefined) => Promise<T>, status?: number): Promise<T>;
    /** The status whose record a write has already stored (0: none). */
    auditStoredFor: number;
    /** Counted in InFlight until onSend is done with its record. */
    inFlight: boolean;
  }
}

const UNAVAILABLE = JSON.stringify({
  error: { code: 'ServiceUnavailable', message: 'The request was refused because its audit record could not be written. Try again later.' },
});
// A change that may have committed cannot be refused: the answer says so and
// invites no retry (no Retry-After), which would apply it twice.
const UNAVAILABLE_AFTER_WRITE = JSON.stringify({
  error: {
    code: 'ServiceUnavailable',
    message: 'The request may have been carried out, but its audit record could not be written, so its answer is withheld. Check its result before trying again.',
  },
});
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function errorMessage(payload: unknown): string | null {
  if (typeof payload !== 'string' || !payload.startsWith('{"error"')) return null;
  try {
    const body = JSON.parse(payload) as { error?: { message?: string; error_description?: string } | string };
    return typeof body.error === 'object' ? (body.error.message ?? null) : null;
  } catch {
    return null;
  }
}

// The upper-cased resource id per vault row (vault rows are cached and replaced on change).
const resourceIds = new WeakMap<object, string>();
function resourceIdOf(vault: NonNullable<FastifyRequest['vault']>): string {
  let id = resourceIds.get(vault);
  if (id === undefined) resourceIds.set(vault, (id = vaultResourceId(vault).toUpperCase()));
  return id;
}

type RouteConfig = FastifyRequest['routeOptions']['config'] | undefined;

/** The longest request URI a record keeps (Key Vault's longest is a few hundred characters): anonymous requests are recorded too. */
const MAX_RECORDED_URI = 2048;
/**
 * Query parameters that carry credentials (a sign-in code sent to a wrong route, a token in a URL) or a
 * secret's value (`?value=`, which no route reads: the value belongs in the body) are never recorded.
 */
const CREDENTIAL_NAMES = 'code|client_secret|refresh_token|access_token|id_token|password|code_verifier|device_code|client_assertion|assertion|value';
const CREDENTIAL_PARAM = new RegExp(`([?&](?:${CREDENTIAL_NAMES})=)[^&#]*`, 'gi');
const CREDENTIAL_NAME = new RegExp(`^(?:${CREDENTIAL_NAMES})$`, 'i');
/** Each %XX escape decoded, as the query parser decodes a parameter's name (`%61ccess_token` is `access_token`). */
const unescaped = (name: string): string => name.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/** A query with escapes in it (`q` is where it starts), parameter by parameter: a name is matched as the server's parser reads it. */
function redactEscapedNames(url: string, q: number): string {
  const params = url.slice(q + 1).split('&').map((param) => {
    const eq = param.indexOf('=');
    return eq !== -1 && CREDENTIAL_NAME.test(unescaped(param.slice(0, eq))) ? `${param.slice(0, eq)}=REDACTED` : param;
  });
  return `${url.slice(0, q + 1)}${params.join('&')}`;
}

function recordedUri(url: string): string {
  const q = url.indexOf('?');
  let redacted = url;
  if (q !== -1 && url.includes('=', q)) redacted = url.includes('%', q) ? redactEscapedNames(url, q) : url.replace(CREDENTIAL_PARAM, '$1REDACTED');
  return redacted.length > MAX_RECORDED_URI ? `${redacted.slice(0, MAX_RECORDED_URI)}...` : redacted;
}

/**
 * The vault a management request acts on, named by its path: its record
 * shows under `vault=` with the vault's data-plane records (creates, access
 * policy changes, deletes included), as Key Vault's AuditEvent logs have them.
 */
const ARM_VAULT = /\/providers\/microsoft\.keyvault\/(?:vaults|locations\/[^/?]+\/deletedvaults)\/([A-Za-z0-9-]{1,64})(?:[/?]|$)/i;
const armVaultName = (url: string): string | null => ARM_VAULT.exec(url)?.[1] ?? null;

/** The operation a request is recorded (and counted) under: its route's name, else its method and route template. */
const operationOf = (req: FastifyRequest, config: RouteConfig): string => config?.operation ?? `${req.method} ${config?.url ?? 'unknown'}`;

// fastify's routeOptions, hostname and port are getters that build their value on every read: each is read once here.
function entryFor(req: FastifyRequest, status: number, payload: unknown, started: number, config: RouteConfig): AuditEntry {
  const vault = req.vault;
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  // On a vault host the path names the secret; a management route that acts on one names it in auditSecret.
  const secret = req.vaultName ? (params.name ?? req.auditSecret) : req.auditSecret;
  const query = (req.query ?? {}) as Record<string, string | undefined>;
  const decision = req.decision;
  const port = req.port;
  const origin = `https://${req.hostname}${port ? `:${port}` : ''}`;
  return {
    vault: vault?.name ?? req.vaultName ?? armVaultName(req.url),
    secret,
    principal: req.caller?.objectId ?? null,
    event: {
      time: new Date().toISOString(),
      // The SDKs join a scope that starts with '/' onto '/': one resource, one id.
      resourceId: vault ? resourceIdOf(vault) : req.url.split('?')[0]!.replace(/^\/{2,}/, '/').slice(0, MAX_RECORDED_URI).toUpperCase(),
      operationName: operationOf(req, config),
      operationVersion: typeof query['api-version'] === 'string' ? query['api-version'].slice(0, 40) : null,
      category: 'AuditEvent',
      resultType: status < 400 ? 'Success' : 'Failure',
      resultSignature: STATUS_CODES[status] ?? String(status),
      resultDescription: status < 400 ? null : errorMessage(payload),
      durationMs: Math.round(performance.now() - started),
      callerIpAddress: req.ip,
      correlationId: typeof req.headers['x-ms-client-request-id'] === 'string' ? req.headers['x-ms-client-request-id'].slice(0, 128) : req.id,
      identity: { claim: { oid: req.caller?.objectId ?? null, upn: req.caller?.upn ?? null, appid: req.caller?.appId ?? null } },
      properties: {
        clientInfo: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 256) : null,
        requestUri: `${origin}${recordedUri(req.url)}`,
        id: secret && req.vaultName ? `${origin}/secrets/${secret}${params.version ? `/${params.version}` : ''}` : null,
        httpStatusCode: status,
        isRbacAuthorized: decision?.model === 'rbac',
        isAccessPolicyMatch: decision?.model === 'accessPolicy',
        appliedAssignmentId: decision?.rbac?.assignment.id ?? null,
      },
    },
  };
}

const SUCCESS = 200;

/**
 * A record of something a request caused beyond what it asked for (role
 * assignments removed with a group it deleted): the request's caller,
 * address and URI, with its own operation, resource and description.
 */
export function consequenceEntry(req: FastifyRequest, what: { operation: string; resourceId: string; vault: string | null; description: string }): AuditEntry {
  const entry = entryFor(req, SUCCESS, null, req.auditStarted, req.routeOptions.config as RouteConfig);
  const { event } = entry;
  return {
    ...entry,
    vault: what.vault,
    secret: null,
    event: {
      ...event,
      resourceId: what.resourceId.toUpperCase(),
      operationName: what.operation,
      resultDescription: what.description,
      properties: { ...event.properties, id: null, isRbacAuthorized: false, isAccessPolicyMatch: false, appliedAssignmentId: null },
    },
  };
}

/** The same for what coffer does by itself (the periodic sweep): no caller, no request. */
export function systemEntry(what: { operation: string; resourceId: string; vault: string | null; description: string }): AuditEntry {
  return {
    vault: what.vault,
    secret: null,
    principal: null,
    event: {
      time: new Date().toISOString(),
      resourceId: what.resourceId.toUpperCase(),
      operationName: what.operation,
      operationVersion: null,
      category: 'AuditEvent',
      resultType: 'Success',
      resultSignature: STATUS_CODES[SUCCESS]!,
      resultDescription: what.description,
      durationMs: 0,
      callerIpAddress: '',
      correlationId: '',
      identity: { claim: { oid: null, upn: null, appid: null } },
      properties: { clientInfo: null, requestUri: '', id: null, httpStatusCode: SUCCESS, isRbacAuthorized: false, isAccessPolicyMatch: false, appliedAssignmentId: null },
    },
  };
}

/** Told of every answered request (metrics.ts): its operation, status and milliseconds since it arrived. */
export type OnAnswered = (operation: string, status: number, ms: number) => void;

function admitThrottled(limit: RefusalAuditLimit, req: FastifyRequest): boolean {
  const caller = req.caller!;
  const claim = { oid: caller.objectId, upn: caller.upn, appid: caller.appId };
  return limit.admit(throttledKey(req.vault?.name ?? req.vaultName, caller.tenantId, caller.objectId), 429, Date.now(), claim, req.ip);
}

/** How many refusals of each kind are recorded one by one (refusal-audit-limit.ts); none given records every one. */
export interface RefusalAuditLimits {
  anonymous?: AnonymousAuditLimits;
  throttled?: ThrottledAuditLimits;
}

/** The window --audit-anonymous-per-network and --audit-throttled-per-caller count in. */
const REFUSAL_AUDIT_WINDOW_SECONDS = 60;

/** The limits of a server's configuration: records one by one per network, and per caller and vault, a minute. */
export const refusalAuditLimits = (perNetwork: number, perCaller: number): RefusalAuditLimits => ({
  anonymous: { perNetwork, windowSeconds: REFUSAL_AUDIT_WINDOW_SECONDS },
  throttled: { perCaller, windowSeconds: REFUSAL_AUDIT_WINDOW_SECONDS },
});

/** Writes a limit's ended windows' summaries every window, and all of them at shutdown. */
function summariseEvery(app: FastifyInstance, audit: AuditLog, log: ErrorLog, limit: RefusalAuditLimit, windowSeconds: number): void {
  const writeSummaries = (all: boolean) =>
    Promise.all(limit.drain(all).map((entry) => audit.write(entry).catch((err: Error) => log.error({ err: err.message }, 'audit summary write failed'))));
  const timer = setInterval(() => void writeSummaries(false), windowSeconds * 1000).unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await writeSummaries(true);
  });
}

export function installAuditHook(app: FastifyInstance, audit: AuditLog, log: ErrorLog, inFlight: InFlight, limits: RefusalAuditLimits = {}, onAnswered?: OnAnswered): void {
  const anonymous = limits.anonymous && limits.anonymous.perNetwork > 0 ? createAnonymousAuditLimit(limits.anonymous) : null;
  if (anonymous) summariseEvery(app, audit, log, anonymous, limits.anonymous!.windowSeconds);
  const throttled = limits.throttled && limits.throttled.perCaller > 0 ? createThrottledAuditLimit(limits.throttled) : null;
  if (throttled) summariseEvery(app, audit, log, throttled, limits.throttled!.windowSeconds);
  app.decorateRequest('auditStarted', 0);
  app.decorateRequest('inFlight', false);
  app.decorateRequest('decision', null);
  app.decorateRequest('auditSecret', null);
  app.decorateRequest('auditStoredFor', 0);
  app.decorateRequest('writeAudited', async function writeAudited<T>(
    this: FastifyRequest,
    write: (record: AuditRecordFor | undefined) => Promise<T>,
    status = SUCCESS,
  ): Promise<T> {
    const config = this.routeOptions.config as RouteConfig;
    let asked = 0;
    const record: AuditRecordFor | undefined =
      config?.audit === false || !audit.recordsTravelWithWrites()
        ? undefined
        : (answer = status) => ((asked = answer), audit.recordWithWrite(entryFor(this, answer, null, this.auditStarted, config)));
    const result = await write(record);
    if (asked) {
      this.auditStoredFor = asked;
      audit.storedWithWrite();
    }
    return result;
  });
  // Every request that reaches onRequest gets to onSend (an error, a closed connection included), whose
  // first hook this is: it never throws. onSend comes once the handler is done: nothing is written after it.
  app.addHook('onRequest', async (req) => {
    req.auditStarted = performance.now();
    req.inFlight = true;
    inFlight.begin();
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const config = req.routeOptions.config as RouteConfig;
    try {
      if (config?.audit === false || req.auditStoredFor === reply.statusCode) return payload;
      // A refusal without a valid token past its network's share is counted, not recorded (anonymous-audit-limit.ts).
      if (anonymous && !req.caller && reply.statusCode >= 400 && !anonymous.admit(networkKey(sourceKey(req.ip)), reply.statusCode)) return payload;
      // So is a signed-in caller's throttled refusal past its share at the vault (throttled-audit-limit.ts).
      if (throttled && req.caller && reply.statusCode === 429 && !admitThrottled(throttled, req)) return payload;
      try {
        await audit.write(entryFor(req, reply.statusCode, payload, req.auditStarted, config));
        return payload;
      } catch (err) {
        log.error({ reqId: req.id, err: (err as Error).message }, 'audit write failed; request refused');
        // Already a refusal for want of storage (a full disk: errors.storageFull), which says more than the trail's.
        if (reply.statusCode === 503 && isStorageFull(err)) return payload;
        const committed = !SAFE_METHODS.has(req.method) && reply.statusCode < 400;
        reply.code(503).header('content-type', 'application/json; charset=utf-8');
        if (committed) return UNAVAILABLE_AFTER_WRITE;
        reply.header('Retry-After', '5');
        return UNAVAILABLE;
      }
    } finally {
      if (req.inFlight) {
        req.inFlight = false;
        inFlight.end();
        onAnswered?.(operationOf(req, config), reply.statusCode, performance.now() - req.auditStarted);
      }
    }
  });
}
