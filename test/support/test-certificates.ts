import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Self-signed certificates for certificate credentials, made with openssl:
// RSA (2048 or a given size) or EC on a named curve, valid from now or over
// given past dates (an expired one, through `openssl ca`).

export interface TestCertificate {
  name: string;
  /** The private key, PKCS#8 PEM. */
  keyPem: string;
  certPem: string;
  der: Buffer;
  /** Key and certificate in one PEM file, as az and the SDKs read them. */
  combinedPath: string;
  /** The certificate alone (what `az ad app credential reset --cert @file` reads). */
  certPath: string;
  /** base64 of the DER, as a Graph keyCredential's `key`. */
  base64: string;
  x5t: string;
  x5tS256: string;
  sha1Hex: string;
}

const dir = mkdtempSync(join(tmpdir(), 'coffer-certs-'));
const openssl = (args: string[], cwd = dir) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

function keyArgs(key: { rsa?: number; curve?: string }): string[] {
  return key.curve ? ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${key.curve}`] : ['-newkey', `rsa:${key.rsa ?? 2048}`];
}

/** A self-signed certificate; `expired`: valid in 2020 only. */
export function makeCertificate(name: string, key: { rsa?: number; curve?: string } = {}, opts: { expired?: boolean } = {}): TestCertificate {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.crt`);
  if (!opts.expired) {
    openssl(['req', '-x509', '-nodes', ...keyArgs(key), '-keyout', keyPath, '-out', certPath, '-days', '30', '-subj', `/O=coffer tests/CN=${name}`]);
  } else {
    const ca = join(dir, `${name}-ca`);
    mkdirSync(join(ca, 'newcerts'), { recursive: true });
    writeFileSync(join(ca, 'index.txt'), '');
    writeFileSync(join(ca, 'serial'), '01\n');
    const conf = join(ca, 'ca.cnf');
    writeFileSync(conf, `[ca]\ndefault_ca=d\n[d]\ndir=${ca}\ndatabase=${ca}/index.txt\nnew_certs_dir=${ca}/newcerts\nserial=${ca}/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n`);
    const csr = join(dir, `${name}.csr`);
    openssl(['req', '-new', '-nodes', ...keyArgs(key), '-keyout', keyPath, '-out', csr, '-subj', `/CN=${name}`]);
    openssl(['ca', '-batch', '-config', conf, '-selfsign', '-keyfile', keyPath, '-in', csr, '-startdate', '20200101000000Z', '-enddate', '20201231000000Z', '-out', certPath, '-notext']);
  }
  const certPem = readFileSync(certPath, 'utf8');
  const keyPem = readFileSync(keyPath, 'utf8');
  const der = new X509Certificate(certPem).raw;
  const combinedPath = join(dir, `${name}.pem`);
  writeFileSync(combinedPath, keyPem + certPem);
  return {
    name,
    keyPem,
    certPem,
    der,
    combinedPath,
    certPath,
    base64: der.toString('base64'),
    x5t: createHash('sha1').update(der).digest('base64url'),
    x5tS256: createHash('sha256').update(der).digest('base64url'),
    sha1Hex: createHash('sha1').update(der).digest('hex').toUpperCase(),
  };
}
