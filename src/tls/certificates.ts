import { KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { isIP } from 'node:net';
import { join } from 'node:path';

// The local CA and the server certificate it issues. ECDSA P-256: small keys,
// fast handshakes, and accepted by Node, Python's ssl (so az and the Azure
// SDKs), curl and browsers. Material is reused across starts and reissued
// when it nears expiry, stops covering the configured names, or was issued by
// another CA. Issuing lives in certificate-issuer.ts, loaded only when
// something must be issued: its X.509 library costs the server several MB
// of memory for as long as it runs.

export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  generated: boolean;
  /** coffer's own CA, made before CAs carried name constraints: it can vouch for any name (worth a warning). */
  unconstrainedCa: boolean;
}

export interface TlsOptions {
  caDir: string;
  certDir: string;
  dnsNames: string[];
  ipAddresses: string[];
  userCertFile?: string;
  userKeyFile?: string;
}

/**
 * The subjectAltName entries for the hosts a certificate must serve: an IP
 * address (IPv6 with or without brackets) is an IP address entry, which is
 * what clients check an address against; anything else a DNS name.
 */
export function subjectAltNames(hosts: readonly string[]): Pick<TlsOptions, 'dnsNames' | 'ipAddresses'> {
  const bare = (h: string) => h.replace(/^\[(.*)\]$/, '$1');
  const ips = hosts.map(bare).filter((h) => isIP(h) !== 0);
  return { dnsNames: [...new Set(hosts.filter((h) => isIP(bare(h)) === 0))], ipAddresses: [...new Set(ips)] };
}

/** The server's TLS files in its data dir, for the names it serves (--public-host may be an IP address: then an IP address entry). */
export function serverTlsOptions(c: { dataDir: string; tlsCaDir?: string; publicHost: string; vaultDnsSuffix: string; tlsCert?: string; tlsKey?: string }): TlsOptions {
  return {
    caDir: c.tlsCaDir ?? join(c.dataDir, 'tls'),
    certDir: join(c.dataDir, 'tls'),
    ...subjectAltNames(['localhost', '127.0.0.1', '::1', c.publicHost, c.vaultDnsSuffix, `*.${c.vaultDnsSuffix}`]),
    userCertFile: c.tlsCert,
    userKeyFile: c.tlsKey,
  };
}

const DAY = 24 * 3600 * 1000;
const RENEW_BEFORE = 30 * DAY;

interface Pair {
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
  key: KeyObject;
}

function readPair(certFile: string, keyFile: string): Pair | undefined {
  if (!existsSync(certFile) || !existsSync(keyFile)) return undefined;
  const certPem = readFileSync(certFile, 'utf8');
  const keyPem = readFileSync(keyFile, 'utf8');
  return { certPem, keyPem, cert: new X509Certificate(certPem), key: createPrivateKey(keyPem) };
}

const fresh = (cert: X509Certificate) => Date.parse(cert.validFrom) <= Date.now() && Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE;

// The name constraints extension's OID (2.5.29.30) as DER: found in a certificate's bytes without parsing them.
const NAME_CONSTRAINTS_DER = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x1e]);
const isCoffersCa = (cert: X509Certificate) => /\bCN=coffer local CA\b/.test(cert.subject.replaceAll('\n', ', '));

async function ensureCa(caDir: string, names: Pick<TlsOptions, 'dnsNames' | 'ipAddresses'>): Promise<Pair & { file: string; created: boolean }> {
  mkdirSync(caDir, { recursive: true, mode: 0o700 });
  const file = join(caDir, 'ca.pem');
  const keyFile = join(caDir, 'ca-key.pem');
  let existing: Pair | undefined;
  try {
    existing = readPair(file, keyFile);
  } catch (err) {
    throw new Error(`the CA in ${caDir} is unreadable (${(err as Error).message}); fix or remove ca.pem and ca-key.pem`);
  }
  if (existing && !existing.cert.ca) throw new Error(`${file} is not a CA certificate; fix or remove ca.pem and ca-key.pem`);
  if (existing && (statSync(keyFile).mode & 0o077) !== 0) chmodSync(keyFile, 0o600);
  // A key that does not match can only come from an interrupted renewal.
  if (existing && fresh(existing.cert) && existing.cert.checkPrivateKey(existing.key)) return { ...existing, file, created: false };
  // Only coffer's own CA is renewed here: someone else's (given with --tls-ca-dir) is theirs to renew, and its key is not ours to overwrite.
  if (existing && !isCoffersCa(existing.cert)) {
    throw new Error(`the CA in ${caDir} is not coffer's and is ${fresh(existing.cert) ? 'not the pair of its key' : 'about to expire or expired'}; renew it, or remove ca.pem and ca-key.pem to let coffer make its own`);
  }

  const { createCaCertificate } = await import('./certificate-issuer.js');
  const { permittedFor } = await import('./name-constraints.js');
  const ca = await createCaCertificate(permittedFor(names.dnsNames, names.ipAddresses));
  writeFileAtomic(keyFile, ca.keyPem, 0o600);
  writeFileAtomic(file, ca.certPem, 0o644);
  const pair = readPair(file, keyFile)!;
  return { ...pair, file, created: true };
}

