import { isIP } from 'node:net';

// X.509 name constraints (RFC 5280 §4.2.1.10) for coffer's local CA: the CA
// may only vouch for the names the deployment serves. Users are told to
// trust it system-wide; without constraints anyone who read its key could
// impersonate any site to them. Only permitted subtrees of DNS names and IP
// addresses (and e-mail and URI names confined to nowhere), which is all
// coffer writes, and all this module reads back.

export const NAME_CONSTRAINTS_OID = '2.5.29.30';

export interface PermittedNames {
  /** DNS subtrees: each name and every name under it. */
  dns: string[];
  /** Address ranges as CIDR (`127.0.0.0/8`, `::1/128`). */
  ip: string[];
}

/** What a new CA permits: everything local, and the names this deployment serves (each with its subdomains). */
export function permittedFor(dnsNames: readonly string[], ipAddresses: readonly string[]): PermittedNames {
  const dns = new Set(['localhost', ...dnsNames.map((n) => n.toLowerCase().replace(/^\*\./, ''))]);
  const ip = new Set(['127.0.0.0/8', '::1/128', ...ipAddresses.map((a) => `${a}/${isIP(a) === 6 ? 128 : 32}`)]);
  return { dns: [...dns], ip: [...ip] };
}

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  if (n > 0xffff) throw new RangeError('a name constraint longer than 65,535 bytes');
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const ipv4Bytes = (address: string) => address.split('.').map(Number);

function addressBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(ipv4Bytes(address));
  if (isIP(address) !== 6) throw new RangeError(`not an IP address: ${address}`);
  // IPv6: a trailing dotted IPv4 part (::ffff:1.2.3.4) is the last two groups; expand `::` to eight 16-bit groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  const [a, b, c, d] = dotted ? ipv4Bytes(dotted[2]!) : [];
  const text = dotted ? `${dotted[1]}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}` : address;
  const [head = '', tail] = text.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const fill = tail === undefined ? [] : Array<string>(8 - groups(head).length - groups(tail).length).fill('0');
  return Buffer.from([...groups(head), ...fill, ...groups(tail ?? '')].flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

function maskBytes(bits: number, size: number): Buffer {
  return Buffer.from(Array.from({ length: size }, (_, i) => (bits >= 8 * (i + 1) ? 0xff : bits <= 8 * i ? 0 : (0xff << (8 - (bits - 8 * i))) & 0xff)));
}

/**
 * An address in a form every encoder reads alike: IPv6 as eight hex groups
 * (@peculiar/x509 misreads a dotted IPv4 tail such as ::ffff:10.1.2.3).
 */
export function canonicalIp(address: string): string {
  if (isIP(address) !== 6) return address;
  const bytes = addressBytes(address);
  return Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16)).join(':');
}

/**
 * E-mail addresses and URIs are confined to the reserved `.invalid` domain:
 * the CA vouches for servers only, never for a mailbox or a URI.
 */
const NOWHERE = '.invalid';

/** The extension's DER value: NameConstraints { permittedSubtrees [0] }. */
export function encodeNameConstraints(p: PermittedNames): Buffer {
  const subtree = (generalName: Buffer) => der(0x30, generalName);
  const nowhere = [0x81, 0x86].map((tag) => subtree(der(tag, Buffer.from(NOWHERE, 'ascii'))));
  const dns = p.dns.map((name) => subtree(der(0x82, Buffer.from(name, 'ascii'))));
  const ips = p.ip.map((cidr) => {
    const [address = '', bits = ''] = cidr.split('/');
    const bytes = addressBytes(address);
    return subtree(der(0x87, Buffer.concat([bytes, maskBytes(Number(bits), bytes.length)])));
  });
  return der(0x30, der(0xa0, Buffer.concat([...nowhere, ...dns, ...ips])));
}

/** Reads back what encodeNameConstraints writes; null for anything else (then it is not coffer's to judge). */
export function decodeNameConstraints(value: Uint8Array): { dns: string[]; ip: Array<{ address: Buffer; mask: Buffer }> } | null {
  const buf = Buffer.from(value);
  const read = (at: number) => {
    const tag = buf[at]!;
    let len = buf[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const count = len & 0x7f;
      len = [...buf.subarray(start, start + count)].reduce((n, b) => n * 256 + b, 0);
      start += count;
    }
    return { tag, start, end: start + len };
  };
  try {
    const outer = read(0);
    const permitted = read(outer.start);
    if (outer.tag !== 0x30 || permitted.tag !== 0xa0 || permitted.end !== outer.end || outer.end !== buf.length) return null;
    const out = { dns: [] as string[], ip: [] as Array<{ address: Buffer; mask: Buffer }> };
    for (let at = permitted.start; at < permitted.end; ) {
      const subtree = read(at);
      const name = read(subtree.start);
      if (subtree.tag !== 0x30 || name.end !== subtree.end) return null;
      const content = buf.subarray(name.start, name.end);
      // E-mail and URI subtrees (0x81, 0x86) do not bear on the names a server certificate holds.
      if (name.tag === 0x81 || name.tag === 0x86) {
        at = subtree.end;
        continue;
      }
      if (name.tag === 0x82) out.dns.push(content.toString('ascii').toLowerCase());
      else if (name.tag === 0x87 && (content.length === 8 || content.length === 32)) {
        out.ip.push({ address: content.subarray(0, content.length / 2), mask: content.subarray(content.length / 2) });
      } else return null;
      at = subtree.end;
    }
    return out;
  } catch {
    return null;
  }
}

/** The names (DNS names, wildcards included, and IP addresses) the constraints do not permit. */
export function outsideConstraints(c: NonNullable<ReturnType<typeof decodeNameConstraints>>, dnsNames: readonly string[], ipAddresses: readonly string[]): string[] {
  const dnsOk = (name: string) => {
    const n = name.toLowerCase().replace(/^\*\./, '');
    return c.dns.some((s) => n === s || n.endsWith(`.${s}`));
  };
  const ipOk = (address: string) => {
    const bytes = addressBytes(address);
    return c.ip.some((r) => r.address.length === bytes.length && bytes.every((b, i) => (b & r.mask[i]!) === (r.address[i]! & r.mask[i]!)));
  };
  return [...dnsNames.filter((n) => !dnsOk(n)), ...ipAddresses.filter((a) => !ipOk(a))];
}
