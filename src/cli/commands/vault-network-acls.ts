import { CliError, unexpectedError } from '../cli-error.js';
import { PyBytes, PyDict, PySet, PyTuple, PyTypeError, pyContains, pyIterate, pyStr, pyTruthy, pyTypeName, type PyValue } from '../py-value.js';

// keyvault create's rules (az's _parse_network_acls): --network-acls (a dict with `ip` and `vnet` lists),
// with --network-acls-ips and --network-acls-vnets added to its lists, each value once. az reads the JSON as
// Python does, so a value of another shape fails where az's code fails on it, with the same TypeError or
// AttributeError, reported as az reports an error it did not expect.

export interface NetworkRuleInput {
  /** --network-acls, as validate_file_or_dict read it. */
  json?: PyValue;
  ips?: string[];
  vnets?: string[];
  resourceGroup: string;
  subscriptionId: string;
}

/** Whether az builds rules (with an empty or false --network-acls and no lists, its defaults instead). */
export const hasNetworkRules = (o: NetworkRuleInput) => (o.json !== undefined && pyTruthy(o.json)) || !!o.ips?.length || !!o.vnets?.length;

/** container[key] = value */
function setItem(container: PyValue, key: string, value: PyValue[]): void {
  if (container instanceof PyDict) return void container.set(key, value);
  if (Array.isArray(container)) throw new PyTypeError('list indices must be integers or slices, not str');
  throw new PyTypeError(`'${pyTypeName(container)}' object does not support item assignment`);
}

/** container[key], on what `key in container` found it in. */
function getItem(container: PyValue, key: string): PyValue {
  if (container instanceof PyDict) return container.get(key)!;
  if (typeof container === 'string') throw new PyTypeError("string indices must be integers, not 'str'");
  if (container instanceof PySet) throw new PyTypeError("'set' object is not subscriptable");
  throw new PyTypeError(`${container instanceof PyTuple ? 'tuple' : 'list'} indices must be integers or slices, not str`);
}

/** container.get(key, []) */
function getOr(container: PyValue, key: string): PyValue {
  if (!(container instanceof PyDict)) throw new PyTypeError(`'${pyTypeName(container)}' object has no attribute 'get'`);
  return container.has(key) ? container.get(key)! : [];
}

/** Adds each value not yet in container[key] (az's loop over --network-acls-ips or -vnets). */
function addMissing(container: PyValue, key: string, values: string[] | undefined): void {
  for (const value of values ?? []) {
    const list = getItem(container, key);
    if (pyContains(list, value)) continue;
    if (!Array.isArray(list)) throw new PyTypeError(`'${pyTypeName(list)}' object has no attribute 'append'`);
    list.push(value);
  }
}

function vnetRule(rule: PyValue, o: NetworkRuleInput): { id: string } {
  // bytes has a split(), which refuses a str separator.
  if (rule instanceof PyBytes) throw new PyTypeError("a bytes-like object is required, not 'str'");
  if (typeof rule !== 'string') throw new PyTypeError(`'${pyTypeName(rule)}' object has no attribute 'split'`);
  const parts = rule.split('/');
  if (parts.length === 2) {
    const [vnet, subnet] = parts.map((p) => p.toLowerCase());
    return { id: `/subscriptions/${o.subscriptionId}/resourceGroups/${o.resourceGroup}/providers/Microsoft.Network/virtualNetworks/${vnet}/subnets/${subnet}` };
  }
  // msrestazure's is_valid_resource_id: a subscription, a group, a provider, a type and a name.
  if (!/^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/[^/]+\/[^/]+\/[^/]+/i.test(rule)) {
    throw new CliError(`Invalid VNet rule: ${rule}. Format: {vnet_name}/{subnet_name} or {subnet_id}`);
  }
  return { id: rule.toLowerCase() };
}

/** The rule set's virtualNetworkRules and ipRules, as az's create sends them. */
export function networkRules(o: NetworkRuleInput): { virtualNetworkRules: Array<{ id: string }>; ipRules: Array<{ value: string }> } {
  try {
    const acls = o.json === undefined || o.json === null ? new PyDict() : o.json;
    for (const key of ['ip', 'vnet']) if (!pyContains(acls, key)) setItem(acls, key, []);
    addMissing(acls, 'ip', o.ips);
    addMissing(acls, 'vnet', o.vnets);
    const virtualNetworkRules = pyIterate(getOr(acls, 'vnet')).map((rule) => vnetRule(rule, o));
    const ips = pyIterate(getOr(acls, 'ip'));
    // msrest checks the model when it sends it: after every rule is read.
    if (ips.includes(null)) throw new CliError("Parameter 'IPRule.value' can not be None.");
    return { virtualNetworkRules, ipRules: ips.map((ip) => ({ value: pyStr(ip) })) };
  } catch (err) {
    if (err instanceof PyTypeError) throw unexpectedError(err.message);
    throw err;
  }
}
