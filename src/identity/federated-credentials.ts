import { randomUUID } from 'node:crypto';
import { errors } from '../server/errors.js';
import type { FederatedCredentialRow } from '../storage/store-types.js';

// Graph's federatedIdentityCredential on an application: a token an external
// identity provider (GitHub Actions, a Kubernetes cluster) issued, whose
// issuer, subject and audience match one, signs in as the application
// (client-assertion-federated.ts). Graph's limits: a name of at most 120
// URL-friendly characters, fixed once created; issuer, subject, each
// audience and description at most 600 characters; one audience; an issuer
// and subject pair once per application; at most 20 per application.

export const MAX_FEDERATED_CREDENTIALS = 20;
/** Entra ID's audience for its token exchange, what GitHub and the workload identity webhook ask their token for. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
const MAX_LENGTH = 600;
/** 3 to 120 characters, letters, digits, '-' and '_', starting with a letter or digit (Azure's rule for a credential's name). */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$/;

export const federatedCredentialView = (r: FederatedCredentialRow) => ({
  '@odata.type': '#microsoft.graph.federatedIdentityCredential',
  id: r.id,
  name: r.name,
  issuer: r.issuer,
  subject: r.subject,
  description: r.description,
  audiences: r.audiences,
});

const bad = (message: string) => errors.graphBadRequest(message);

function text(body: Record<string, unknown>, field: string, required: boolean): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw bad(`Property '${field}' is required.`);
    return undefined;
  }
  if (typeof v !== 'string') throw bad(`Property '${field}' must be a string.`);
  if (v.length > MAX_LENGTH) throw bad(`Property '${field}' has a limit of ${MAX_LENGTH} characters.`);
  if (v.includes('\u0000')) throw bad(`Property '${field}' is invalid.`);
  return v;
}

/** An issuer coffer will ever fetch discovery from: an absolute https URL without credentials or fragment. */
function checkIssuer(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw bad(`Issuer '${issuer.slice(0, 128)}' is not a valid URL.`);
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.hash !== '' || url.search !== '') {
    throw bad(`Issuer '${issuer.slice(0, 128)}' must be an https URL without credentials, query or fragment: coffer fetches its OpenID configuration over HTTPS.`);
  }
  return issuer;
}

function audiencesOf(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [TOKEN_EXCHANGE_AUDIENCE];
  if (!Array.isArray(raw) || raw.length !== 1 || typeof raw[0] !== 'string' || raw[0].trim() === '') {
    throw bad("Property 'audiences' must hold exactly one value (Entra ID: 'api://AzureADTokenExchange').");
  }
  if (raw[0].length > MAX_LENGTH) throw bad(`Property 'audiences' has a limit of ${MAX_LENGTH} characters.`);
  return [raw[0]];
}

const KNOWN = new Set(['@odata.type', 'id', 'name', 'issuer', 'subject', 'description', 'audiences']);

function refuseUnknown(body: Record<string, unknown>): void {
  const unknown = Object.keys(body).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) throw bad(`Invalid property '${unknown[0]!.slice(0, 64)}' for a federatedIdentityCredential.`);
}

/** A new credential's row from a Graph create (its seal is added as it is stored). */
export function newFederatedCredential(objectId: string, body: Record<string, unknown>): FederatedCredentialRow {
  refuseUnknown(body);
  const name = text(body, 'name', true)!;
  if (!NAME_RE.test(name)) {
    throw bad(`Property 'name' '${name.slice(0, 128)}' is invalid: 3 to 120 characters, letters, digits, '-' and '_', starting with a letter or digit.`);
  }
  const subject = text(body, 'subject', true)!;
  if (subject.trim() === '') throw bad("Property 'subject' is required.");
  return {
    id: randomUUID(),
    objectId,
    name,
    issuer: checkIssuer(text(body, 'issuer', true)!),
    subject,
    audiences: audiencesOf(body.audiences),
    description: text(body, 'description', false) ?? null,
    mac: null,
  };
}

/** A stored credential changed by a Graph PATCH: its name and id stay. */
export function patchedFederatedCredential(stored: FederatedCredentialRow, body: Record<string, unknown>): FederatedCredentialRow {
  refuseUnknown(body);
  if (body.name !== undefined && body.name !== stored.name) throw bad("Property 'name' is read-only and cannot be changed.");
  if (body.id !== undefined && body.id !== stored.id) throw bad("Property 'id' is read-only and cannot be changed.");
  const issuer = text(body, 'issuer', false);
  const subject = text(body, 'subject', false);
  if (subject !== undefined && subject.trim() === '') throw bad("Property 'subject' is required.");
  return {
    ...stored,
    issuer: issuer === undefined ? stored.issuer : checkIssuer(issuer),
    subject: subject ?? stored.subject,
    audiences: body.audiences === undefined ? stored.audiences : audiencesOf(body.audiences),
    description: body.description === undefined ? stored.description : (text(body, 'description', false) ?? null),
  };
}
