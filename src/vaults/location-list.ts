import { subscriptionScope } from '../authorization/scopes.js';
import { AZURE_PUBLIC_REGIONS, type AzureRegion } from './azure-regions.js';
import { normalLocation } from './locations.js';

// Subscriptions - List Locations (`az account list-locations`): the
// locations coffer takes for a vault or group (locations.ts), in the same
// order: the deployment's own `--location`, `local`, then Azure's public
// regions. The first two are coffer's own places, so they are listed as
// physical, recommended regions with no geography group (Resource Manager
// leaves the group out where a region has none); their display name is
// `--location`'s name (a lower-case name: the configuration takes no other),
// and `Local`. A `--location` that is one of Azure's regions is listed as
// Azure lists it, first.

export interface LocationMetadata {
  regionType: 'Physical';
  regionCategory: AzureRegion['category'];
  geographyGroup?: string;
}

export interface ArmLocation {
  id: string;
  name: string;
  type: 'Region';
  displayName: string;
  regionalDisplayName: string;
  metadata: LocationMetadata;
}

interface Place {
  name: string;
  displayName: string;
  category: AzureRegion['category'];
  geographyGroup?: string;
}

/** A place coffer adds to Azure's regions, under the name it is stored by. */
const ownPlace = (given: string): Place => ({ name: normalLocation(given), displayName: given.trim(), category: 'Recommended' });

function wireLocation(subscriptionId: string, place: Place): ArmLocation {
  return {
    id: `${subscriptionScope(subscriptionId)}/locations/${place.name}`,
    name: place.name,
    type: 'Region',
    displayName: place.displayName,
    // Resource Manager's "(US) East US"; a place with no geography group is shown by its display name alone.
    regionalDisplayName: place.geographyGroup ? `(${place.geographyGroup}) ${place.displayName}` : place.displayName,
    metadata: place.geographyGroup
      ? { regionType: 'Physical', regionCategory: place.category, geographyGroup: place.geographyGroup }
      : { regionType: 'Physical', regionCategory: place.category },
  };
}

/** The subscription's locations as Resource Manager lists them, each name once (an Azure region keeps its own names). */
export function subscriptionLocations(subscriptionId: string, deploymentLocation: string): ArmLocation[] {
  const azure = new Map(AZURE_PUBLIC_REGIONS.map((r) => [r.name, r]));
  const local = ownPlace('Local');
  const own = ownPlace(deploymentLocation);
  const places: Place[] = [...(own.name === local.name ? [] : [own]), local, ...AZURE_PUBLIC_REGIONS];
  const seen = new Set<string>();
  const listed: ArmLocation[] = [];
  for (const place of places) {
    if (seen.has(place.name)) continue;
    seen.add(place.name);
    listed.push(wireLocation(subscriptionId, azure.get(place.name) ?? place));
  }
  return listed;
}
