import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { vaultResourceId } from '../vaults/vault-types.js';
import type { AuditLog } from './audit-log.js';
import type { ErrorLog } from '../server/error-handler.js';
import type { AuditEntry } from './audit-types.js';

// Records every data-plane and management request, allowed or refused, before
// its response leaves (fail-closed): if the record cannot be written, the
// client gets 503 instead of the answer. Routes opt out with config.audit=false
// (token endpoint, discovery, health).

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Audit operationName (AuditEvent) for this route. */
    operation?: string;
    audit?: boolean;
  }
}

const UNAVAILABLE = JSON.stringify({
  error: { code: 'ServiceUnavailable', message: 'The request was refused because its audit record could not be written. Try again later.' },
});

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

// fastify's routeOptions, hostname and port are getters that build their value on every read: each is read once here.
function entryFor(req: FastifyRequest, reply: FastifyReply, payload: unknown, started: number, config: RouteConfig): AuditEntry {
  const status = reply.statusCode;
  const vault = req.vault;
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  const secret = req.vaultName && params.name ? params.name : null;
  const query = (req.query ?? {}) as Record<string, string | undefined>;
  const decision = req.decision;
  const port = req.port;
  const origin = `https://${req.hostname}${port ? `:${port}` : ''}`;
  return {
    vault: vault?.name ?? req.vaultName,
    secret,
    principal: req.caller?.objectId ?? null,
    event: {
      time: new Date().toISOString(),
      resourceId: vault ? resourceIdOf(vault) : req.url.split('?')[0]!.toUpperCase(),
      operationName: config?.operation ?? `${req.method} ${config?.url ?? 'unknown'}`,
      operationVersion: query['api-version'] ?? null,
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
        requestUri: `${origin}${req.url}`,
        id: secret && req.vaultName ? `${origin}/secrets/${secret}${params.version ? `/${params.version}` : ''}` : null,
        httpStatusCode: status,
        isRbacAuthorized: decision?.model === 'rbac',
        isAccessPolicyMatch: decision?.model === 'accessPolicy',
        appliedAssignmentId: decision?.rbac?.assignment.id ?? null,
      },
    },
  };
}

export function installAuditHook(app: FastifyInstance, audit: AuditLog, log: ErrorLog): void {
  app.decorateRequest('auditStarted', 0);
  app.decorateRequest('decision', null);
  app.addHook('onRequest', async (req) => {
    req.auditStarted = performance.now();
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const config = req.routeOptions.config as RouteConfig;
    if (config?.audit === false) return payload;
    try {
      await audit.write(entryFor(req, reply, payload, req.auditStarted, config));
      return payload;
    } catch (err) {
      log.error({ reqId: req.id, err: (err as Error).message }, 'audit write failed; request refused');
      reply.code(503).header('content-type', 'application/json; charset=utf-8').header('Retry-After', '5');
      return UNAVAILABLE;
    }
  });
}
