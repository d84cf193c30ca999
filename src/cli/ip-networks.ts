import { isIP } from 'node:net';
import { CliError } from './cli-error.js';

// Python's ipaddress.ip_network (strict), as az's keyvault code reads an --ip-address: an address alone is its
// own /32 or /128, a prefix is decimal digits, host bits set are refused, and str() gives the network in
// Python's spelling (IPv6 lowercased and compressed as RFC 5952, which the WHATWG URL serializer also follows).

export interface IpNetwork {
  family: 4 | 6;
  /** The network address as a number. */
  address: bigint;
  prefix: number;
  /** str(ip_network(value)). */
  text: string;
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

function addressNumber(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((n, part) => (n << 8n) | BigInt(part), 0n);
  const hextets = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const [head = '', tail] = hextets.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((n, h) => (n << 16n) | BigInt(parseInt(h, 16)), 0n);
}

function addressText(n: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((n >> shift) & 255n)).join('.');
  const hextets = Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return new URL(`http://[${hextets.join(':')}]`).hostname.slice(1, -1);
}

/** ip_network(value): the network, or Python's ValueError text (which az reports as an argparse error, exit 2). */
export function ipNetwork(value: string): IpNetwork {
  const refused = () => new CliError(`'${value}' does not appear to be an IPv4 or IPv6 network`, undefined, 2);
  const parts = value.split('/');
  if (parts.length > 2) throw refused();
  const [address = '', bits] = parts;
  const version = isIP(address);
  if (version === 0 || address.includes('%')) throw refused();
  const family = version as 4 | 6;
  const max = bitsOf(family);
  const prefix = bits === undefined ? max : /^[0-9]+$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) throw refused();
  const n = addressNumber(address, family);
  const text = `${addressText(n, family)}/${prefix}`;
  const hostMask = (1n << BigInt(max - prefix)) - 1n;
  if ((n & hostMask) !== 0n) throw new CliError(`${text} has host bits set`, undefined, 2);
  return { family, address: n, prefix, text };
}

/** a.overlaps(b): one holds the other's network address (networks of two families never overlap). */
export function networksOverlap(a: IpNetwork, b: IpNetwork): boolean {
  if (a.family !== b.family) return false;
  const holds = (net: IpNetwork, n: bigint) => n >> BigInt(bitsOf(net.family) - net.prefix) === net.address >> BigInt(bitsOf(net.family) - net.prefix);
  return holds(a, b.address) || holds(b, a.address);
}

/** az's validate_ip_address (keyvault network-rule add | remove): every address read, then no two may overlap. */
export function checkIpAddresses(values: string[] | undefined): void {
  if (!values?.length) return;
  const networks = values.map(ipNetwork);
  networks.forEach((a, i) =>
    networks.forEach((b, j) => {
      if (i !== j && networksOverlap(a, b)) throw new CliError(`ip addresses ${a.text} and ${b.text} provided are overlapping: --ip_address ip1 [ip2]...`);
    }),
  );
}
