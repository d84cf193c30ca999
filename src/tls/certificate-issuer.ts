import 'reflect-metadata'; // @peculiar/x509 resolves its algorithms through tsyringe, which needs it
import { KeyObject, X509Certificate, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { canonicalIp, decodeNameConstraints, encodeNameConstraints, NAME_CONSTRAINTS_OID, outsideConstraints, type PermittedNames } from './name-constraints.js';

// Issues coffer's local CA and server certificates (see certificates.ts,
// which loads this module only when something must be issued).

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;

export interface IssuedPem {
  certPem: string;
  keyPem: string;
}

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

/** A new self-signed CA, valid ten years, that may vouch only for the permitted names. */
export async function createCaCertificate(permitted: PermittedNames): Promise<IssuedPem> {
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
      // Critical, as RFC 5280 requires: a client that cannot apply it must not trust the CA at all.
      new x509.Extension(NAME_CONSTRAINTS_OID, true, new Uint8Array(encodeNameConstraints(permitted))),
      // Servers only: chain builders (Windows, macOS, NSS, OpenSSL's purpose checks) refuse it for code signing or S/MIME.
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: ca.toString('pem') + '\n', keyPem: keyPem(keys.privateKey) };
}

/**
 * The names a CA's name constraints (as coffer writes them) do not permit;
 * none for a CA without constraints, or with constraints coffer did not write
 * (clients judge those).
 */
export function namesOutsideCa(caCert: X509Certificate, dnsNames: readonly string[], ipAddresses: readonly string[]): string[] {
  const ext = new x509.X509Certificate(caCert.raw).getExtension(NAME_CONSTRAINTS_OID);
  const constraints = ext ? decodeNameConstraints(new Uint8Array(ext.value)) : null;
  return constraints ? outsideConstraints(constraints, dnsNames, ipAddresses) : [];
}

/** A server certificate for these names, signed by the CA, valid 397 days. */
export async function issueServerCertificate(ca: { cert: X509Certificate; key: KeyObject }, dnsNames: string[], ipAddresses: string[]): Promise<IssuedPem> {
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
        ...[...new Set(dnsNames.map((n) => n.toLowerCase()))].map((value) => ({ type: 'dns' as const, value })),
        ...[...new Set(ipAddresses.map(canonicalIp))].map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: keyPem(keys.privateKey) };
}
