import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors, OAuthError, ServiceError } from './errors.js';
import { unknownResourceType } from './resource-types.js';
import { AuthorizationDigestError } from '../authorization/authorization-digest.js';
import { AuditWriteError, isDatabaseUnavailable, isStorageFull, StoreParentGoneError } from '../storage/store-types.js';

// The only place where errors become HTTP responses. Domain and route code
// throw ServiceError / OAuthError; anything else is an internal error whose
// details go to the log (never to the client, never with request bodies).

function sendService(reply: FastifyReply, err: ServiceError) {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  const body: { code: string; message: string; innererror?: { code: string } } = { code: err.code, message: err.message };
  if (err.innerCode) body.innererror = { code: err.innerCode };
  return reply.status(err.status).type('application/json; charset=utf-8').send({ error: body });
}

function sendOAuth(reply: FastifyReply, err: OAuthError) {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return reply
    .status(err.status)
    .header('Cache-Control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({
      error: err.error,
      error_description: `${err.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: err.aadCode === null ? [] : [err.aadCode],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: err.aadCode === null ? undefined : `https://login.microsoftonline.com/error?code=${err.aadCode}`,
    });
}

/** Fastify's own errors (body parsing, limits) in the service's terms. */
function fromFastify(err: FastifyError, req: FastifyRequest): ServiceError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(String(req.headers['content-type'] ?? '').slice(0, 100));
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.bodyTooLarge(req.routeOptions.bodyLimit ?? 0);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.badParameter('The request body is invalid.');
    case 'FST_ERR_VALIDATION':
      return errors.badParameter(err.message);
    default:
      return err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? errors.badParameter(err.message) : null;
  }
}

/** The part of a pino logger the request path uses. */
export interface ErrorLog {
  error(obj: object, msg: string): void;
}

/**
 * Errors Fastify raises before routing (a URL that does not decode), for its
 * `frameworkErrors` option: Azure's error shape instead of Fastify's.
 */
export function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  return sendService(reply, err.code === 'FST_ERR_BAD_URL' ? errors.undecodableUri(status) : errors.malformedRequest(status));
}

/**
 * Requests Node's HTTP parser refuses before fastify sees them (a malformed
 * request line or header, two Content-Lengths, headers over the limit): the
 * same error shape as everything else, then the connection is closed, since
 * the parser cannot tell where the next request would start.
 */
export function clientError(err: Error & { code?: string }, socket: Socket): void {
  // https.Server sends TLS failures (a handshake that never came, a bad ClientHello) here too: nothing HTTP can be said.
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || /^ERR_(TLS|SSL)_/.test(err.code ?? '') || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message =
    status === 431 ? 'The request headers are too large.' : status === 408 ? 'The request was not received in time.' : 'The request is malformed: it is not valid HTTP.';
  answerAndClose(socket, status, message);
}

/** An answer written straight to the socket, in the service's error shape, then the connection closed. */
function answerAndClose(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: 'BadParameter', message } });
  // Closed once the answer is written, whether or not the client ever closes its side.
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/**
 * CONNECT (a proxy's method) never reaches fastify: Node hands it to the
 * server's 'connect' listeners and, with none, drops the connection without
 * a word. coffer is no proxy: it answers 405 in its error shape instead.
 */
export function refuseConnect(server: Server): void {
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    answerAndClose(socket, 405, "The method 'CONNECT' is not supported: coffer is not a proxy.");
  });
}

/**
 * The identity endpoints (token, device code, sign-in) answer every error as
 * Entra ID does, `{error, error_description, error_codes, …}`: MSAL and azure-identity
 * read only that shape, and show nothing useful from Key Vault's.
 */
const isOAuthRoute = (req: FastifyRequest) => !req.vaultName && (req.routeOptions.url ?? '').includes('/oauth2/');
/** OAuth's error codes (RFC 6749 §5.2 and §4.1.2.1) for the service's statuses. */
const oauthCode = (status: number) => (status === 503 ? 'temporarily_unavailable' : status >= 500 ? 'server_error' : 'invalid_request');

export function installErrorHandling(app: FastifyInstance, log: ErrorLog): void {
  const send = (req: FastifyRequest, reply: FastifyReply, err: ServiceError) => {
    if (!isOAuthRoute(req)) return sendService(reply, err);
    // Retry-After and the like keep their meaning in either shape.
    for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    return sendOAuth(reply, new OAuthError(err.status, oauthCode(err.status), null, err.message));
  };
  app.setErrorHandler((err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ServiceError) {
      if (err.status >= 500 && err.cause instanceof Error) log.error({ reqId: req.id, err: err.cause.message }, err.message);
      return send(req, reply, err);
    }
    if (err instanceof OAuthError) return sendOAuth(reply, err);
    // A full disk (its audit record's included): undone, refused with 503 until the operator makes room.
    if (isStorageFull(err)) {
      log.error({ reqId: req.id, err: err.message }, 'storage full or failing; change undone and refused with 503');
      return send(req, reply, errors.storageFull());
    }
    if (err instanceof AuditWriteError) {
      log.error({ reqId: req.id, err: err.message }, 'audit write failed; change undone and refused');
      return send(req, reply, errors.auditUnavailable());
    }
    // Logged with its reason by the digest's guard as it refused (`refused authorization rows: ...`).
    if (err instanceof AuthorizationDigestError) return send(req, reply, errors.authorizationDataRefused());
    // A write on a vault deleted since the request resolved it (the foreign key held): the vault is gone.
    if (err instanceof StoreParentGoneError && req.vault && req.vaultName) return sendService(reply, errors.vaultNotFound(req.hostname));
    const mapped = fromFastify(err as FastifyError, req);
    if (mapped) return send(req, reply, mapped);
    // PostgreSQL away, a lock not granted in time, no pooled connection free in time: refused, not a hang or a bare 500.
    if (isDatabaseUnavailable(err)) {
      log.error({ reqId: req.id, err: err.message }, 'database unavailable; request refused with 503');
      return send(req, reply, errors.databaseUnavailable());
    }
    log.error({ reqId: req.id, err: { name: err.name, message: err.message, stack: err.stack } }, 'unhandled error');
    return send(req, reply, errors.internal());
  });
  // Requests no route takes (ARM's GET, PUT, DELETE, POST and PATCH have their catch-all in authorization-routes.ts, after
  // the token check): a HEAD to a type of coffer's ARM namespaces that does not exist answers as Resource Manager does.
  app.setNotFoundHandler((req, reply) =>
    sendService(reply, (!req.vaultName && unknownResourceType(req.url, (req.query as Record<string, unknown>)['api-version'])) || errors.notFound(req.url.split('?')[0] ?? '')),
  );
}