/** The DNS names of the certificate's subjectAltName, lower-cased ("DNS:a, DNS:b, IP Address:127.0.0.1"). */
function dnsNamesOf(cert: X509Certificate): Set<string> {
  const names = (cert.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('DNS:'));
  return new Set(names.map((n) => n.slice(4).toLowerCase()));
}

function usableServerCert(pair: Pair | undefined, ca: X509Certificate, opts: TlsOptions): boolean {
  if (!pair || !fresh(pair.cert) || !pair.cert.checkPrivateKey(pair.key)) return false;
  if (!pair.cert.checkIssued(ca) || !pair.cert.verify(ca.publicKey)) return false;
  const dns = dnsNamesOf(pair.cert);
  return opts.dnsNames.every((n) => dns.has(n.toLowerCase())) && opts.ipAddresses.every((ip) => pair.cert.checkIP(ip) !== undefined);
}

async function issueServerCert(ca: Pair, opts: TlsOptions, certFile: string, keyFile: string): Promise<void> {
  const { issueServerCertificate, namesOutsideCa } = await import('./certificate-issuer.js');
  // A certificate the CA may not vouch for would be refused by every client, with a less helpful message.
  const outside = namesOutsideCa(ca.cert, opts.dnsNames, opts.ipAddresses);
  if (outside.length > 0) {
    throw new Error(
      `the CA in ${opts.caDir} may only vouch for the names it was made for, not ${outside.join(', ')}; ` +
        'remove its ca.pem and ca-key.pem to let coffer make a CA for the names served now (then trust the new one), or give a certificate with --tls-cert and --tls-key',
    );
  }
  const cert = await issueServerCertificate(ca, opts.dnsNames, opts.ipAddresses);
  // Key first: a crash in between leaves a mismatched pair, which is reissued.
  writeFileAtomic(keyFile, cert.keyPem, 0o600);
  writeFileAtomic(certFile, cert.certPem, 0o644);
}

function userMaterial(certFile: string, keyFile: string): TlsMaterial {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const cert = read(certFile, 'certificate');
  const key = read(keyFile, 'key');
  let parsed: X509Certificate;
  let privateKey: KeyObject;
  try {
    parsed = new X509Certificate(cert);
  } catch {
    throw new Error(`${certFile} does not hold a PEM certificate`);
  }
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`${keyFile} does not hold an unencrypted PEM private key (${(err as Error).message})`);
  }
  if (!parsed.checkPrivateKey(privateKey)) throw new Error(`the private key in ${keyFile} does not match the certificate in ${certFile}`);
  // Whoever issued it is unknown here; the certificate file (often with its chain) is the best trust hint.
  return { cert, key, ca: cert, caFile: certFile, certFile, keyFile, generated: false, unconstrainedCa: false };
}

export async function ensureTlsMaterial(opts: TlsOptions): Promise<TlsMaterial> {
  if (opts.userCertFile !== undefined || opts.userKeyFile !== undefined) {
    if (!opts.userCertFile || !opts.userKeyFile) throw new Error('a TLS certificate and its key must be given together');
    return userMaterial(opts.userCertFile, opts.userKeyFile);
  }
  if (opts.dnsNames.length + opts.ipAddresses.length === 0) throw new Error('the server certificate needs at least one DNS name or IP address');

  const ca = await ensureCa(opts.caDir, opts);
  mkdirSync(opts.certDir, { recursive: true, mode: 0o700 });
  const certFile = join(opts.certDir, 'server.pem');
  const keyFile = join(opts.certDir, 'server-key.pem');
  let current: Pair | undefined;
  try {
    current = readPair(certFile, keyFile);
  } catch {
    current = undefined; // derived material: a damaged pair is simply reissued
  }
  const reissue = !usableServerCert(current, ca.cert, opts);
  if (reissue) await issueServerCert(ca, opts, certFile, keyFile);
  else chmodSync(keyFile, 0o600); // keep a key someone loosened private
  return {
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    ca: ca.certPem,
    caFile: ca.file,
    certFile,
    keyFile,
    generated: ca.created || reissue,
    unconstrainedCa: isCoffersCa(ca.cert) && !Buffer.from(ca.cert.raw).includes(NAME_CONSTRAINTS_DER),
  };
}

export function describeTrust(caFile: string): string {
  return [
    `coffer's local CA is ${caFile}. To trust it:`,
    `  Node.js:       NODE_EXTRA_CA_CERTS=${caFile}`,
    `  Python / az:   REQUESTS_CA_BUNDLE=${caFile}`,
    `                 (this replaces the default CA list; to keep reaching other HTTPS sites, point it at`,
    `                 a copy of /etc/ssl/certs/ca-certificates.crt with ${caFile} appended)`,
    `  Debian system: cp ${caFile} /usr/local/share/ca-certificates/coffer-ca.crt && update-ca-certificates`,
  ].join('\n');
}
