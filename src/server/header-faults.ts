import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Headers a request may carry once: with two, Node would quietly take the first (or join them) and the request means either. */
const SINGLE = ['Host', 'Authorization', 'Content-Type'] as const;
const SINGLE_LOWER = SINGLE.map((h) => h.toLowerCase());

/** A Host value: a name or an IPv4 or bracketed IPv6 address, and a port of digits if any. */
const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:[\]/?#@\\]+)(?::\d{1,5})?$/;

/**
 * Why a request's headers are unusable, or null. HTTP/1.1 requires exactly
 * one Host (RFC 9112 section 3.2), and which vault a request is for depends
 * on it; an Authorization or Content-Type given twice is as ambiguous.
 */
export function headerFault(req: IncomingMessage): string | null {
  // A bit per header of SINGLE seen (this runs on every request: no allocation).
  let seen = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Only names of a possible length are lower-cased (Host 4, Authorization 13, Content-Type 12).
    if (name.length !== 4 && name.length !== 12 && name.length !== 13) continue;
    const which = SINGLE_LOWER.indexOf(name.toLowerCase());
    if (which === -1) continue;
    if (seen & (1 << which)) return `The request has more than one ${SINGLE[which]} header.`;
    seen |= 1 << which;
  }
  const host = String(req.headers.host ?? '');
  if (!(seen & 1)) {
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) return 'The request has no Host header.';
  } else if (!HOST_RE.test(host)) {
    return "The request's Host header is not a host name, with a port of digits if any.";
  }
  // An absolute-form target (`GET https://host/path`) names the host itself, and HTTP says it wins over
  // Host; routing follows Host, so the two must agree.
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  if (url[0] !== '/' && url !== '*' && !sameHost(url, host)) return 'The request target names another host than the Host header.';
  return null;
}

/**
 * The transfer codings of a request other than its final `chunked`, or null.
 * Node's parser frames a body sent `Transfer-Encoding: gzip, chunked` by its
 * chunks and passes the still-compressed bytes on as the body; the client
 * would be told its JSON does not parse. (Any other framing Node refuses.)
 */
export function unsupportedTransferCoding(req: IncomingMessage): string | null {
  const te = req.headers['transfer-encoding'];
  if (te === undefined) return null;
  const codings = te
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '');
  const others = codings.filter((c) => c !== 'chunked');
  return others.length > 0 ? others.join(', ') : null;
}

/** Whether an absolute-form target names the Host header's host, both read as URLs (a scheme's default port is no port); a target that is not a URL is the router's to answer. */
function sameHost(target: string, host: string): boolean {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return true;
  }
  try {
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    return false;
  }
}

/** Requests with an expectation Node does not meet itself (an Expect other than 100-continue on HTTP/1.1). */
const unmet = new WeakSet<IncomingMessage>();

/**
 * Node answers an Expect it does not know with a bare 417 and no body, unless
 * the server listens for 'checkExpectation': such requests go to fastify
 * instead, marked, so that they get the service's error shape and headers.
 * `Expect: 100-continue` stays Node's (it answers 100 Continue and goes on).
 */
export function routeUnmetExpectations(server: Server): void {
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    unmet.add(req);
    // Whatever answers it (the 417, or an earlier refusal: a header fault, a URI that does not decode), the
    // connection closes after: a client that waits before sending its body would have its next request read as it.
    res.shouldKeepAlive = false;
    server.emit('request', req, res);
  });
}

/** The Expect value of a request whose expectation cannot be met, or null. */
export const unmetExpectation = (req: IncomingMessage): string | null => (unmet.has(req) ? String(req.headers.expect ?? '') : null);

/**
 * The target in origin form (`/path?query`): an absolute-form target
 * (`GET https://host/path`, as proxies send it) loses its scheme and host, so
 * that routes, scopes and nextLinks see the path alone. Fastify keeps the
 * original as `originalUrl`, which headerFault holds against the Host header.
 */
export function originForm(req: IncomingMessage): string {
  const url = req.url ?? '/';
  if (url.charCodeAt(0) === 47 /* '/' */ || url === '*') return url;
  const scheme = url.indexOf('://');
  if (scheme < 0) return url;
  let end = scheme + 3;
  while (end < url.length && url[end] !== '/' && url[end] !== '?' && url[end] !== '#') end++;
  const rest = url.slice(end);
  return rest[0] === '/' ? rest : `/${rest}`;
}
