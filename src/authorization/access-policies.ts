import { errors } from '../server/errors.js';
import { GUID_RE } from '../identity/identity-types.js';
import { echo } from '../server/echo.js';

// Vault access policies: entries {tenantId, objectId, applicationId?,
// permissions{keys,secrets,certificates,storage}}, validated, merged and
// matched as Azure Key Vault does.

export interface AccessPolicyEntry {
  tenantId: string;
  objectId: string;
  applicationId?: string;
  permissions: { keys?: string[]; secrets?: string[]; certificates?: string[]; storage?: string[] };
}

type Family = keyof AccessPolicyEntry['permissions'];

export const PERMISSIONS: Record<Family, readonly string[]> = {
  keys: ['all', 'encrypt', 'decrypt', 'wrapkey', 'unwrapkey', 'sign', 'verify', 'get', 'list', 'create', 'update', 'import', 'delete', 'backup', 'restore', 'recover', 'purge', 'release', 'rotate', 'getrotationpolicy', 'setrotationpolicy'],
  secrets: ['all', 'get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge'],
  certificates: ['all', 'get', 'list', 'delete', 'create', 'import', 'update', 'managecontacts', 'getissuers', 'listissuers', 'setissuers', 'deleteissuers', 'manageissuers', 'recover', 'purge', 'backup', 'restore'],
  storage: ['all', 'get', 'list', 'delete', 'set', 'update', 'regeneratekey', 'recover', 'purge', 'backup', 'restore', 'setsas', 'listsas', 'getsas', 'deletesas'],
};
const FAMILIES = Object.keys(PERMISSIONS) as Family[];
export const MAX_POLICIES = 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates entries from a request; every entry must use the vault's tenant. */
export function parsePolicies(raw: unknown, tenantId: string): AccessPolicyEntry[] {
  if (!Array.isArray(raw)) throw errors.invalidArm("The property 'accessPolicies' must be an array.");
  return raw.map((e, i) => {
    const where = `accessPolicies[${i}]`;
    if (!isObject(e)) throw errors.invalidArm(`${where} must be an object.`);
    if (typeof e.tenantId !== 'string' || !GUID_RE.test(e.tenantId)) throw errors.invalidArm(`${where}.tenantId must be a GUID.`);
    if (e.tenantId.toLowerCase() !== tenantId) {
      throw errors.invalidArm(`${where}.tenantId '${e.tenantId}' is not the tenant '${tenantId}' of the vault. An access policy must use the vault's tenant.`);
    }
    if (typeof e.objectId !== 'string' || !GUID_RE.test(e.objectId)) throw errors.invalidArm(`${where}.objectId must be a GUID.`);
    if (e.applicationId !== undefined && e.applicationId !== null && (typeof e.applicationId !== 'string' || !GUID_RE.test(e.applicationId))) {
      throw errors.invalidArm(`${where}.applicationId must be a GUID.`);
    }
    if (!isObject(e.permissions)) throw errors.invalidArm(`${where}.permissions is required.`);
    const permissions: AccessPolicyEntry['permissions'] = {};
    for (const family of FAMILIES) {
      const list = e.permissions[family];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) throw errors.invalidArm(`${where}.permissions.${family} must be an array of strings.`);
      for (const p of list as string[]) {
        if (!PERMISSIONS[family].includes(p.toLowerCase())) {
          throw errors.invalidArm(`Invalid value found at ${where}.permissions.${family}: '${echo(p)}'. Allowed values: ${PERMISSIONS[family].join(', ')}.`);
        }
      }
      // Kept as spelled (Azure echoes "wrapKey" and "Get" as sent), without exact repeats; matched case-insensitively.
      permissions[family] = [...new Set(list as string[])];
    }
    const entry: AccessPolicyEntry = { tenantId: e.tenantId.toLowerCase(), objectId: e.objectId.toLowerCase(), permissions };
    if (typeof e.applicationId === 'string') entry.applicationId = e.applicationId.toLowerCase();
    return entry;
  });
}

const sameIdentity = (a: AccessPolicyEntry, b: AccessPolicyEntry) =>
  a.objectId === b.objectId && (a.applicationId ?? '') === (b.applicationId ?? '');

const isEmpty = (e: AccessPolicyEntry) => FAMILIES.every((f) => (e.permissions[f] ?? []).length === 0);

