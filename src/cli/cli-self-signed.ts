import 'reflect-metadata'; // @peculiar/x509 resolves its algorithms through tsyringe, which needs it
import { closeSync, openSync, writeSync } from 'node:fs';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { PublicCertificate } from './cli-certificates.js';

// `--create-cert`'s self-signed certificate as az 2.45 makes it
// (role/custom.py, _create_self_signed_cert): RSA 2048, CN=CLI-Login, serial
// 1000, valid a second either side of the credential's dates, written with
// its private key to ~/tmpXXXXXXXX.pem, which only its owner may read.

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

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
