import type { IncomingMessage } from 'node:http';

/**
 * Why a request's Host header is unusable, or null. HTTP/1.1 requires
 * exactly one (RFC 9112 section 3.2); which vault a request is for depends
 * on it, and with two Node would quietly take the first.
 */
export function hostFault(req: IncomingMessage): string | null {
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  if (hosts > 1) return 'The request has more than one Host header.';
  if (hosts === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) return 'The request has no Host header.';
  // An absolute-form target (`GET https://host/path`) names the host itself, and HTTP says it wins over
  // Host; routing follows Host, so the two must agree.
  const url = req.url ?? '/';
  if (url[0] !== '/' && url !== '*' && !sameHost(url, String(req.headers.host ?? ''))) return 'The request target names another host than the Host header.';
  return null;
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
