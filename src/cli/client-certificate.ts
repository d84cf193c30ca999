import { createHash, createPrivateKey, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { CliError, unexpectedError } from './cli-error.js';

// A service principal's sign-in with a certificate, as az 2.45's `login
// --service-principal -p cert.pem` (MSAL Python): the PEM file holds the
// private key and the certificate; each token request carries a client
// assertion (RFC 7523) the CLI signs with the key: RS256 with the
// certificate's SHA-1 thumbprint as `x5t` (ES256/ES384 for an EC key, which
// az's MSAL cannot use), iss = sub = the appId, aud = the token endpoint the
// request goes to, valid for ten minutes. The file is read at each sign-in
// and never copied: the profile keeps only its path, as az's does.

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientCertificate {
  key: KeyObject;
  /** The first certificate in the file, DER. */
  der: Buffer;
  /** The certificate, PEM (az's --use-cert-sn-issuer sends it as `x5c`). */
  pem: string;
}

/** A PEM private key under a passphrase: PKCS#8's encrypted block, or a traditional one with OpenSSL's Proc-Type header. */
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type:\s*4,\s*ENCRYPTED/m;
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/i;
const invalid = (detail: string) => new CliError(`Invalid certificate, please use a valid PEM file. Error detail: ${detail}`);

/** Reads a PEM file with the private key and the certificate; az's message for one that is not both. */
export function readClientCertificate(path: string): ClientCertificate {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`${(err as Error).message}`);
  }
  const block = CERT_BLOCK.exec(text)?.[0];
  if (!block) throw invalid("[('PEM routines', '', 'no start line')]");
  let der: Buffer;
  try {
    der = new X509Certificate(block).raw;
  } catch (err) {
    throw invalid((err as Error).message);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (err) {
    // az hands the PEM to MSAL without a passphrase; PyJWT's load_pem_private_key(key, password=None) raises
    // cryptography's TypeError, which az reports as its unexpected error.
    if (ENCRYPTED_KEY.test(text)) throw unexpectedError('Password was not given but private key is encrypted');
    throw new CliError(`The file ${path} holds no private key: a certificate sign-in needs the private key and the certificate in one PEM file.`);
  }
  return { key, der, pem: block };
}

function algorithmOf(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'ES384' : 'ES256';
  throw new CliError(`The certificate's key type (${key.asymmetricKeyType ?? 'unknown'}) cannot sign a client assertion: use RSA or EC.`);
}

/** A client assertion for `clientId` at `tokenEndpoint`. */
export async function clientAssertion(cert: ClientCertificate, clientId: string, tokenEndpoint: string, withChain = false): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header: Record<string, unknown> = { alg: algorithmOf(cert.key), typ: 'JWT', x5t: createHash('sha1').update(cert.der).digest('base64url') };
  if (withChain) header.x5c = [cert.der.toString('base64')];
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader(header as { alg: string })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenEndpoint)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 600)
    .sign(cert.key);
}

/** The form of a token request signed in by certificate. */
export async function certificateForm(path: string, clientId: string, tokenEndpoint: string, scope: string, withChain = false): Promise<Record<string, string>> {
  const assertion = await clientAssertion(readClientCertificate(path), clientId, tokenEndpoint, withChain);
  return { grant_type: 'client_credentials', client_id: clientId, client_assertion_type: JWT_BEARER, client_assertion: assertion, scope };
}
