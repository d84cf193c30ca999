import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

// A certificate credential's certificate as Graph receives it (keyCredential
// `key`: base64 of the DER, as az sends it, possibly with line breaks; or a
// PEM block): parsed, with what coffer keeps of it and what a client
// assertion is checked against. The public part only: a private key sent by
// mistake is named as such and refused.

/** Past this, a `key` is not a certificate any client sends (az's 2048-bit RSA certificates are about 1 KB). */
const MAX_CERTIFICATE_BYTES = 16 * 1024;

export interface ParsedCertificate {
  der: Buffer;
  /** Upper-case hex, as Graph's customKeyIdentifier and Windows' thumbprint show it. */
  sha1: string;
  sha256: string;
  /** The subject as Graph shows a certificate credential's default displayName: `CN=…, O=…` (most specific first). */
  subject: string;
  notBefore: number;
  notAfter: number;
  publicKey: KeyObject;
}

/** Why a `key` was refused: the text is the 400's message. */
export class CertificateRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateRefusedError';
  }
}

const hex = (algorithm: string, der: Buffer) => createHash(algorithm).update(der).digest('hex').toUpperCase();

function isPrivateKey(der: Buffer): boolean {
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      createPrivateKey({ key: der, format: 'der', type });
      return true;
    } catch {
      // not this encoding
    }
  }
  return false;
}

const PRIVATE_KEY_TEXT = 'keyCredential.key holds a private key: send the certificate (its public part) only, and keep the private key to yourself.';

function derOf(raw: string): Buffer {
  let text = raw;
  if (text.includes('-----BEGIN')) {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new CertificateRefusedError(PRIVATE_KEY_TEXT);
    const block = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
    if (!block) throw new CertificateRefusedError('keyCredential.key must be a base64-encoded X.509 certificate.');
    text = block[1]!;
  }
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new CertificateRefusedError('keyCredential.key must be a base64-encoded X.509 certificate.');
  }
  return Buffer.from(compact, 'base64');
}

/** The key types coffer verifies assertions of (RS256/PS256 for RSA, ES256/ES384 for EC). */
function checkKeyType(key: KeyObject): void {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) < 2048) throw new CertificateRefusedError(`The certificate's RSA key has ${details.modulusLength ?? 0} bits: at least 2048 are required.`);
    return;
  }
  if (key.asymmetricKeyType === 'ec' && (details.namedCurve === 'prime256v1' || details.namedCurve === 'secp384r1')) return;
  const what = key.asymmetricKeyType === 'ec' ? `an EC key on ${details.namedCurve ?? 'an unnamed curve'}` : `a key of type ${key.asymmetricKeyType ?? 'unknown'}`;
  throw new CertificateRefusedError(`The certificate has ${what}: coffer accepts RSA keys of 2048 bits or more and EC keys on P-256 or P-384.`);
}

/** Parses a keyCredential's `key`; throws CertificateRefusedError for anything but a usable X.509 certificate. */
export function parseCertificate(raw: unknown): ParsedCertificate {
  if (typeof raw !== 'string' || raw.trim() === '') throw new CertificateRefusedError('KeyValue cannot be null or empty.');
  if (raw.length > MAX_CERTIFICATE_BYTES * 2) throw new CertificateRefusedError(`keyCredential.key is too large: a certificate is at most ${MAX_CERTIFICATE_BYTES} bytes.`);
  const der = derOf(raw);
  if (der.length > MAX_CERTIFICATE_BYTES) throw new CertificateRefusedError(`keyCredential.key is too large: a certificate is at most ${MAX_CERTIFICATE_BYTES} bytes.`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw new CertificateRefusedError(isPrivateKey(der) ? PRIVATE_KEY_TEXT : 'keyCredential.key is not a valid X.509 certificate.');
  }
  // X509Certificate also reads PEM: only DER (what was decoded) is kept, so the bytes are the certificate's own.
  const canonical = cert.raw;
  checkKeyType(cert.publicKey);
  const notBefore = Math.floor(Date.parse(cert.validFrom) / 1000);
  const notAfter = Math.floor(Date.parse(cert.validTo) / 1000);
  if (!Number.isFinite(notBefore) || !Number.isFinite(notAfter)) throw new CertificateRefusedError('The certificate\'s validity dates could not be read.');
  const subject = cert.subject.split('\n').filter(Boolean).reverse().join(', ');
  return { der: canonical, sha1: hex('sha1', canonical), sha256: hex('sha256', canonical), subject, notBefore, notAfter, publicKey: cert.publicKey };
}

/** A stored certificate's public key (stored rows were parsed when written; null if it no longer parses). */
export function publicKeyOf(der: Buffer): KeyObject | null {
  try {
    return new X509Certificate(der).publicKey;
  } catch {
    return null;
  }
}
