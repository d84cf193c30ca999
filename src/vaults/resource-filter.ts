import { parseFilter } from '../authorization/odata-filter.js';
import { errors } from '../server/errors.js';
import type { ResourceGroupRow, VaultRow } from '../storage/store-types.js';
import type { ResourceExpansion } from './arm-wire.js';

// The `$filter` of Resource Manager's lists, as far as az uses it: the
// resource list's (`az resource list --resource-type / -n / -l / --tag`): `eq`
// terms joined by `and`, and `startswith(tagname, 'x')` (`--tag 'x*'`); the
// resource group list's (`az group list --tag k[=v]`): tagName and tagValue.
// A filter beyond that is refused as ARM refuses one it cannot read, never
// answered with the whole list: a client acts on what it gets back (a script
// deleting the groups `az group list --tag env=tmp` names).

const RESOURCE_TERMS = ['resourcetype', 'name', 'resourcegroup', 'location', 'tagname', 'tagvalue', 'tagnameprefix'] as const;
const GROUP_TERMS = ['tagname', 'tagvalue'] as const;
/** az's tag prefix term, read as an `eq` term of its own (odata-filter.ts takes calls of one argument only). */
const TAG_PREFIX = /startswith\(\s*tagname\s*,\s*('(?:[^']|'')*')\s*\)/i;

const invalidFilter = (filter: string) => errors.invalidFilterInQueryString(filter.slice(0, 200));
const same = (a: string, b: string | undefined) => b === undefined || a.toLowerCase() === b.toLowerCase();

/** The `eq` terms of `filter` among `terms`; ARM's 400 for anything else. */
function eqTerms(filter: string | undefined, terms: readonly string[]): Map<string, string> {
  let eq: Map<string, string>;
  try {
    eq = parseFilter(filter?.replace(TAG_PREFIX, 'tagnameprefix eq $1'), terms).eq;
  } catch {
    throw invalidFilter(filter ?? '');
  }
  // tagValue narrows tagName's tag; alone it names no tag.
  if ((eq.has('tagvalue') && !eq.has('tagname')) || (eq.has('tagnameprefix') && eq.has('tagname'))) throw invalidFilter(filter ?? '');
  return eq;
}

/** Whether tags match the filter's tag terms: names compared in any case, values exactly, as Azure compares them. */
function tagsMatch(eq: Map<string, string>): (tags: Record<string, string>) => boolean {
  const tagName = eq.get('tagname')?.toLowerCase();
  const tagValue = eq.get('tagvalue');
  const tagPrefix = eq.get('tagnameprefix')?.toLowerCase();
  return (tags) =>
    (tagPrefix === undefined || Object.keys(tags).some((k) => k.toLowerCase().startsWith(tagPrefix))) &&
    (tagName === undefined || Object.entries(tags).some(([k, value]) => k.toLowerCase() === tagName && (tagValue === undefined || value === tagValue)));
}

/** Which vaults `filter` keeps (every vault without one); throws ARM's 400 for a filter it does not take. */
export function resourceFilter(filter: string | undefined): (v: VaultRow) => boolean {
  const eq = eqTerms(filter, RESOURCE_TERMS);
  const tagged = tagsMatch(eq);
  return (v) =>
    same('Microsoft.KeyVault/vaults', eq.get('resourcetype')) &&
    same(v.name, eq.get('name')) &&
    same(v.resourceGroup, eq.get('resourcegroup')) &&
    same(v.location, eq.get('location')) &&
    tagged(v.tags);
}

/** Which resource groups `filter` keeps (every group without one); throws ARM's 400 for a filter it does not take. */
export function resourceGroupFilter(filter: string | undefined): (g: ResourceGroupRow) => boolean {
  const tagged = tagsMatch(eqTerms(filter, GROUP_TERMS));
  return (g) => tagged(g.tags);
}

const EXPANSIONS: readonly ResourceExpansion[] = ['createdTime', 'changedTime', 'provisioningState'];

/** The properties a resource list's `$expand` asks for (comma-separated, any case); names it does not know add nothing. */
export function resourceExpansion(expand: string | undefined): Set<ResourceExpansion> {
  const asked = new Set((expand ?? '').split(',').map((e) => e.trim().toLowerCase()));
  return new Set(EXPANSIONS.filter((e) => asked.has(e.toLowerCase())));
}
