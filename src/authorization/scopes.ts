import { errors } from '../server/errors.js';

// ARM scopes: subscription > resource group > vault > secret. Scopes compare
// case-insensitively; an assignment at a scope applies to everything below it.

export type ScopeKind = 'root' | 'subscription' | 'resourceGroup' | 'vault' | 'secret';

export interface Scope {
  kind: ScopeKind;
  /** As given (trailing slash removed). */
  path: string;
  /** Lower-case form used for comparisons. */
  key: string;
  subscriptionId?: string;
  resourceGroup?: string;
  vault?: string;
  secret?: string;
}

const PATTERNS: Array<[ScopeKind, RegExp]> = [
  ['root', /^$/],
  ['subscription', /^\/subscriptions\/([^/]+)$/i],
  ['resourceGroup', /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)$/i],
  ['vault', /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i],
  ['secret', /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)\/secrets\/([^/]+)$/i],
];

/** Parses a scope; null if it is not one coffer knows. */
export function parseScope(raw: string): Scope | null {
  const path = raw.replace(/\/+$/, '');
  for (const [kind, re] of PATTERNS) {
    const m = re.exec(path);
    if (!m) continue;
    return { kind, path: path || '/', key: path.toLowerCase(), subscriptionId: m[1]?.toLowerCase(), resourceGroup: m[2], vault: m[3], secret: m[4] };
  }
  return null;
}

export function requireScope(raw: string): Scope {
  const scope = parseScope(raw);
  if (!scope) throw errors.invalidArm(`The scope '${raw.slice(0, 300)}' is not valid: use a subscription, resource group, vault or secret resource id.`);
  return scope;
}

/** True when an assignment at `outer` applies at `inner` (the same scope or below it). */
export function covers(outerKey: string, innerKey: string): boolean {
  return outerKey === '' || innerKey === outerKey || innerKey.startsWith(`${outerKey}/`);
}

export const subscriptionScope = (s: string) => `/subscriptions/${s}`;
export const resourceGroupScope = (s: string, rg: string) => `/subscriptions/${s}/resourceGroups/${rg}`;
export const vaultScope = (s: string, rg: string, v: string) => `${resourceGroupScope(s, rg)}/providers/Microsoft.KeyVault/vaults/${v}`;
export const secretScope = (s: string, rg: string, v: string, name: string) => `${vaultScope(s, rg, v)}/secrets/${name}`;
