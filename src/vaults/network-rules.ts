import { BlockList, isIP } from 'node:net';
import { unmapped } from '../net/client-address.js';
import { callerLabel } from '../authorization/authorizer.js';
import type { Caller } from '../identity/identity-types.js';
import { errors } from '../server/errors.js';
import type { VaultRow } from '../storage/store-types.js';

// A vault's network rules, as Key Vault's firewall applies them to the data
// plane: `publicNetworkAccess: Disabled` refuses every request (coffer has no
// private endpoints), and `networkAcls.defaultAction: Deny` refuses requests
// from addresses outside `ipRules`. Virtual network rules are kept but match
// nothing (coffer sees no virtual networks), and no caller is a trusted Azure
// service, so `bypass` changes nothing. The management plane is not filtered,
// as in Azure: an administrator locked out of the data plane can still
// change the rules.

export interface NetworkAcls {
  bypass: 'AzureServices' | 'None';
  defaultAction: 'Allow' | 'Deny';
  ipRules: Array<{ value: string }>;
  virtualNetworkRules: Array<{ id: string; ignoreMissingVnetServiceEndpoint?: boolean }>;
}

/** Azure's limits: 1,000 IP rules and 200 virtual network rules per vault. */
const MAX_IP_RULES = 1000;
const MAX_VNET_RULES = 200;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One of `allowed`, matched in any case, in its canonical spelling. */
function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): T {
  const hit = typeof v === 'string' ? allowed.find((a) => a.toLowerCase() === v.toLowerCase()) : undefined;
  if (hit === undefined) throw errors.invalidArm(`The property '${what}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}.`);
  return hit;
}

export const parsePublicNetworkAccess = (v: unknown) => oneOf(v, ['Enabled', 'Disabled'] as const, 'properties.publicNetworkAccess');

/** An address or a CIDR range ("124.56.78.91", "124.56.78.0/24"; IPv6 as well). */
function parseRange(value: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, extra] = value.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return null;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  return prefix <= max ? { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' } : null;
}

export function parseNetworkAcls(v: unknown): NetworkAcls {
  if (!isObject(v)) throw errors.invalidArm("The property 'properties.networkAcls' must be an object.");
  const ipRules = v.ipRules ?? [];
  const vnetRules = v.virtualNetworkRules ?? [];
  if (!Array.isArray(ipRules) || ipRules.length > MAX_IP_RULES) throw errors.invalidArm(`The property 'properties.networkAcls.ipRules' must be an array of at most ${MAX_IP_RULES} rules.`);
  if (!Array.isArray(vnetRules) || vnetRules.length > MAX_VNET_RULES) throw errors.invalidArm(`The property 'properties.networkAcls.virtualNetworkRules' must be an array of at most ${MAX_VNET_RULES} rules.`);
  return {
    bypass: v.bypass == null ? 'AzureServices' : oneOf(v.bypass, ['AzureServices', 'None'] as const, 'properties.networkAcls.bypass'),
    defaultAction: v.defaultAction == null ? 'Allow' : oneOf(v.defaultAction, ['Allow', 'Deny'] as const, 'properties.networkAcls.defaultAction'),
    ipRules: ipRules.map((r, i) => {
      const range = isObject(r) && typeof r.value === 'string' ? parseRange(r.value) : null;
      if (range === null) {
        throw errors.invalidArm(`The property 'properties.networkAcls.ipRules[${i}].value' must be an IP address or a CIDR range such as '124.56.78.0/24'.`);
      }
      // Key Vault stores a single IPv4 address as its /32 range ('124.56.78.91' comes back '124.56.78.91/32').
      const value = (r as { value: string }).value;
      return { value: range.family === 'ipv4' && !value.includes('/') ? `${value}/32` : value };
    }),
    virtualNetworkRules: vnetRules.map((r, i) => {
      if (!isObject(r) || typeof r.id !== 'string' || r.id.length === 0 || r.id.length > 1024 || !r.id.startsWith('/subscriptions/')) {
        throw errors.invalidArm(`The property 'properties.networkAcls.virtualNetworkRules[${i}].id' must be a subnet's resource id.`);
      }
      if (r.ignoreMissingVnetServiceEndpoint != null && typeof r.ignoreMissingVnetServiceEndpoint !== 'boolean') {
        throw errors.invalidArm(`The property 'properties.networkAcls.virtualNetworkRules[${i}].ignoreMissingVnetServiceEndpoint' must be a boolean.`);
      }
      // Key Vault keeps a subnet's id in lower case, as az's network-rule remove expects.
      const id = r.id.toLowerCase();
      return r.ignoreMissingVnetServiceEndpoint == null ? { id } : { id, ignoreMissingVnetServiceEndpoint: r.ignoreMissingVnetServiceEndpoint };
    }),
  };
}

/** A vault's rules compiled once per row (rows are replaced, never edited, when the vault changes). */
const compiled = new WeakMap<VaultRow, { closed: boolean; allowed: BlockList | null }>();

function rulesOf(vault: VaultRow) {
  let rules = compiled.get(vault);
  if (!rules) {
    const p = vault.properties;
    const acls = isObject(p.networkAcls) ? (p.networkAcls as unknown as NetworkAcls) : null;
    let allowed: BlockList | null = null;
    if (acls?.defaultAction === 'Deny') {
      allowed = new BlockList();
      for (const rule of acls.ipRules) {
        const range = parseRange(rule.value);
        if (range) allowed.addSubnet(range.address, range.prefix, range.family);
      }
    }
    rules = { closed: p.publicNetworkAccess === 'Disabled', allowed };
    compiled.set(vault, rules);
  }
  return rules;
}

/** The client's address as the rules see it: an IPv4-mapped IPv6 address (a dual-stack socket's) as IPv4. */
function clientAddress(ip: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const address = unmapped(ip);
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** Refuses a data-plane request the vault's network rules do not let in, with Key Vault's 403s. */
export function checkNetworkAccess(vault: VaultRow, ip: string, caller: Caller): void {
  const rules = rulesOf(vault);
  if (rules.closed) throw errors.forbiddenByConnection(callerLabel(caller), vault);
  if (rules.allowed === null) return;
  const client = clientAddress(ip);
  if (isIP(client.address) !== 0 && rules.allowed.check(client.address, client.family)) return;
  throw errors.forbiddenByFirewall(client.address, callerLabel(caller), vault);
}
