import { errors } from '../server/errors.js';
import { GUID_RE } from '../identity/identity-types.js';
import { VAULT_NAME_RE } from './vault-types.js';
import { MAX_POLICIES, parsePolicies } from '../authorization/access-policies.js';
import { parseNetworkAcls, parsePublicNetworkAccess } from './network-rules.js';

// ARM request bodies for vaults, checked field by field with ARM's wording.

export interface VaultInput {
  location?: string;
  tags?: Record<string, string>;
  properties: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkVaultName(name: string): string {
  if (!VAULT_NAME_RE.test(name) || name.includes('--')) throw errors.vaultNameNotValid(name);
  return name;
}

/** ARM resource tags: at most 50, names of 1 to 512 characters, values of at most 256 (Azure's limits). */
/** `kept`: the tags the resource has now, whose names are taken as they are (stored before reserved characters were refused). */
export function checkTags(v: unknown, kept: Record<string, string> = {}): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) throw errors.invalidArm('The tags property must be an object of string values.');
  if (Object.keys(v).length > 50) throw errors.invalidArm('The number of tags exceeds the maximum of 50.');
  const entries = Object.entries(v as Record<string, string>);
  // Resource Manager's reserved characters in a tag name (a path or query would carry them badly).
  const reserved = entries.map(([name]) => name).filter((name) => /[<>%&\\?/\p{Cc}]/u.test(name) && !Object.hasOwn(kept, name));
  if (reserved.length > 0) {
    const names = reserved.map((n) => n.slice(0, 64).replace(/\p{Cc}/gu, '\uFFFD')).join(', ');
    throw errors.invalidTagNameCharacters(names);
  }
  for (const [name, value] of entries) {
    if (name.length === 0 || name.length > 512) throw errors.invalidArm(`The tag name '${name.slice(0, 64)}' must be 1 to 512 characters.`);
    if (value.length > 256) throw errors.invalidArm(`The value of tag '${name.slice(0, 64)}' exceeds the maximum length of 256 characters.`);
  }
  return v as Record<string, string>;
}

/** An ARM location: a region name such as 'westeurope' or 'West Europe' (letters, digits, spaces), at most 64 characters. */
export function checkLocation(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw errors.locationRequired();
  if (!/^[A-Za-z0-9][A-Za-z0-9 ]{0,63}$/.test(v)) throw errors.locationNotAvailable(v);
  return v;
}

function checkBool(props: Record<string, unknown>, key: string) {
  if (props[key] !== undefined && props[key] !== null && typeof props[key] !== 'boolean') {
    throw errors.invalidArm(`The property 'properties.${key}' must be a boolean.`);
  }
}

/**
 * The vault properties coffer keeps; the rest of a body is dropped, as
 * Resource Manager ignores what a resource type does not define (clients
 * such as `az keyvault update` send a whole GET answer back, computed
 * properties included).
 */
const STORED = new Set([
  'tenantId', 'sku', 'accessPolicies', 'enabledForDeployment', 'enabledForDiskEncryption', 'enabledForTemplateDeployment',
  'enableSoftDelete', 'softDeleteRetentionInDays', 'enableRbacAuthorization', 'createMode', 'enablePurgeProtection',
  'networkAcls', 'publicNetworkAccess',
]);

function checkProperties(raw: Record<string, unknown>, tenantId: string, full: boolean): Record<string, unknown> {
  const p = Object.fromEntries(Object.entries(raw).filter(([k]) => STORED.has(k)));
  // A PATCH's null leaves a property as it is, as for the flags below.
  if (!full) for (const k of ['tenantId', 'sku', 'networkAcls', 'publicNetworkAccess']) if (p[k] === null) delete p[k];
  if (full || p.tenantId !== undefined) {
    if (typeof p.tenantId !== 'string' || !GUID_RE.test(p.tenantId)) throw errors.invalidArm("The property 'properties.tenantId' is required and must be a GUID.");
    if (p.tenantId.toLowerCase() !== tenantId) throw errors.invalidArm(`The tenant '${p.tenantId}' is not the tenant '${tenantId}' of this subscription.`);
  }
  if (full || p.sku !== undefined) {
    const sku = p.sku;
    const name = isObject(sku) && typeof sku.name === 'string' ? sku.name.toLowerCase() : '';
    const familyOk = isObject(sku) && (sku.family == null || (typeof sku.family === 'string' && sku.family.toUpperCase() === 'A'));
    if ((name !== 'standard' && name !== 'premium') || !familyOk) {
      throw errors.invalidArm("The property 'properties.sku' is required: { family: 'A', name: 'standard' | 'premium' }.");
    }
    p.sku = { family: 'A', name };
  }
  if (p.publicNetworkAccess != null) p.publicNetworkAccess = parsePublicNetworkAccess(p.publicNetworkAccess);
  if (p.networkAcls != null) p.networkAcls = parseNetworkAcls(p.networkAcls);
  for (const key of ['enableSoftDelete', 'enablePurgeProtection', 'enableRbacAuthorization', 'enabledForDeployment', 'enabledForDiskEncryption', 'enabledForTemplateDeployment']) {
    checkBool(p, key);
  }
  if (p.softDeleteRetentionInDays !== undefined && p.softDeleteRetentionInDays !== null) {
    const d = p.softDeleteRetentionInDays;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 7 || d > 90) {
      throw errors.invalidArm("The property 'properties.softDeleteRetentionInDays' must be an integer from 7 to 90.");
    }
  }
  if (p.enablePurgeProtection === false) {
    throw errors.invalidArm('The property "enablePurgeProtection" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.');
  }
  if (p.accessPolicies !== undefined && p.accessPolicies !== null) {
    const policies = parsePolicies(p.accessPolicies, tenantId);
    if (policies.length > MAX_POLICIES) throw errors.invalidArm(`The number of access policies exceeds the maximum of ${MAX_POLICIES} per vault.`);
    p.accessPolicies = policies;
  }
  if (p.createMode !== undefined && p.createMode !== 'default' && p.createMode !== 'recover') {
    throw errors.invalidArm("The property 'properties.createMode' must be 'default' or 'recover'.");
  }
  return p;
}

/** `keptTags`: the vault's tags now (checkTags), when it exists. */
export function parseVaultPut(body: unknown, tenantId: string, keptTags?: Record<string, string>): VaultInput {
  if (!isObject(body)) throw errors.invalidArm('The request body must be a JSON object.');
  const location = checkLocation(body.location);
  if (!isObject(body.properties)) throw errors.invalidArm("The property 'properties' is required.");
  return { location, tags: checkTags(body.tags, keptTags), properties: checkProperties(body.properties, tenantId, true) };
}

export function parseVaultPatch(body: unknown, tenantId: string, keptTags?: Record<string, string>): VaultInput {
  if (!isObject(body)) throw errors.invalidArm('The request body must be a JSON object.');
  const props = body.properties === undefined ? {} : body.properties;
  if (!isObject(props)) throw errors.invalidArm("The property 'properties' must be an object.");
  return { tags: checkTags(body.tags, keptTags), properties: checkProperties(props, tenantId, false) };
}
