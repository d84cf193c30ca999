import type { Session } from './session.js';

// Graph list queries as az builds them: OData string literals, its list
// commands' filters joined by "and", and every page read.

/** `v` inside an OData string literal (each quote doubled). */
export const odataString = (v: string): string => v.replace(/'/g, "''");

/** The filters given (unset ones left out) joined by "and", as az's list commands join them; null when none is. */
export function andFilters(filters: Array<string | false | null | undefined>): string | null {
  const given = filters.filter((f): f is string => !!f);
  return given.length > 0 ? given.join(' and ') : null;
}

/** The `$filter` query string for a Graph collection URL ('' without a filter). */
export const filterQuery = (filter: string | null): string => (filter === null ? '' : `?$filter=${encodeURIComponent(filter)}`);

/** Every item of a Graph collection: its pages followed through `@odata.nextLink`, as az reads them. */
export async function graphList<T>(s: Session, url: string): Promise<T[]> {
  const out: T[] = [];
  for (let next: string | undefined = url; next !== undefined; ) {
    const page: { value: T[]; '@odata.nextLink'?: string } = await s.call('GET', next, s.managementResource);
    out.push(...page.value);
    next = page['@odata.nextLink'];
  }
  return out;
}