/** `add` merges permissions into an identity's entry, `remove` takes them away, `replace` sets them. */
export function applyPolicyChange(current: AccessPolicyEntry[], kind: 'add' | 'replace' | 'remove', changes: AccessPolicyEntry[]): AccessPolicyEntry[] {
  let next = current.map((e) => ({ ...e, permissions: { ...e.permissions } }));
  for (const change of changes) {
    const existing = next.find((e) => sameIdentity(e, change));
    if (kind === 'remove') {
      if (!existing) continue;
      for (const f of FAMILIES) {
        // Whatever the spelling: Azure's remove matches case-sensitively and removes nothing for "get" against "Get".
        const drop = new Set((change.permissions[f] ?? []).map((p) => p.toLowerCase()));
        if (drop.size) existing.permissions[f] = (existing.permissions[f] ?? []).filter((p) => !drop.has(p.toLowerCase()));
      }
      if (isEmpty(change) || isEmpty(existing)) next = next.filter((e) => e !== existing);
    } else if (kind === 'replace' || !existing) {
      next = next.filter((e) => e !== existing);
      next.push(change);
    } else {
      for (const f of FAMILIES) {
        const merged = new Set([...(existing.permissions[f] ?? []), ...(change.permissions[f] ?? [])]);
        if (merged.size) existing.permissions[f] = [...merged];
      }
    }
  }
  if (next.length > MAX_POLICIES) throw errors.invalidArm(`The number of access policies exceeds the maximum of ${MAX_POLICIES} per vault.`);
  return next;
}

export interface PolicyMatch {
  index: number;
  entry: AccessPolicyEntry;
  /** The identity through which the entry matched: the caller or one of its groups. */
  via: string;
}

/**
 * Entry positions by object id, built once per entries array, so that a
 * decision looks at the caller's own entries only (a vault may have 1,024).
 * Policy changes store a new array (applyPolicyChange) and vault rows are
 * replaced, never edited, so an array's index stays valid; the length check
 * is a cheap guard against an in-place edit all the same.
 */
const indexes = new WeakMap<readonly AccessPolicyEntry[], { length: number; byObjectId: Map<string, number[]> }>();

function positionsByObjectId(entries: readonly AccessPolicyEntry[]): Map<string, number[]> {
  const cached = indexes.get(entries);
  if (cached && cached.length === entries.length) return cached.byObjectId;
  const byObjectId = new Map<string, number[]>();
  entries.forEach((entry, i) => {
    const list = byObjectId.get(entry.objectId);
    if (list) list.push(i);
    else byObjectId.set(entry.objectId, [i]);
  });
  indexes.set(entries, { length: entries.length, byObjectId });
  return byObjectId;
}

/** An entry's secret permissions in lower case, once per entry (entries are replaced, never edited). */
const secretGrantSets = new WeakMap<AccessPolicyEntry, Set<string>>();
function secretGrants(entry: AccessPolicyEntry): Set<string> {
  let set = secretGrantSets.get(entry);
  if (!set) secretGrantSets.set(entry, (set = new Set((entry.permissions.secrets ?? []).map((p) => p.toLowerCase()))));
  return set;
}

/**
 * The entries that grant `permission` on secrets to a caller known by its
 * identities (object id and groups) and client application id, in entry
 * order. An entry with an applicationId (compound identity) applies only
 * through that application.
 */
export function matchPolicies(entries: readonly AccessPolicyEntry[], identities: readonly string[], appId: string | null, tenantId: string, permission: string): PolicyMatch[] {
  const byObjectId = positionsByObjectId(entries);
  const positions = [...new Set(identities)].flatMap((id) => byObjectId.get(id) ?? []).sort((a, b) => a - b);
  const out: PolicyMatch[] = [];
  for (const index of positions) {
    const entry = entries[index]!;
    if (entry.tenantId !== tenantId) continue;
    if (entry.applicationId && appId !== null && entry.applicationId !== appId.toLowerCase()) continue;
    const granted = secretGrants(entry);
    if (granted.has('all') || granted.has(permission)) out.push({ index, entry, via: entry.objectId });
  }
  return out;
}

export const policiesOf = (properties: Record<string, unknown>): AccessPolicyEntry[] =>
  Array.isArray(properties.accessPolicies) ? (properties.accessPolicies as AccessPolicyEntry[]) : [];
