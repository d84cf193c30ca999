import 'reflect-metadata'; // @peculiar/x509 resolves its algorithms through tsyringe, which needs it
import { KeyObject, X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as x509 from '@peculiar/x509';

// The local CA and the server certificate it issues. ECDSA P-256: small keys,
// fast handshakes, and accepted by Node, Python's ssl (so az and the Azure
// SDKs), curl and browsers. Material is reused across starts and reissued
// when it nears expiry, stops covering the configured names, or was issued by
// another CA.

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  generated: boolean;
}

export interface TlsOptions {
  caDir: string;
  certDir: string;
  dnsNames: string[];
  ipAddresses: string[];
  userCertFile?: string;
  userKeyFile?: string;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;
const RENEW_BEFORE = 30 * DAY;

interface Pair {
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
  key: KeyObject;
}

// Temp file + fsync + rename: a crash leaves either the old file or the new
// one, never a truncated key.
function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, mode); // the umask may have narrowed or widened it
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function readPair(certFile: string, keyFile: string): Pair | undefined {
  if (!existsSync(certFile) || !existsSync(keyFile)) return undefined;
  const certPem = readFileSync(certFile, 'utf8');
  const keyPem = readFileSync(keyFile, 'utf8');
  return { certPem, keyPem, cert: new X509Certificate(certPem), key: createPrivateKey(keyPem) };
}

const fresh = (cert: X509Certificate) => Date.parse(cert.validFrom) <= Date.now() && Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE;

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

const keyPem = (key: CryptoKey) => KeyObject.from(key as unknown as webcrypto.CryptoKey).export({ type: 'pkcs8', format: 'pem' }).toString();

// Signing parameters for an existing CA key, which may be one a user supplied.
async function importSigningKey(key: KeyObject): Promise<{ key: CryptoKey; alg: Algorithm }> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const curve = { prime256v1: 'P-256', secp384r1: 'P-384' }[key.asymmetricKeyDetails?.namedCurve ?? ''];
  let alg: RsaHashedImportParams | EcKeyImportParams;
  let hash: string;
  if (key.asymmetricKeyType === 'ec' && curve) {
    alg = { name: 'ECDSA', namedCurve: curve };
    hash = curve === 'P-384' ? 'SHA-384' : 'SHA-256';
  } else if (key.asymmetricKeyType === 'rsa') {
    alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    hash = 'SHA-256';
  } else {
    throw new Error(`unsupported CA key type ${key.asymmetricKeyType}; use an RSA, P-256 or P-384 key`);
  }
  const imported = (await webcrypto.subtle.importKey('pkcs8', der, alg, false, ['sign'])) as unknown as CryptoKey;
  return { key: imported, alg: { name: alg.name, hash } as Algorithm };
}

async function ensureCa(caDir: string): Promise<Pair & { file: string; created: boolean }> {
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
  // A key that does not match can only come from an interrupted renewal.
  if (existing && fresh(existing.cert) && existing.cert.checkPrivateKey(existing.key)) return { ...existing, file, created: false };

  const keys = await newKeys();
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex'),
    name: 'CN=coffer local CA, O=coffer',
    notBefore: new Date(now - 3600 * 1000),
    notAfter: new Date(now + 3652 * DAY),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeAtomic(keyFile, keyPem(keys.privateKey), 0o600);
  writeAtomic(file, ca.toString('pem') + '\n', 0o644);
  const pair = readPair(file, keyFile)!;
  return { ...pair, file, created: true };
}

function dnsNamesOf(cert: X509Certificate): Set<string> {
  const san = new x509.X509Certificate(cert.raw).getExtension(x509.SubjectAlternativeNameExtension);
  return new Set((san?.names.items ?? []).filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase()));
}

function usableServerCert(pair: Pair | undefined, ca: X509Certificate, opts: TlsOptions): boolean {
  if (!pair || !fresh(pair.cert) || !pair.cert.checkPrivateKey(pair.key)) return false;
  if (!pair.cert.checkIssued(ca) || !pair.cert.verify(ca.publicKey)) return false;
  const dns = dnsNamesOf(pair.cert);
  return opts.dnsNames.every((n) => dns.has(n.toLowerCase())) && opts.ipAddresses.every((ip) => pair.cert.checkIP(ip) !== undefined);
}

async function issueServerCert(ca: Pair, opts: TlsOptions, certFile: string, keyFile: string): Promise<void> {
  const signer = await importSigningKey(ca.key);
  const caCert = new x509.X509Certificate(ca.cert.raw);
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex'),
    subject: 'CN=coffer server, O=coffer', // clients check the SAN, not the CN
    issuer: caCert.subjectName,
    notBefore: new Date(now - 3600 * 1000),
    notAfter: new Date(now + 397 * DAY), // the longest browsers accept
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...[...new Set(opts.dnsNames.map((n) => n.toLowerCase()))].map((value) => ({ type: 'dns' as const, value })),
        ...[...new Set(opts.ipAddresses)].map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  // Key first: a crash in between leaves a mismatched pair, which is reissued.
  writeAtomic(keyFile, keyPem(keys.privateKey), 0o600);
  writeAtomic(certFile, cert.toString('pem') + '\n', 0o644);
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
  return { cert, key, ca: cert, caFile: certFile, certFile, keyFile, generated: false };
}

export async function ensureTlsMaterial(opts: TlsOptions): Promise<TlsMaterial> {
  if (opts.userCertFile !== undefined || opts.userKeyFile !== undefined) {
    if (!opts.userCertFile || !opts.userKeyFile) throw new Error('a TLS certificate and its key must be given together');
    return userMaterial(opts.userCertFile, opts.userKeyFile);
  }
  if (opts.dnsNames.length + opts.ipAddresses.length === 0) throw new Error('the server certificate needs at least one DNS name or IP address');

  const ca = await ensureCa(opts.caDir);
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
