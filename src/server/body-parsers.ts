import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors, OAuthError, type ServiceError } from './errors.js';

// JSON bodies may be empty (the Key Vault SDKs send body-less POSTs and an
// empty first request before the auth challenge). Malformed JSON is Azure's
// BadParameter, not a framework error.
//
// U+0000 is refused in every field but a secret's value (which is only ever
// stored encrypted): PostgreSQL's text cannot hold it, so it would fail a
// write there that SQLite takes, and no name, tag or description needs it.

const NUL = '\u0000';
/** A \\uD800–\\uDFFF escape: paired (fine) or lone. */
const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Arrays and objects nested deeper than this are refused before anything
 * parses or walks the body: no Azure request nests past a handful of levels,
 * and a deep one (tens of thousands of levels fit in the size limit) would
 * overflow the stack of every recursive walk, JSON.stringify included.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * At most this many values (arrays, objects and the commas between
 * elements) in a body, checked before it is parsed: the largest real request
 * (a vault with 1,024 access policies) holds about 15,000, while a restore's
 * 32 MiB of `[{},{},…]` would parse into millions of objects and exhaust
 * the server's heap before any check could look at them.
 */
export const MAX_JSON_VALUES = 100_000;

/** Why JSON text is too deep or too many-valued to parse, or null (string contents skipped; no recursion). */
function shapeFault(text: string): string | null {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) return `The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`;
      if (++values > MAX_JSON_VALUES) break;
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2c && ++values > MAX_JSON_VALUES) break;
  }
  return values > MAX_JSON_VALUES ? `The request body holds more than ${MAX_JSON_VALUES} JSON values.` : null;
}

/**
 * Where a secret's value is in a body: the data plane's `value`, Resource
 * Manager's `properties.value`, by the path of the object holding it (a
 * path without dots is one top-level key).
 */
const SECRET_VALUE_HOLDERS = new Set(['', 'properties']);

/**
 * Where a parsed JSON body holds a key or string that `bad` rejects, or null.
 * `exceptValue`: a secret's value (a string `value` in a SECRET_VALUE_HOLDERS object) is not looked at.
 */
function badStringPath(value: unknown, path: string, bad: (s: string) => boolean, exceptValue: boolean): string | null {
  if (typeof value === 'string') return bad(value) ? path || 'the body' : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [key, inner] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (bad(key)) return at;
    if (exceptValue && key === 'value' && typeof inner === 'string' && SECRET_VALUE_HOLDERS.has(path)) continue;
    const found = badStringPath(inner, at, bad, exceptValue);
    if (found) return found;
  }
  return null;
}

const hasNul = (s: string) => s.includes(NUL);
/** Matches an unpaired surrogate only: with the u flag a pair is one code point. */
const LONE_SURROGATE = /\p{Cs}/u;
const notWellFormed = (s: string) => LONE_SURROGATE.test(s);
/** A path is quoted in an error message without the characters that made it bad. */
const quotable = (path: string) => path.replaceAll(NUL, '\uFFFD').slice(0, 200).replace(/\p{Cs}/gu, '\uFFFD');

/** Marks routes that read HTML-form bodies (the sign-in service's); every other route reads JSON only. */
export const FORM_ROUTE = { forms: true } as const;
const takesForms = (req: FastifyRequest) => (req.routeOptions?.config as { forms?: boolean } | undefined)?.forms === true;
/** No route takes the request: its body is not read, so that it is answered 404 (not a content type error). */
const unrouted = (req: FastifyRequest) => req.is404;
const isArm = (req: FastifyRequest) => req.url.toLowerCase().startsWith('/subscriptions/');
/** A body of a type the route does not read: Resource Manager's error on ARM routes, Key Vault's elsewhere. */
const wrongType = (req: FastifyRequest) => {
  const type = String(req.headers['content-type'] ?? '').slice(0, 100);
  return isArm(req) ? errors.armUnsupportedMediaType(type) : errors.unsupportedMediaType(type);
};

/** UTF-8 and its ASCII subset. */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);
/** The charset a content type names, if any (quotes and case aside). */
const charsetOf = (type: string) => /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(type)?.[1]?.toLowerCase();

/**
 * A body's text, or why it cannot be read as the text it claims to be: a
 * content coding (gzip, …) is not undone, a charset other than UTF-8 is not
 * decoded, and bytes that are not UTF-8 are refused rather than read as U+FFFD.
 */
function bodyText(req: FastifyRequest, body: Buffer, wrongCharset: () => ServiceError): { error: ServiceError } | { text: string } {
  const coding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (coding !== 'identity' && coding !== '') return { error: errors.unsupportedContentEncoding(coding.slice(0, 40), isArm(req)) };
  const charset = charsetOf(String(req.headers['content-type'] ?? ''));
  if (charset !== undefined && !UTF8_CHARSETS.has(charset)) return { error: wrongCharset() };
  if (isUtf8(body)) return { text: body.toString('utf8') };
  return { error: isArm(req) ? errors.invalidRequestContent('it is not valid UTF-8') : errors.badParameter('The request body is not valid UTF-8.') };
}

