// Graph list queries as az builds them: OData string literals, and its list
// commands' filters joined by "and".

/** `v` inside an OData string literal (each quote doubled). */
export const odataString = (v: string): string => v.replace(/'/g, "''");

/** The filters given (unset ones left out) joined by "and", as az's list commands join them; null when none is. */
export function andFilters(filters: Array<string | false | null | undefined>): string | null {
  const given = filters.filter((f): f is string => !!f);
  return given.length > 0 ? given.join(' and ') : null;
}

/** The `$filter` query string for a Graph collection URL ('' without a filter). */
export const filterQuery = (filter: string | null): string => (filter === null ? '' : `?$filter=${encodeURIComponent(filter)}`);
