import { errors } from '../server/errors.js';

// The locations a vault or resource group may be created in. Resource
// Manager takes only the regions of its cloud (400 LocationNotAvailableForResourceType
// for a vault, LocationNotAvailableForResourceGroup for a group, each listing
// them); coffer is self-hosted, so it takes Azure's public region names (a
// template or script written for Azure runs unchanged), the deployment's
// own `--location`, listed first, and `local` (its default, which the
// portal's vault form and the README's examples use whatever it is).

/** Azure's public regions, by name (`az account list-locations`), including those Azure keeps restricted. */
const AZURE_PUBLIC_REGIONS = [
  'eastus', 'eastus2', 'southcentralus', 'westus2', 'westus3', 'australiaeast', 'southeastasia', 'northeurope', 'swedencentral',
  'uksouth', 'westeurope', 'centralus', 'southafricanorth', 'centralindia', 'eastasia', 'indonesiacentral', 'japaneast',
  'japanwest', 'koreacentral', 'malaysiawest', 'newzealandnorth', 'canadacentral', 'austriaeast', 'belgiumcentral',
  'francecentral', 'germanywestcentral', 'italynorth', 'norwayeast', 'polandcentral', 'spaincentral', 'switzerlandnorth',
  'mexicocentral', 'uaenorth', 'brazilsouth', 'chilecentral', 'israelcentral', 'qatarcentral', 'centraluseuap',
  'eastus2euap', 'northcentralus', 'westus', 'jioindiawest', 'westcentralus', 'southafricawest', 'australiacentral',
  'australiacentral2', 'australiasoutheast', 'koreasouth', 'southindia', 'westindia', 'canadaeast', 'francesouth',
  'germanynorth', 'norwaywest', 'switzerlandwest', 'ukwest', 'uaecentral', 'brazilsoutheast', 'swedensouth', 'jioindiacentral',
  'brazilus', 'eastusstg', 'southcentralusstg', 'taiwannorth', 'taiwannorthwest', 'malaysiasouth', 'israelnorthwest', 'denmarkeast',
];

/** A region as Resource Manager stores it: 'West Europe' is 'westeurope'. */
export const normalLocation = (location: string) => location.toLowerCase().replace(/\s+/g, '');

/** Every location coffer takes, the deployment's first. */
export const acceptedLocations = (deploymentLocation: string): string[] => [...new Set([normalLocation(deploymentLocation), 'local', ...AZURE_PUBLIC_REGIONS])];

export function locationChecker(deploymentLocation: string) {
  const names = acceptedLocations(deploymentLocation);
  const known = new Set(names);
  const list = names.join(',');
  return {
    /** A new vault's location (or an existing one's changed to), refused as Resource Manager refuses one its cloud does not have. */
    vault(location: string): void {
      if (!known.has(normalLocation(location))) throw errors.locationNotAvailableForType(location, 'Microsoft.KeyVault/vaults', list);
    },
    /** The same for a resource group. */
    group(location: string): void {
      if (!known.has(normalLocation(location))) throw errors.locationNotAvailableForGroup(location, list);
    },
  };
}
