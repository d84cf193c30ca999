import { errors } from './errors.js';

// Request-target helpers shared by route groups: query checks, paths, links.

/** The first parameter given more than once (fastify makes it an array, which no route expects). */
export function repeatedParameter(query: unknown): string | undefined {
  if (typeof query !== 'object' || query === null) return undefined;
  const hit = Object.entries(query).find(([, v]) => Array.isArray(v));
  return hit?.[0].slice(0, 64);
}

/**
 * Query options read whatever their case (`$Filter` is `$filter`, as OData reads system query options),
 * moved to the names the routes read: a filter in another case is applied, never ignored. The name of
 * one given twice in different cases, for the caller's 400.
 */
export function canonicalOptions(query: unknown, names: readonly string[]): string | undefined {
  if (typeof query !== 'object' || query === null) return undefined;
  const options = query as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    const name = names.find((n) => n === key.toLowerCase());
    if (name === undefined || name === key) continue;
    if (Object.hasOwn(options, name)) return name;
    options[name] = options[key];
    delete options[key];
  }
  return undefined;
}

/**
 * The request's query options as the route read them (fastify's parse of the whole query, a raw `?` inside
 * it included), for a nextLink that must ask the same question: never re-read from the URL's text.
 */
export function queryOptions(query: unknown): URLSearchParams {
  const q = new URLSearchParams();
  if (typeof query !== 'object' || query === null) return q;
  for (const [k, v] of Object.entries(query)) if (typeof v === 'string') q.append(k, v);
  return q;
}

/** Whether YYYY-MM-DD names a day of the calendar (2023-02-30 does not). */
export function isCalendarDate(date: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** A list page's cursor as the $skiptoken of its nextLink. */
export function encodeToken(next: string): string {
  return Buffer.from(next, 'utf8').toString('base64url');
}

/** The cursor in a $skiptoken (null for none); anything coffer did not write is refused. */
export function decodeToken(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(raw)) throw errors.badParameter('The $skiptoken value is invalid.');
  // Our cursors are a name key (a resource group's may hold '_', '.', '(' and ')') or an id; anything else
  // (U+0000, say, which PostgreSQL cannot compare) is not ours.
  const cursor = Buffer.from(raw, 'base64url').toString('utf8');
  if (!/^[-\w.()]{1,127}$/.test(cursor)) throw errors.badParameter('The $skiptoken value is invalid.');
  return cursor;
}

/**
 * The path's segments, each decoded and empty ones dropped (ARM clients write
 * `//subscriptions/...`): split before decoding, so an encoded '/' stays
 * inside its segment (`roleAssignments/a%2Fb` names `a/b`). Null when one
 * does not decode.
 */
export function pathSegments(url: string): string[] | null {
  try {
    return (url.split('?')[0] ?? '')
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
}

/** A nextLink: the request's own path under `authority`, with `query` (its `$` names unescaped, as Azure writes them). */
export const nextLinkTo = (authority: string, url: string, query: URLSearchParams): string =>
  `${authority}${url.split('?')[0]}?${query.toString().replaceAll('%24', '$')}`;
