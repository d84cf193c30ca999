import { errors } from '../server/errors.js';
import { AZURE_PUBLIC_REGIONS } from './azure-regions.js';

// The locations a vault or resource group may be created in. Resource
// Manager takes only the regions of its cloud (400 LocationNotAvailableForResourceType
// for a vault, LocationNotAvailableForResourceGroup for a group, each listing
// them); coffer is self-hosted, so it takes Azure's public region names (a
// template or script written for Azure runs unchanged), the deployment's
// own `--location`, listed first, and `local` (its default, which the
// portal's vault form and the README's examples use whatever it is).

/** A region as Resource Manager stores it: 'West Europe' is 'westeurope'. */
export const normalLocation = (location: string) => location.toLowerCase().replace(/\s+/g, '');

/** Every location coffer takes, the deployment's first. */
export const acceptedLocations = (deploymentLocation: string): string[] => [...new Set([normalLocation(deploymentLocation), 'local', ...AZURE_PUBLIC_REGIONS.map((r) => r.name)])];

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
