import { errors, ServiceError } from '../server/errors.js';
import { decodeToken, encodeToken, nextLinkTo, queryOptions } from '../server/query-params.js';
import type { GraphRequest } from './graph-route-kit.js';

// Directory lists paged as Microsoft Graph pages them: `$top` from 1 to 999
// (100 without one), and `@odata.nextLink` (an absolute URL with the
// request's own query options and a `$skiptoken`) while more follow.

const DEFAULT_PAGE = 100;
const MAX_PAGE = 999;
/**
 * Query options that change which objects a list answers, or in what order its pages cut it, and that coffer
 * does not serve: refused, never ignored (an ignored `$search` would answer the whole directory).
 */
const UNSERVED_OPTIONS = ['$search', '$orderby', '$skip'];

/** Graph's 400 for a list query option coffer does not serve. */
function refuseUnserved(query: Record<string, string | undefined>): void {
  const asked = Object.keys(query).find((k) => UNSERVED_OPTIONS.includes(k.toLowerCase()));
  if (asked !== undefined) throw errors.graphUnsupportedQuery(`The query option '${asked}' is not supported by coffer's directory.`);
}

/**
 * Whether `$count` asks for `@odata.count` (the whole list's size, on the first page); anything but true or false is a
 * 400. Graph counts directory objects only in its advanced queries, with `ConsistencyLevel: eventual`; without
 * that header it ignores `?$count=true` (its documented behaviour, and what clients written against it expect).
 */
function wantsCount(raw: string | undefined, consistency: string | string[] | undefined): boolean {
  if (raw === undefined || /^false$/i.test(raw)) return false;
  if (!/^true$/i.test(raw)) throw errors.graphUnsupportedQuery(`Invalid value for $count: '${raw.slice(0, 32)}'. It must be true or false.`);
  return typeof consistency === 'string' && /^eventual$/i.test(consistency.trim());
}

function pageSize(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PAGE;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_PAGE)) throw errors.graphInvalidPageSize(raw, MAX_PAGE);
  return n;
}

/** The cursor in the $skiptoken, refused in Graph's terms. */
function cursor(raw: string | undefined): string | null {
  try {
    return decodeToken(raw);
  } catch (err) {
    throw err instanceof ServiceError ? errors.graphBadRequest(err.message) : err;
  }
}

/**
 * One page of a directory list held whole (a directory is small): the rows
 * after the $skiptoken's key in `keyOf` order, at most $top of them, shown
 * by `show`, and the nextLink when more follow.
 */
export async function graphPage<T, R>(
  req: GraphRequest,
  authority: string,
  rows: readonly T[],
  keyOf: (row: T) => string,
  show: (row: T) => R | Promise<R>,
): Promise<{ '@odata.count'?: number; '@odata.nextLink'?: string; value: R[] }> {
  refuseUnserved(req.query);
  const counted = wantsCount(req.query.$count, req.headers.consistencylevel);
  const top = pageSize(req.query.$top);
  const after = cursor(req.query.$skiptoken);
  // Graph gives the count on the first page only (the nextLink keeps `$count`, the later pages do not answer it).
  const count = counted && after === null ? { '@odata.count': rows.length } : {};
  const sorted = [...rows].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const rest = after === null ? sorted : sorted.filter((row) => keyOf(row) > after);
  const page = rest.slice(0, top);
  const value = await Promise.all(page.map(show));
  if (rest.length <= top) return { ...count, value };
  const query = queryOptions(req.query);
  query.set('$skiptoken', encodeToken(keyOf(page[page.length - 1]!)));
  return { ...count, '@odata.nextLink': nextLinkTo(authority, req.url, query), value };
}
