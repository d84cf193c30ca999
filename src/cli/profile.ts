import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// The CLI's profile: which server, which identity, cached tokens. It holds
// credentials, so the folder is 0700 and the file 0600, written atomically.

export interface CachedToken {
  token: string;
  expiresOn: number;
}

export interface Profile {
  server: string;
  tenantId: string;
  subscriptionId: string;
  vaultDnsSuffix: string;
  caFile?: string;
  login:
    /**
     * A client secret, or (as az 2.45 keeps it) the path of the PEM file with the certificate and its private key: never
     * the key itself; or (as az keeps --federated-token) an external identity provider's token, sent until it expires.
     */
    | { type: 'servicePrincipal'; clientId: string; clientSecret?: string; certificatePath?: string; useCertSnIssuer?: boolean; clientAssertion?: string }
    | { type: 'user'; username: string; clientId: string; refreshToken: string };
  tokens: Record<string, CachedToken>;
}

export const cofferHome = (): string => process.env.COFFER_HOME ?? join(homedir(), '.coffer');
const profileFile = () => join(cofferHome(), 'profile.json');

export function readProfile(): Profile | null {
  const file = profileFile();
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as Profile;
}

export function writeProfile(profile: Profile): void {
  const dir = cofferHome();
  // A folder made here is the owner's alone; one that exists (COFFER_HOME may be a shared
  // or home directory) keeps its mode: the profile file itself is 0600.
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = profileFile();
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(profile, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function deleteProfile(): boolean {
  const file = profileFile();
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}
