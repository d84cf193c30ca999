import { call } from './http';
import type { DeletedSecretItem, Page, SecretAttributes, SecretBundle, SecretItem } from './types';

/** A PATCH body: null clears contentType, nbf or exp (the server stores null as "not set"). */
export interface SecretUpdate {
  contentType?: string | null;
  tags?: Record<string, string>;
  attributes?: { enabled?: boolean; nbf?: number | null; exp?: number | null };
}

// A vault's data plane (Key Vault REST, api-version 7.5) at its vault URI.

const API = 'api-version=7.5';

export function secretsApi(vaultUri: string) {
  const base = vaultUri.replace(/\/$/, '');
  const kv = <T>(method: string, path: string, body?: unknown) => call<T>('vault', method, path.startsWith('https://') ? path : `${base}${path}`, body);
  const name = (n: string) => encodeURIComponent(n);
  return {
    list: (next?: string) => kv<Page<SecretItem>>('GET', next ?? `/secrets?maxresults=25&${API}`),
    versions: (secret: string, next?: string, max = 25) => kv<Page<SecretItem>>('GET', next ?? `/secrets/${name(secret)}/versions?maxresults=${max}&${API}`),
    get: (secret: string, version = '') => kv<SecretBundle>('GET', `/secrets/${name(secret)}/${encodeURIComponent(version)}?${API}`),
    set: (secret: string, body: { value: string; contentType?: string; tags?: Record<string, string>; attributes?: SecretAttributes }) => kv<SecretBundle>('PUT', `/secrets/${name(secret)}?${API}`, body),
    update: (secret: string, version: string, body: SecretUpdate) =>
      kv<SecretBundle>('PATCH', `/secrets/${name(secret)}/${encodeURIComponent(version)}?${API}`, body),
    delete: (secret: string) => kv<unknown>('DELETE', `/secrets/${name(secret)}?${API}`),
    listDeleted: (next?: string) => kv<Page<DeletedSecretItem>>('GET', next ?? `/deletedsecrets?maxresults=25&${API}`),
    recover: (secret: string) => kv<unknown>('POST', `/deletedsecrets/${name(secret)}/recover?${API}`),
    purge: (secret: string) => kv<unknown>('DELETE', `/deletedsecrets/${name(secret)}?${API}`),
  };
}

export type SecretsApi = ReturnType<typeof secretsApi>;

/** Name and version out of a secret id (https://v.../secrets/{name}/{version}). */
export function parseSecretId(id: string): { name: string; version: string } {
  const parts = new URL(id).pathname.split('/').filter(Boolean);
  return { name: decodeURIComponent(parts[1] ?? ''), version: decodeURIComponent(parts[2] ?? '') };
}
