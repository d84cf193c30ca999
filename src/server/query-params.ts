// Query-string checks shared by route groups.

/** The first parameter given more than once (fastify makes it an array, which no route expects). */
export function repeatedParameter(query: unknown): string | undefined {
  if (typeof query !== 'object' || query === null) return undefined;
  const hit = Object.entries(query).find(([, v]) => Array.isArray(v));
  return hit?.[0].slice(0, 64);
}

/** Whether YYYY-MM-DD names a day of the calendar (2023-02-30 does not). */
export function isCalendarDate(date: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}
