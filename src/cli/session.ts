import { CliError, usage } from './cli-error.js';
import { createHttpClient, type HttpClient, type HttpResponse } from './http-client.js';
import { readProfile, writeProfile, type CachedToken, type Profile } from './profile.js';
import { certificateForm } from './client-certificate.js';

// A logged-in session: gets (and caches, and silently refreshes) tokens for a
// resource and calls the server's APIs with them.

export const PUBLIC_CLIENT_ID = 'c0ffee00-0000-4000-8000-0000000000c1';
const EARLY_REFRESH_SECONDS = 300;

export interface TokenAnswer {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
}

/** The token endpoint the CLI posts to (a client assertion's audience). */
export const tokenEndpoint = (server: string, tenantId: string) => `${server}/${tenantId}/oauth2/v2.0/token`;

export async function requestToken(http: HttpClient, server: string, tenantId: string, form: Record<string, string>): Promise<TokenAnswer> {
  const res = await http.send('POST', tokenEndpoint(server, tenantId), {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = res.json<Record<string, unknown>>() ?? {};
  if (res.status !== 200) {
    // As az's aad_error_handler: the whole error_description (Trace ID, Correlation ID and Timestamp lines
    // included) without the error code, then its recommendation. The code stays for the CLI's own checks.
    const description = typeof body.error_description === 'string' && body.error_description !== '' ? body.error_description : res.text || 'login failed';
    throw new CliError(description, String(body.error ?? res.status), 1, 'Interactive authentication is needed. Please run:\ncoffer login', false);
  }
  return body as unknown as TokenAnswer;
}

/** A token request's form for the profile's identity; a certificate's assertion is signed anew, for this tenant's endpoint. */
export async function loginForm(login: Profile['login'], scope: string, audience: string): Promise<Record<string, string>> {
  if (login.type === 'servicePrincipal') {
    if (login.certificatePath !== undefined) return certificateForm(login.certificatePath, login.clientId, audience, scope, login.useCertSnIssuer === true);
    if (login.clientAssertion !== undefined) {
      return { grant_type: 'client_credentials', client_id: login.clientId, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: login.clientAssertion, scope };
    }
    return { grant_type: 'client_credentials', client_id: login.clientId, client_secret: login.clientSecret ?? '', scope };
  }
  return { grant_type: 'refresh_token', client_id: login.clientId, refresh_token: login.refreshToken, scope: `${scope} offline_access` };
}

export const userLoginForm = (username: string, password: string, scope: string) => ({
  grant_type: 'password',
  client_id: PUBLIC_CLIENT_ID,
  username,
  password,
  scope: `${scope} openid profile offline_access`,
});

export class Session {
  readonly http: HttpClient;
  log: (line: string) => void = () => {};
  warn: (line: string) => void = (line) => process.stderr.write(`WARNING: ${line}\n`);
  constructor(readonly profile: Profile) {
    this.http = createHttpClient(profile.caFile);
  }

  static load(): Session {
    const profile = readProfile();
    if (!profile) throw new CliError("Please run 'coffer login' to setup account.");
    return new Session(profile);
  }

  get managementResource(): string {
    return this.profile.server;
  }

  get vaultResource(): string {
    const port = new URL(this.profile.server).port;
    return `https://${this.profile.vaultDnsSuffix}${port ? `:${port}` : ''}`;
  }

  vaultUrl(vaultName: string): string {
    // A vault name is a DNS label: anything else (a ':', '/', '@' or '?') would move the request, and its token, to another host.
    if (!/^[A-Za-z0-9-]{3,24}$/.test(vaultName)) throw usage(`'${vaultName.slice(0, 64)}' is not a vault name (3 to 24 letters, digits and dashes).`);
    const port = new URL(this.profile.server).port;
    return `https://${vaultName.toLowerCase()}.${this.profile.vaultDnsSuffix}${port ? `:${port}` : ''}`;
  }

  async token(resource: string): Promise<string> {
    return (await this.cachedToken(resource)).token;
  }

  /** A resource's token with its expiry, from the cache while it has more than a few minutes left. */
  private async cachedToken(resource: string): Promise<CachedToken> {
    const cached = this.profile.tokens[resource];
    if (cached && cached.expiresOn - EARLY_REFRESH_SECONDS > Math.floor(Date.now() / 1000)) return cached;
    const fresh = await this.fetchToken(`${resource}/.default`, this.profile.tenantId);
    this.profile.tokens[resource] = fresh;
    writeProfile(this.profile);
    return fresh;
  }

  /** Asks the server for a token; a user's refresh token is single use, so the one answered replaces it (the caller writes the profile). */
  private async fetchToken(scope: string, tenantId: string): Promise<CachedToken> {
    const now = Math.floor(Date.now() / 1000);
    const answer = await requestToken(this.http, this.profile.server, tenantId, await loginForm(this.profile.login, scope, tokenEndpoint(this.profile.server, tenantId)));
    if (answer.refresh_token && this.profile.login.type === 'user') this.profile.login.refreshToken = answer.refresh_token;
    return { token: answer.access_token, expiresOn: now + answer.expires_in };
  }

  /** A token for `scope` in `tenantId` (`account get-access-token`): a resource's `/.default` in the profile's tenant comes from the cache. */
  tokenFor(scope: string, tenantId = this.profile.tenantId): Promise<CachedToken> {
    const resource = scope.endsWith('/.default') ? scope.slice(0, -'/.default'.length) : null;
    if (resource !== null && tenantId === this.profile.tenantId) return this.cachedToken(resource);
    return this.fetchToken(scope, tenantId).then((t) => (writeProfile(this.profile), t));
  }

  /** The signed-in identity's object id, read from its management token. */
  async objectId(): Promise<string> {
    const token = await this.token(this.managementResource);
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { oid?: string };
    if (!payload.oid) throw new CliError('the access token names no object id');
    return payload.oid;
  }

  /** Whether a URL goes to this profile's server or one of its vault hosts (the only places its tokens may go). */
  private ownsUrl(url: string): boolean {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    const server = new URL(this.profile.server);
    if (u.username || u.password || u.protocol !== 'https:' || u.port !== server.port) return false;
    const host = u.hostname.toLowerCase();
    return host === server.hostname.toLowerCase() || host.endsWith(`.${this.profile.vaultDnsSuffix.toLowerCase()}`);
  }

  /**
   * Sends a request as az's SDK pipeline would: a token the server refuses
   * (401: revoked, or signed by keys the server no longer has) is dropped and
   * a new one tried once; throttling (429, or 503 with Retry-After to a read)
   * is waited out up to MAX_RETRIES times.
   */
  private async sendWithRetries(method: string, url: string, resource: string, body: unknown): Promise<HttpResponse> {
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      const res = await this.http.send(method, url, {
        headers: { authorization: `Bearer ${await this.token(resource)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      this.log(`${method} ${url.split('?')[0]} -> ${res.status} (${Date.now() - started} ms)`);
      if (res.status === 401 && !renewed && this.profile.tokens[resource]) {
        renewed = true;
        delete this.profile.tokens[resource];
        continue;
      }
      const wait = retryDelayMs(res, attempt, method);
      if (wait === null) return res;
      this.log(`throttled (${res.status}): retrying in ${Math.round(wait / 1000)} s`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Calls an API and returns the parsed JSON, or throws the server's error az-style. */
  async call<T = unknown>(method: string, url: string, resource: string, body?: unknown): Promise<T> {
    if (!this.ownsUrl(url)) throw usage(`the request would leave ${this.profile.server} (${url.split('?')[0]!.slice(0, 120)}); check the names, scopes and ids given.`);
    const res = await this.sendWithRetries(method, url, resource, body);
    // az exits 3 on a 404 from ARM or a vault (its ResourceNotFoundError); its Graph client's errors exit 1.
    const { host, pathname } = new URL(url);
    const graph = pathname.startsWith('/v1.0/');
    // az's Resource Manager clients (azure-core) print an error's code and message again below it.
    const arm = host === new URL(this.profile.server).host && !graph && !pathname.startsWith('/coffer/');
    if (!graph) return parseAnswer<T>(res, 3, arm);
    // az's Graph client (role/_msgrpah) raises its errors with the message alone, and exits 1.
    try {
      return parseAnswer<T>(res, 1);
    } catch (err) {
      throw err instanceof CliError ? new CliError(err.message, err.code, err.exitCode, err.details, false) : err;
    }
  }
}

const MAX_RETRIES = 3;
const MAX_RETRY_WAIT_MS = 60_000;

/**
 * How long to wait before retrying a throttled answer, or null for no retry.
 * A 429 comes before the request is carried out; a 503 may come after (the
 * server's audit failed once the change was stored), so only reads retry it.
 */
export function retryDelayMs(res: HttpResponse, attempt: number, method = 'GET'): number | null {
  const header = res.headers['retry-after'];
  const retryAfter = Array.isArray(header) ? header[0] : header;
  const safe = method === 'GET' || method === 'HEAD';
  if (attempt >= MAX_RETRIES || !(res.status === 429 || (res.status === 503 && safe && retryAfter !== undefined))) return null;
  // Retry-After in seconds or as an HTTP date; without one, exponential backoff from 1 s.
  const seconds = retryAfter === undefined ? NaN : /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : (Date.parse(retryAfter) - Date.now()) / 1000;
  const ms = Number.isFinite(seconds) ? Math.max(0, seconds * 1000) : 1000 * 2 ** attempt;
  return Math.min(ms, MAX_RETRY_WAIT_MS);
}

/**
 * The answer's JSON, or the server's error az-style (exit 1; `notFoundExit` for a 404). `azureCore`: as
 * azure-core's HttpResponseError prints it, with `Code:` and `Message:` lines after the first.
 */
export function parseAnswer<T>(res: HttpResponse, notFoundExit = 1, azureCore = false): T {
  if (res.status >= 200 && res.status < 300) return res.json<T>();
  let code = String(res.status);
  let message = res.text || `HTTP ${res.status}`;
  try {
    const err = res.json<{ error?: { code?: string; message?: string } }>()?.error;
    if (err?.code) code = err.code;
    if (err?.message) message = err.message;
  } catch {
    // not JSON: keep the raw text
  }
  throw new CliError(message, code, res.status === 404 ? notFoundExit : 1, azureCore ? `Code: ${code}\nMessage: ${message}` : undefined);
}
