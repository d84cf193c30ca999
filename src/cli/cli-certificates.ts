import 'reflect-metadata'; // @peculiar/x509 resolves its algorithms through tsyringe, which needs it
import { closeSync, openSync, writeSync } from 'node:fs';
import { KeyObject, X509Certificate, randomBytes, webcrypto } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { CliError } from './cli-error.js';

// The certificates of az 2.45's credential commands (role/custom.py):
// `--cert` read as a PEM or DER (base64) public certificate
// (_try_x509_pem, _try_x509_der), and `--create-cert`'s self-signed one
// (_create_self_signed_cert): RSA 2048, CN=CLI-Login, serial 1000, valid a
// second either side of the credential's dates, written with its private
// key to ~/tmpXXXXXXXX.pem, which only its owner may read.

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface PublicCertificate {
  /** The base64 DER sent as a keyCredential's `key`. */
  key: string;
  notBefore: Date;
  notAfter: Date;
}

const parse = (text: string | Buffer): X509Certificate | null => {
  try {
    return new X509Certificate(text);
  } catch {
    return null;
  }
};

/**
 * Python's base64.b64decode (not validating) of what is not a PEM certificate: characters outside the alphabet are
 * skipped, and a wrong length is its error, which az 2.45 prints unhandled (exit 2).
 */
function pythonBase64Check(value: string): void {
  let quad = 0;
  let data = 0;
  let pads = 0;
  for (const ch of value) {
    if (ch === '=') {
      if (quad >= 2 && quad + ++pads >= 4) return;
      continue;
    }
    if (!/[A-Za-z0-9+/]/.test(ch)) continue;
    pads = 0;
    data++;
    quad = (quad + 1) % 4;
  }
  if (quad === 1) throw new CliError(`Invalid base64-encoded string: number of data characters (${data}) cannot be 1 more than a multiple of 4`, undefined, 2);
  if (quad !== 0) throw new CliError('Incorrect padding', undefined, 2);
}

/** `--cert STRING` as az's validate_cert reads it: PEM, PEM without its header lines, or base64 DER. */
export function readPublicCertificate(value: string): PublicCertificate {
  const body = value.replace(/\s+/g, '');
  const block = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(value)?.[0];
  const pem = block ? parse(block) : null;
  if (!pem) pythonBase64Check(value);
  const cert = pem ?? (/^[A-Za-z0-9+/]+=*$/.test(body) ? parse(Buffer.from(body, 'base64')) : null);
  // A private key is never sent: az's PEM loader reads only the certificate of a file that holds both.
  if (!cert) throw new CliError('usage error: --cert STRING | --cert NAME --keyvault VAULT');
  return { key: cert.raw.toString('base64'), notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;

/** A file name as Python's tempfile makes them: tmp and eight of [a-z0-9_]. */
function tempName(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789_';
  return `tmp${[...randomBytes(8)].map((b) => chars[b % chars.length]).join('')}.pem`;
}

/** A new self-signed certificate for [start, end], its PEM with the private key written to the home folder (0600). */
export async function createSelfSignedCertificate(start: Date, end: Date): Promise<PublicCertificate & { file: string }> {
  const keys = (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const notBefore = new Date(Math.floor(start.getTime() / 1000) * 1000 - 1000);
  const notAfter = new Date(Math.floor(end.getTime() / 1000) * 1000 + 1000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '03e8', name: 'CN=CLI-Login', notBefore, notAfter, keys, signingAlgorithm: RSA });
  const keyPem = KeyObject.from(keys.privateKey as unknown as webcrypto.CryptoKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  const file = join(homedir(), tempName());
  // Created, never overwritten, and the owner's alone from the start.
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, keyPem + cert.toString('pem') + '\n');
  } finally {
    closeSync(fd);
  }
  return { key: Buffer.from(cert.rawData).toString('base64'), notBefore, notAfter, file };
}