const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * Whether a form's percent-escapes spell UTF-8. URLSearchParams reads bytes that do not (`%FF`) as U+FFFD,
 * so that many different fields would read alike; refused as raw bytes that are not UTF-8 are. The text is
 * UTF-8 already and `&`, `=` are ASCII, so checking its bytes with every escape decoded checks each field.
 */
function escapesAreUtf8(text: string): boolean {
  if (!/%[89A-Fa-f]/.test(text)) return true;
  const raw = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const hex = raw[i] === 0x25 ? raw.toString('latin1', i + 1, i + 3) : '';
    if (HEX.test(hex)) {
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else out[n++] = raw[i]!;
  }
  return isUtf8(out.subarray(0, n));
}

/** A form body's fields, or the name of one given twice (Entra ID refuses those: AADSTS9000411). */
function formFields(text: string): { fields: Record<string, string> } | { repeated: string } {
  const fields: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (Object.hasOwn(fields, k)) return { repeated: k };
    fields[k] = v;
  }
  return { fields };
}

export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json\s*(;.*)?$/i, { parseAs: 'buffer' }, (req, body, done) => {
    // The sign-in service reads forms only, as Entra ID does: a JSON body there holds no fields.
    if (takesForms(req) || unrouted(req)) return done(null, undefined);
    const read = bodyText(req, body as Buffer, () => wrongType(req));
    if ('error' in read) return done(read.error, undefined);
    // A byte order mark is ignored (RFC 8259 allows it; Azure's .NET readers skip it), not a parse error.
    const text = read.text.startsWith('\uFEFF') ? read.text.slice(1) : read.text;
    if (text.trim() === '') return done(null, undefined);
    const fault = shapeFault(text);
    if (fault) return done(errors.badParameter(fault), undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      // Never the parser's message: V8 quotes the body around the fault, which may be a secret value (and errors reach the audit trail).
      const at = /position (\d+)/.exec((err as Error).message)?.[1];
      const detail = at === undefined ? 'it does not parse' : `it does not parse at position ${at}`;
      // ARM's own code for it; the data plane (and the rest) answer as Key Vault does.
      return done(isArm(req) ? errors.invalidRequestContent(detail) : errors.invalidJson(detail), undefined);
    }
    // JSON can only spell U+0000 or a lone surrogate as an escape: bodies without one are not walked.
    const nulAt = text.includes('\\u0000') ? badStringPath(parsed, '', hasNul, true) : null;
    if (nulAt) return done(errors.badParameter(`Property ${quotable(nulAt)} contains the character U+0000, which is not accepted.`), undefined);
    // A lone surrogate cannot be stored as UTF-8 (it would come back as U+FFFD), in a value least of all.
    const loneAt = LONE_SURROGATE_ESCAPE.test(text) ? badStringPath(parsed, '', notWellFormed, false) : null;
    if (loneAt) return done(errors.badParameter(`Property ${quotable(loneAt)} contains a lone UTF-16 surrogate (an unpaired \\uD800-\\uDFFF escape), which is not accepted.`), undefined);
    done(null, parsed);
  });
  app.addContentTypeParser(/^application\/x-www-form-urlencoded\s*(;.*)?$/i, { parseAs: 'buffer' }, (req, body, done) => {
    if (unrouted(req)) return done(null, undefined);
    if (!takesForms(req)) return done(wrongType(req), undefined);
    const read = bodyText(req, body as Buffer, () => errors.badParameter('The form is not in UTF-8: send it with charset=utf-8 or none.'));
    // The sign-in service answers in OAuth's shape.
    if ('error' in read) return done(new OAuthError(400, 'invalid_request', null, read.error.message), undefined);
    if (!escapesAreUtf8(read.text)) return done(new OAuthError(400, 'invalid_request', null, 'The request body is not valid UTF-8: a percent-encoded byte sequence is not UTF-8.'), undefined);
    const parsed = formFields(read.text);
    if ('repeated' in parsed) {
      const name = parsed.repeated.replaceAll(NUL, '\uFFFD').slice(0, 100);
      return done(new OAuthError(400, 'invalid_request', 9000411, `AADSTS9000411: The request is not properly formatted. The parameter '${name}' is duplicated.`), undefined);
    }
    const fields = parsed.fields;
    const at = Object.entries(fields).find(([k, v]) => k.includes(NUL) || v.includes(NUL));
    if (at) return done(new OAuthError(400, 'invalid_request', null, `The request body field '${at[0].replaceAll(NUL, '\uFFFD').slice(0, 100)}' contains the character U+0000, which is not accepted.`), undefined);
    done(null, fields);
  });
  // Anything else is accepted only when empty, so body-less requests with odd
  // content types still reach the route; otherwise the route's own checks fail it.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    if ((body as Buffer).length === 0 || takesForms(req) || unrouted(req)) return done(null, undefined);
    done(wrongType(req), undefined);
  });
}
