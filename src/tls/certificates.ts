import 'reflect-metadata'; // @peculiar/x509 needs the Reflect metadata API
import { X509Certificate as NodeX509, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

// The local CA and the server certificate. ECDSA P-256: small, fast
// handshakes, accepted by Node, Python's ssl, curl and browsers. Material is
// reused across starts and reissued when it nears expiry, no longer covers
// the configured names, or was issued by another CA.

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

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;
const RENEW_BEFORE = 30 * DAY;

function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return (await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as unknown as CryptoKey;
}

const randomSerial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');

async function ensureCa(caDir: string): Promise<{ cert: string; key: string; file: string; created: boolean }> {
  mkdirSync(caDir, { recursive: true, mode: 0o700 });
  const file = join(caDir, 'ca.pem');
  const keyFile = join(caDir, 'ca-key.pem');
  if (existsSync(file) && existsSync(keyFile)) {
    const cert = readFileSync(file, 'utf8');
    if (Date.parse(new NodeX509(cert).validTo) - Date.now() > RENEW_BEFORE) {
      return { cert, key: readFileSync(keyFile, 'utf8'), file, created: false };
    }
  }
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=coffer local CA, O=coffer',
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 10 * 365 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeAtomic(keyFile, await exportKeyPem(keys.privateKey), 0o600);
  writeAtomic(file, ca.toString('pem') + '\n', 0o644);
  return { cert: readFileSync(file, 'utf8'), key: readFileSync(keyFile, 'utf8'), file, created: true };
}

function covers(cert: NodeX509, dnsNames: string[], ips: string[]): boolean {
  const san = cert.subjectAltName ?? '';
  const entries = new Set(san.split(', '));
  return dnsNames.every((n) => entries.has(`DNS:${n}`)) && ips.every((ip) => entries.has(`IP Address:${ip === '::1' ? '0:0:0:0:0:0:0:1' : ip}`) || entries.has(`IP Address:${ip}`));
}

function currentServerCert(certFile: string, keyFile: string, caPem: string, opts: TlsOptions): boolean {
  if (!existsSync(certFile) || !existsSync(keyFile)) return false;
  const cert = new NodeX509(readFileSync(certFile, 'utf8'));
  const ca = new NodeX509(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey) && Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE && covers(cert, opts.dnsNames, opts.ipAddresses);
}

function userMaterial(certFile: string, keyFile: string): TlsMaterial {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(certFile, 'utf8');
    key = readFileSync(keyFile, 'utf8');
  } catch (err) {
    throw new Error(`TLS certificate or key is unreadable: ${(err as Error).message}`);
  }
  let parsed: NodeX509;
  try {
    parsed = new NodeX509(cert);
  } catch {
    throw new Error(`${certFile} is not a PEM certificate`);
  }
  let publicOfKey: string;
  try {
    publicOfKey = createPublicKey(createPrivateKey(key)).export({ format: 'pem', type: 'spki' }).toString();
  } catch {
    throw new Error(`${keyFile} is not a PEM private key`);
  }
  if (parsed.publicKey.export({ format: 'pem', type: 'spki' }).toString() !== publicOfKey) {
    throw new Error(`the private key in ${keyFile} does not match the certificate in ${certFile}`);
  }
  return { cert, key, ca: cert, caFile: certFile, certFile, keyFile, generated: false };
}

export async function ensureTlsMaterial(opts: TlsOptions): Promise<TlsMaterial> {
  if (opts.userCertFile && opts.userKeyFile) return userMaterial(opts.userCertFile, opts.userKeyFile);
  const ca = await ensureCa(opts.caDir);
  mkdirSync(opts.certDir, { recursive: true, mode: 0o700 });
  const certFile = join(opts.certDir, 'server.pem');
  const keyFile = join(opts.certDir, 'server-key.pem');
  let generated = ca.created;
  if (ca.created || !currentServerCert(certFile, keyFile, ca.cert, opts)) {
    const caKey = await importKeyPem(ca.key);
    const caCert = new x509.X509Certificate(ca.cert);
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${opts.dnsNames[0] ?? 'localhost'}, O=coffer`,
      issuer: caCert.subject,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 397 * DAY),
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          ...opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
          ...opts.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
        ]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ],
    });
    writeAtomic(keyFile, await exportKeyPem(keys.privateKey), 0o600);
    writeAtomic(certFile, cert.toString('pem') + '\n', 0o644);
    generated = true;
  }
  chmodSync(keyFile, 0o600);
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), ca: ca.cert, caFile: ca.file, certFile, keyFile, generated };
}

export function describeTrust(caFile: string): string {
  return [
    `coffer created a local CA: ${caFile}`,
    'Trust it in clients:',
    `  Node.js:       NODE_EXTRA_CA_CERTS=${caFile}`,
    `  Python / az:   REQUESTS_CA_BUNDLE=<bundle>  (requests replaces its CA list: use a copy of`,
    `                 /etc/ssl/certs/ca-certificates.crt with ${caFile} appended)`,
    `  System store:  cp ${caFile} /usr/local/share/ca-certificates/coffer-ca.crt && update-ca-certificates`,
  ].join('\n');
}
