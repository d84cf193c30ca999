import { errors } from '../server/errors.js';

// Input rules of Azure Key Vault's secrets API. Each check throws the
// BadParameter error Azure answers with; nothing is stored until all pass.

export const SECRET_NAME_RE = /^[0-9a-zA-Z-]{1,127}$/;
export const VERSION_RE = /^[0-9a-f]{32}$/i;
export const MAX_VALUE_BYTES = 25 * 1024;
export const MAX_CONTENT_TYPE = 255;
export const MAX_TAGS = 15;
export const MAX_TAG_LENGTH = 512;
export const MAX_PAGE = 25;

export interface SecretAttributesInput {
  enabled?: boolean;
  nbf?: number | null;
  exp?: number | null;
}

export interface SetSecretInput {
  value: string;
  contentType: string | null;
  tags: Record<string, string> | null;
  attributes: SecretAttributesInput;
}

export interface UpdateSecretInput {
  contentType?: string | null;
  tags?: Record<string, string> | null;
  attributes: SecretAttributesInput;
}

export function checkSecretName(name: string): string {
  if (!SECRET_NAME_RE.test(name)) throw errors.badParameter(`The request URI contains an invalid name: ${name}`);
  return name;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkBody(body: unknown): Record<string, unknown> {
  if (!isObject(body)) throw errors.badParameter('The request body must be a JSON object.');
  return body;
}

function checkContentType(v: unknown): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'string') throw errors.badParameter('Property contentType must be a string.');
  if (v.length > MAX_CONTENT_TYPE) throw errors.badParameter(`Property contentType exceeds the maximum length of ${MAX_CONTENT_TYPE} characters.`);
  return v;
}

function checkTags(v: unknown): Record<string, string> | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (!isObject(v)) throw errors.badParameter('Property tags must be an object of string values.');
  const entries = Object.entries(v);
  // Key Vault's own answer to a 16th tag (quoted from real certificate and secret answers), CRLF included.
  if (entries.length > MAX_TAGS) throw errors.badParameter('Property has invalid value\r\n');
  for (const [k, val] of entries) {
    if (typeof val !== 'string') throw errors.badParameter(`Tag '${k.slice(0, 64)}' must have a string value.`);
    if (k.length === 0 || k.length > MAX_TAG_LENGTH) throw errors.badParameter(`Tag names must be 1 to ${MAX_TAG_LENGTH} characters long.`);
    if (val.length > MAX_TAG_LENGTH) throw errors.badParameter(`Tag '${k.slice(0, 64)}' has a value longer than ${MAX_TAG_LENGTH} characters.`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function checkTime(name: string, v: unknown): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 253402300799) {
    throw errors.badParameter(`Property attributes.${name} must be a Unix time in seconds.`);
  }
  return v;
}

function checkAttributes(v: unknown): SecretAttributesInput {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw errors.badParameter('Property attributes must be an object.');
  const out: SecretAttributesInput = {};
  if (v.enabled !== undefined && v.enabled !== null) {
    if (typeof v.enabled !== 'boolean') throw errors.badParameter('Property attributes.enabled must be a boolean.');
    out.enabled = v.enabled;
  }
  const nbf = checkTime('nbf', v.nbf);
  const exp = checkTime('exp', v.exp);
  if (nbf !== undefined) out.nbf = nbf;
  if (exp !== undefined) out.exp = exp;
  return out;
}

export function parseSetSecret(body: unknown): SetSecretInput {
  const b = checkBody(body);
  if (typeof b.value !== 'string') throw errors.badParameter('Property value is required and must be a string.');
  // Counted in UTF-8 bytes ("25k bytes", Microsoft says); the message is Key Vault's, which says characters.
  if (Buffer.byteLength(b.value, 'utf8') > MAX_VALUE_BYTES) {
    throw errors.badParameter(`Secret is beyond the maximum permitted length of ${MAX_VALUE_BYTES} characters.`);
  }
  return {
    value: b.value,
    contentType: checkContentType(b.contentType) ?? null,
    tags: checkTags(b.tags) ?? null,
    attributes: checkAttributes(b.attributes),
  };
}

export function parseUpdateSecret(body: unknown): UpdateSecretInput {
  const b = checkBody(body);
  if (b.value !== undefined) throw errors.badParameter('The secret value cannot be changed by an update; set a new version instead.');
  const out: UpdateSecretInput = { attributes: checkAttributes(b.attributes) };
  const contentType = checkContentType(b.contentType);
  const tags = checkTags(b.tags);
  if (contentType !== undefined) out.contentType = contentType;
  if (tags !== undefined) out.tags = tags;
  return out;
}

export function parseRestore(body: unknown): string {
  const b = checkBody(body);
  if (typeof b.value !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(b.value)) {
    throw errors.badParameter('Property value is required and must be a base64url-encoded backup blob.');
  }
  return b.value;
}

export function parseMaxResults(raw: unknown): number {
  if (raw === undefined || raw === '') return MAX_PAGE;
  // Decimal digits only: Number() would take 0x2, 1e1 and ' 2 ', which Key Vault's int32 parameter does not.
  const n = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
    throw errors.badParameter(`Invalid value for maxresults: '${String(raw).slice(0, 32)}'. It must be an integer from 1 to ${MAX_PAGE}.`);
  }
  return n;
}
