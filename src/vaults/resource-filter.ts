import { parseFilter } from '../authorization/odata-filter.js';
import { errors } from '../server/errors.js';
import type { VaultRow } from '../storage/store-types.js';

// The `$filter` of Resource Manager's resource list, as far as az uses it
// (`az resource list --resource-type / -n / -l / --tag`): `eq` terms joined by
// `and`, and `startswith(tagname, 'x')` (`--tag 'x*'`). A filter beyond that is refused as ARM refuses one it cannot read,
// never answered with the whole list: a client acts on what it gets back.

const TERMS = ['resourcetype', 'name', 'resourcegroup', 'location', 'tagname', 'tagvalue', 'tagnameprefix'] as const;
/** az's tag prefix term, read as an `eq` term of its own (odata-filter.ts takes calls of one argument only). */
const TAG_PREFIX = /startswith\(\s*tagname\s*,\s*('(?:[^']|'')*')\s*\)/i;

const invalidFilter = (filter: string) => errors.invalidFilterInQueryString(filter.slice(0, 200));

/** Which vaults `filter` keeps (every vault without one); throws ARM's 400 for a filter it does not take. */
export function resourceFilter(filter: string | undefined): (v: VaultRow) => boolean {
  let eq: Map<string, string>;
  try {
    eq = parseFilter(filter?.replace(TAG_PREFIX, 'tagnameprefix eq $1'), TERMS).eq;
  } catch {
    throw invalidFilter(filter ?? '');
  }
  // tagValue narrows tagName's tag; alone it names no tag.
  if ((eq.has('tagvalue') && !eq.has('tagname')) || (eq.has('tagnameprefix') && eq.has('tagname'))) throw invalidFilter(filter ?? '');
  const same = (a: string, b: string | undefined) => b === undefined || a.toLowerCase() === b.toLowerCase();
  const tagName = eq.get('tagname');
  const tagValue = eq.get('tagvalue');
  const tagPrefix = eq.get('tagnameprefix')?.toLowerCase();
  return (v) =>
    same('Microsoft.KeyVault/vaults', eq.get('resourcetype')) &&
    same(v.name, eq.get('name')) &&
    same(v.resourceGroup, eq.get('resourcegroup')) &&
    same(v.location, eq.get('location')) &&
    (tagPrefix === undefined || Object.keys(v.tags).some((k) => k.toLowerCase().startsWith(tagPrefix))) &&
    (tagName === undefined || Object.entries(v.tags).some(([k, value]) => k.toLowerCase() === tagName.toLowerCase() && (tagValue === undefined || value === tagValue)));
}
