import { accessToken, endSession, type Resource } from '../auth/session';

// One way to call coffer's APIs: bearer token for the right resource, one
// renewal on 401, and Azure's error body ({ error: { code, message } })
// turned into an ApiError the pages can show.

/** Azure's codes for "this caller may not": ARM, Key Vault's RBAC, access policies and network rules, Graph. */
const DENIED_CODES = new Set(['AuthorizationFailed', 'ForbiddenByRbac', 'ForbiddenByPolicy', 'ForbiddenByFirewall', 'ForbiddenByConnection', 'Authorization_RequestDenied']);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /**
   * The caller is signed in but not allowed. Only these codes: other 403s say
   * the operation itself is refused (a disabled secret, purge protection),
   * whoever asks, and their message says why.
   */
  get denied() {
    return this.status === 403 && DENIED_CODES.has(this.code);
  }
}

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; innererror?: { code?: string } } };
    if (body.error) return new ApiError(res.status, body.error.innererror?.code ?? body.error.code ?? 'Error', body.error.message ?? res.statusText);
  } catch {
    // Not JSON: fall through.
  }
  return new ApiError(res.status, 'HttpError', `The request failed with HTTP ${res.status}.`);
}

export async function call<T>(resource: Resource, method: string, url: string, body?: unknown): Promise<T> {
  const send = async (forceRenewal: boolean) => {
    const token = await accessToken(resource, { forceRenewal });
    try {
      return await fetch(url, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch {
      // fetch says no more than that the request failed: the server down or unreachable, a blocked
      // request, or a certificate this browser does not trust are all possible, so none is asserted.
      const origin = new URL(url).origin;
      throw new ApiError(
        0,
        'NetworkError',
        `${origin} could not be reached (network error). Check that the server is running and reachable, then retry. One possible cause is a certificate this browser does not trust: if so, install coffer's CA (data/tls/ca.pem) or open ${origin} once and accept its certificate.`,
      );
    }
  };
  let res = await send(false);
  if (res.status === 401) {
    res = await send(true);
    if (res.status === 401) {
      endSession('Your session has expired. Sign in again.');
      throw await errorFrom(res);
    }
  }
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}
