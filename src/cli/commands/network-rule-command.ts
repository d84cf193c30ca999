import { BlockList, isIP } from 'node:net';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { API, noWait, run, withNoWait, withOutput } from '../command-kit.js';
import { asNetworkRuleSet, asVault } from '../output-models.js';
import type { Session } from '../session.js';
import { findVault } from './keyvault-command.js';
import { checkIpAddresses } from '../ip-networks.js';

// coffer keyvault network-rule add | remove | list, as az 2.45's
// (keyvault/custom.py add_network_rule, remove_network_rule,
// list_network_rules): the vault's networkAcls changed and the vault PUT
// back whole.

interface NetworkAcls {
  bypass?: string;
  defaultAction?: string;
  ipRules?: Array<{ value: string }>;
  virtualNetworkRules?: Array<{ id: string }>;
}

/** An address or CIDR range, as Python's ip_network reads it (an address alone is its own /32 or /128). */
function network(value: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', bits] = value.split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (version === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
    throw new CliError(`'${value}' does not appear to be an IPv4 or IPv6 network`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function overlaps(a: string, b: string): boolean {
  const [x, y] = [network(a), network(b)];
  if (x.family !== y.family) return false;
  const holds = (n: typeof x, address: string) => {
    const list = new BlockList();
    list.addSubnet(n.address, n.prefix, n.family);
    return list.check(address, n.family);
  };
  return holds(x, y.address) || holds(y, x.address);
}

/** Python's ip_network equality: the same network, whatever the spelling. */
const sameNetwork = (a: string, b: string) => {
  const [x, y] = [network(a), network(b)];
  return x.family === y.family && x.prefix === y.prefix && overlaps(a, b);
};

type RuleOptions = { name: string; resourceGroup?: string; ipAddress?: string[]; subnet?: string; vnetName?: string };

const withRuleOptions = (cmd: Command) =>
  withOutput(cmd)
    .requiredOption('-n, --name <vault>', 'vault name')
    .option('-g, --resource-group <group>', 'resource group (found by listing when omitted)')
    .option('--ip-address [addresses...]', 'IPv4 or IPv6 addresses or CIDR ranges')
    .option('--subnet <id>', 'a virtual network subnet (kept, but coffer enforces IP rules only)')
    .option('--vnet-name <name>', "the subnet's virtual network, when --subnet is its name (in the vault's resource group)");

/**
 * az's validate_subnet: a subnet's resource id as given; a subnet name with --vnet-name becomes the id of that
 * subnet in the vault's resource group; any other mix is az's usage error.
 */
function subnetId(s: Session, o: RuleOptions, vaultId: string): string | undefined {
  const isId = o.subnet !== undefined && /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+\/[^/]+\/[^/]+/i.test(o.subnet);
  if ((isId && !o.vnetName) || (!o.subnet && !o.vnetName)) return o.subnet;
  if (o.subnet && !isId && o.vnetName) {
    const group = /\/resourceGroups\/([^/]+)/i.exec(vaultId)?.[1] ?? '';
    return `/subscriptions/${s.profile.subscriptionId}/resourceGroups/${group}/providers/Microsoft.Network/virtualNetworks/${o.vnetName}/subnets/${o.subnet}`;
  }
  throw new CliError('incorrect usage: [--subnet ID | --subnet NAME --vnet-name NAME]');
}

/** PUTs the vault back with its network rules changed, as az does. */
async function putVault(s: Session, vault: { id: string; properties: Record<string, unknown> }, acls: NetworkAcls) {
  const { location, tags } = vault as unknown as { location: string; tags?: Record<string, string> };
  const body = { location, tags, properties: { ...vault.properties, networkAcls: acls } };
  return asVault(await s.call('PUT', `${s.profile.server}${vault.id}?api-version=${API.arm}`, s.managementResource, body));
}

/**
 * az's validate_ip_address runs after its vault-group validator: with -g, before the login is loaded; without,
 * once the vault is found (the actions call it then).
 */
const ipsBeforeLogin = (o: RuleOptions) => {
  if (o.resourceGroup) checkIpAddresses(o.ipAddress);
};

export function registerNetworkRuleCommands(kv: Command): void {
  const rule = kv.command('network-rule').description("Manage a vault's network rules (its firewall).");

  withNoWait(withRuleOptions(rule.command('add').description('Add a network rule (an IP address or range) to a vault.'))).action(
    run<RuleOptions>(async (o, s) => {
      const vault = await findVault(s, o.name, o.resourceGroup);
      if (!o.resourceGroup) checkIpAddresses(o.ipAddress);
      o.subnet = subnetId(s, o, vault.id);
      const acls: NetworkAcls = { bypass: 'AzureServices', defaultAction: 'Allow', ...((vault.properties.networkAcls as NetworkAcls | null) ?? {}) };
      if (!o.subnet && !o.ipAddress?.length) s.warn('No subnet or ip address supplied.');
      let changed = false;
      if (o.subnet && !(acls.virtualNetworkRules ?? []).some((r) => r.id.toLowerCase() === o.subnet!.toLowerCase())) {
        acls.virtualNetworkRules = [...(acls.virtualNetworkRules ?? []), { id: o.subnet }];
        changed = true;
      }
      for (const ip of o.ipAddress ?? []) {
        const existing = (acls.ipRules ?? []).find((r) => overlaps(ip, r.value));
        if (existing) {
          s.warn(`IP/CIDR ${ip} overlaps with ${existing.value}, which exists already. Not adding duplicates.`);
          continue;
        }
        acls.ipRules = [...(acls.ipRules ?? []), { value: ip }];
        changed = true;
      }
      // As az: a rule set left as it was is printed (no request, nothing to wait for).
      if (!changed) return asVault(vault);
      const put = await putVault(s, vault, acls);
      return noWait(o) ? undefined : put;
    }, undefined, ipsBeforeLogin),
  );

  withNoWait(withRuleOptions(rule.command('remove').description('Remove a network rule from a vault.'))).action(
    run<RuleOptions>(async (o, s) => {
      const vault = await findVault(s, o.name, o.resourceGroup);
      if (!o.resourceGroup) checkIpAddresses(o.ipAddress);
      o.subnet = subnetId(s, o, vault.id);
      const acls = vault.properties.networkAcls as NetworkAcls | null | undefined;
      if (!acls) return asVault(vault);
      const next: NetworkAcls = { ...acls };
      let changed = false;
      if (o.subnet && acls.virtualNetworkRules) {
        next.virtualNetworkRules = acls.virtualNetworkRules.filter((r) => r.id.toLowerCase() !== o.subnet!.toLowerCase());
        changed ||= next.virtualNetworkRules.length !== acls.virtualNetworkRules.length;
      }
      if (o.ipAddress && acls.ipRules) {
        next.ipRules = acls.ipRules.filter((r) => !o.ipAddress!.some((ip) => sameNetwork(ip, r.value)));
        changed ||= next.ipRules.length !== acls.ipRules.length;
      }
      if (!changed) return asVault(vault);
      const put = await putVault(s, vault, next);
      return noWait(o) ? undefined : put;
    }, undefined, ipsBeforeLogin),
  );

  withOutput(rule.command('list').description("List a vault's network rules."))
    .requiredOption('-n, --name <vault>', 'vault name')
    .option('-g, --resource-group <group>', 'resource group (found by listing when omitted)')
    .action(run<{ name: string; resourceGroup?: string }>(async (o, s) => asNetworkRuleSet((await findVault(s, o.name, o.resourceGroup)).properties.networkAcls)));
}
