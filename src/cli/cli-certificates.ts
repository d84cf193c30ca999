import { X509Certificate } from 'node:crypto';
import { CliError } from './cli-error.js';

// The certificates of az 2.45's credential commands (role/custom.py):
// `--cert` read as a PEM or DER (base64) public certificate
// (_try_x509_pem, _try_x509_der). `--create-cert`'s self-signed one is made
// by cli-self-signed.ts, loaded only then (its X.509 library costs every
// other command a fifth of its start).

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
