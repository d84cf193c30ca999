/** The authenticated caller of a request, taken from a verified token. */
export interface Caller {
  objectId: string;
  tenantId: string;
  /** Client application id (appid / azp). */
  appId: string;
  issuer: string;
  kind: 'app' | 'user';
  upn: string | null;
  name: string | null;
  /** Audience the token was issued for. */
  audience: string;
}

/** Well-known identities of a `--dev` deployment (documented in the README). */
export const DEV_IDS = {
  tenantId: 'c0ffee00-0000-4000-8000-000000000001',
  subscriptionId: 'c0ffee00-0000-4000-8000-000000000002',
  adminAppId: 'c0ffee00-0000-4000-8000-0000000000a1',
  adminObjectId: 'c0ffee00-0000-4000-8000-0000000000a2',
  adminSecret: 'coffer-dev-admin-secret-do-not-use-in-production',
  /** A person for the portal: same rights as the administrator. */
  userObjectId: 'c0ffee00-0000-4000-8000-0000000000a3',
  userName: 'admin@coffer.local',
  userPassword: 'Coffer-dev-password-do-not-use-in-production',
} as const;

/** First-party public clients that may use the password grant (as in Entra ID). */
export const PUBLIC_CLIENTS: Record<string, string> = {
  '04b07795-8ddb-461a-bbee-02f9e1bf7b46': 'Microsoft Azure CLI',
  '1950a258-227b-4e31-a9cf-717495945fc2': 'Microsoft Azure PowerShell',
  'c0ffee00-0000-4000-8000-0000000000c1': 'coffer CLI',
  'c0ffee00-0000-4000-8000-0000000000c2': 'coffer portal',
};

/** The web portal's client id (a public client using the code flow with PKCE). */
export const PORTAL_CLIENT_ID = 'c0ffee00-0000-4000-8000-0000000000c2';

export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
