import { randomUUID } from 'node:crypto';
import { errors } from '../server/errors.js';
import type { KeyCredentialRow } from '../storage/store-types.js';
import { CertificateRefusedError, parseCertificate } from './certificate-parsing.js';
import { iso } from './graph-resources.js';
import { GUID_RE } from './identity-types.js';

// Graph's keyCredentials on an application or service principal: how coffer
// shows them, and how a PATCH's full list (what az sends: the credentials it
// read back, with `key` null, plus the new one with its certificate) becomes
// a change of the stored ones. Certificates (AsymmetricX509Cert, Verify) only.

/** coffer's bound on a principal's certificate credentials. */
export const MAX_KEY_CREDENTIALS = 20;

/** A certificate credential as Graph shows it: never its key; customKeyIdentifier is the certificate's SHA-1 thumbprint. */
export const keyCredentialView = (k: KeyCredentialRow) => ({
  customKeyIdentifier: k.thumbprintSha1,
  displayName: k.displayName,
  endDateTime: iso(k.endAt),
  key: null,
  keyId: k.keyId,
  startDateTime: iso(k.startAt),
  type: 'AsymmetricX509Cert',
  usage: 'Verify',
});

/** The change, and the keyIds it was planned from (the store applies it only over those). */
export type KeyCredentialChange = { add: KeyCredentialRow[]; remove: string[]; expected: string[] };

function dateOf(raw: unknown, name: string): number | null {
  if (raw === undefined || raw === null) return null;
  const t = typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (!Number.isFinite(t)) throw errors.keyCredentialInvalid(`keyCredential.${name} must be an ISO 8601 date and time.`);
  return Math.floor(t / 1000);
}

function checkKind(c: Record<string, unknown>): void {
  if (c.type !== undefined && c.type !== null && c.type !== 'AsymmetricX509Cert') {
    throw errors.keyCredentialInvalid(`keyCredential.type '${String(c.type).slice(0, 64)}' is not supported: coffer keeps certificate credentials (AsymmetricX509Cert) only.`);
  }
  if (c.usage === undefined || c.usage === null || c.usage === 'Verify') return;
  if (c.usage === 'Sign') throw errors.keyCredentialInvalid('keyCredential.usage Sign is not supported: coffer keeps certificates that verify client assertions (Verify) only.');
  throw errors.keyCredentialInvalid('The value for the property "usage" in one of your credentials is invalid. Acceptable values are Sign, Verify.');
}

/** A new credential's row (mac: sealed when stored). */
function newRow(objectId: string, c: Record<string, unknown>, keyId: string): KeyCredentialRow {
  let cert;
  try {
    cert = parseCertificate(c.key);
  } catch (err) {
    if (err instanceof CertificateRefusedError) throw errors.keyCredentialInvalid(err.message);
    throw err;
  }
  // Never valid outside the certificate's own validity: given dates are narrowed to it.
  const startAt = Math.max(dateOf(c.startDateTime, 'startDateTime') ?? cert.notBefore, cert.notBefore);
  const endAt = Math.min(dateOf(c.endDateTime, 'endDateTime') ?? cert.notAfter, cert.notAfter);
  if (endAt <= startAt) throw errors.keyCredentialInvalid("keyCredential.endDateTime must be later than its startDateTime, and both within the certificate's validity.");
  const displayName = typeof c.displayName === 'string' && c.displayName.trim() !== '' ? c.displayName.slice(0, 256) : cert.subject.slice(0, 256) || null;
  return { keyId, objectId, certificate: cert.der, thumbprintSha1: cert.sha1, thumbprintSha256: cert.sha256, displayName, startAt, endAt, mac: null };
}

/**
 * The change a Graph `keyCredentials` list asks for, against the stored ones: an entry naming a stored keyId
 * (without a key, or with the same certificate) keeps it, one with a certificate is added, and a stored one the
 * list leaves out is removed.
 */
export function planKeyCredentials(raw: unknown, stored: KeyCredentialRow[], objectId: string): KeyCredentialChange {
  if (!Array.isArray(raw)) throw errors.graphBadRequest('keyCredentials must be an array.');
  if (raw.length > MAX_KEY_CREDENTIALS) throw errors.keyCredentialInvalid(`An object can have at most ${MAX_KEY_CREDENTIALS} key credentials in coffer; ${raw.length} were given.`);
  const byId = new Map(stored.map((k) => [k.keyId.toLowerCase(), k]));
  const kept = new Set<string>();
  const add: KeyCredentialRow[] = [];
  const thumbprints = new Set<string>();
  for (const entry of raw) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw errors.graphBadRequest('Each keyCredential must be an object.');
    const c = entry as Record<string, unknown>;
    checkKind(c);
    if (c.keyId !== undefined && c.keyId !== null && (typeof c.keyId !== 'string' || !GUID_RE.test(c.keyId))) {
      throw errors.keyCredentialInvalid('keyCredential.keyId must be a GUID.');
    }
    const keyId = typeof c.keyId === 'string' ? c.keyId.toLowerCase() : null;
    const existing = keyId === null ? undefined : byId.get(keyId);
    if (existing) {
      if (kept.has(existing.keyId)) throw errors.keyCredentialInvalid(`keyId ${existing.keyId} is given more than once.`);
      // What Graph reads back carries no key: given again, it must be the same certificate.
      if (c.key !== undefined && c.key !== null) {
        const row = newRow(objectId, c, existing.keyId);
        if (!row.certificate.equals(existing.certificate)) throw errors.keyCredentialInvalid('Update to existing credential with KeyId is not allowed.');
      }
      kept.add(existing.keyId);
      if (thumbprints.has(existing.thumbprintSha256)) throw errors.keyCredentialInvalid('The same certificate is given more than once.');
      thumbprints.add(existing.thumbprintSha256);
      continue;
    }
    if (add.some((k) => k.keyId === keyId)) throw errors.keyCredentialInvalid(`keyId ${keyId} is given more than once.`);
    const row = newRow(objectId, c, keyId ?? randomUUID());
    if (thumbprints.has(row.thumbprintSha256)) throw errors.keyCredentialInvalid('The same certificate is given more than once.');
    thumbprints.add(row.thumbprintSha256);
    add.push(row);
  }
  return { add, remove: stored.filter((k) => !kept.has(k.keyId)).map((k) => k.keyId), expected: stored.map((k) => k.keyId) };
}
