// Azure's public regions as Resource Manager lists them (`az account
// list-locations`), in its order: the recommended ones first, then the rest,
// including those Azure keeps restricted (canary, stage). Each with its
// display name and geography group, which make its regional display name
// ("(US) East US"). Their coordinates, physical locations and pairings are
// not kept: coffer runs in none of them (README, Differences from Azure).

export type RegionCategory = 'Recommended' | 'Other';

export interface AzureRegion {
  name: string;
  displayName: string;
  geographyGroup: string;
  category: RegionCategory;
}

const US = 'US';
const APAC = 'Asia Pacific';
const EUROPE = 'Europe';
const AFRICA = 'Africa';
const CANADA = 'Canada';
const MIDDLE_EAST = 'Middle East';
const SOUTH_AMERICA = 'South America';
const MEXICO = 'Mexico';

/** [name, display name, geography group], in Resource Manager's order. */
const RECOMMENDED: ReadonlyArray<readonly [string, string, string]> = [
  ['eastus', 'East US', US],
  ['eastus2', 'East US 2', US],
  ['southcentralus', 'South Central US', US],
  ['westus2', 'West US 2', US],
  ['westus3', 'West US 3', US],
  ['australiaeast', 'Australia East', APAC],
  ['southeastasia', 'Southeast Asia', APAC],
  ['northeurope', 'North Europe', EUROPE],
  ['swedencentral', 'Sweden Central', EUROPE],
  ['uksouth', 'UK South', EUROPE],
  ['westeurope', 'West Europe', EUROPE],
  ['centralus', 'Central US', US],
  ['southafricanorth', 'South Africa North', AFRICA],
  ['centralindia', 'Central India', APAC],
  ['eastasia', 'East Asia', APAC],
  ['indonesiacentral', 'Indonesia Central', APAC],
  ['japaneast', 'Japan East', APAC],
  ['japanwest', 'Japan West', APAC],
  ['koreacentral', 'Korea Central', APAC],
  ['malaysiawest', 'Malaysia West', APAC],
  ['newzealandnorth', 'New Zealand North', APAC],
  ['canadacentral', 'Canada Central', CANADA],
  ['austriaeast', 'Austria East', EUROPE],
  ['belgiumcentral', 'Belgium Central', EUROPE],
  ['francecentral', 'France Central', EUROPE],
  ['germanywestcentral', 'Germany West Central', EUROPE],
  ['italynorth', 'Italy North', EUROPE],
  ['norwayeast', 'Norway East', EUROPE],
  ['polandcentral', 'Poland Central', EUROPE],
  ['spaincentral', 'Spain Central', EUROPE],
  ['switzerlandnorth', 'Switzerland North', EUROPE],
  ['mexicocentral', 'Mexico Central', MEXICO],
  ['uaenorth', 'UAE North', MIDDLE_EAST],
  ['brazilsouth', 'Brazil South', SOUTH_AMERICA],
  ['chilecentral', 'Chile Central', SOUTH_AMERICA],
  ['israelcentral', 'Israel Central', MIDDLE_EAST],
  ['qatarcentral', 'Qatar Central', MIDDLE_EAST],
];

const OTHER: ReadonlyArray<readonly [string, string, string]> = [
  ['centraluseuap', 'Central US EUAP', US],
  ['eastus2euap', 'East US 2 EUAP', US],
  ['northcentralus', 'North Central US', US],
  ['westus', 'West US', US],
  ['jioindiawest', 'Jio India West', APAC],
  ['westcentralus', 'West Central US', US],
  ['southafricawest', 'South Africa West', AFRICA],
  ['australiacentral', 'Australia Central', APAC],
  ['australiacentral2', 'Australia Central 2', APAC],
  ['australiasoutheast', 'Australia Southeast', APAC],
  ['koreasouth', 'Korea South', APAC],
  ['southindia', 'South India', APAC],
  ['westindia', 'West India', APAC],
  ['canadaeast', 'Canada East', CANADA],
  ['francesouth', 'France South', EUROPE],
  ['germanynorth', 'Germany North', EUROPE],
  ['norwaywest', 'Norway West', EUROPE],
  ['switzerlandwest', 'Switzerland West', EUROPE],
  ['ukwest', 'UK West', EUROPE],
  ['uaecentral', 'UAE Central', MIDDLE_EAST],
  ['brazilsoutheast', 'Brazil Southeast', SOUTH_AMERICA],
  ['swedensouth', 'Sweden South', EUROPE],
  ['jioindiacentral', 'Jio India Central', APAC],
  ['brazilus', 'Brazil US', SOUTH_AMERICA],
  ['eastusstg', 'East US STG', US],
  ['southcentralusstg', 'South Central US STG', US],
  ['taiwannorth', 'Taiwan North', APAC],
  ['taiwannorthwest', 'Taiwan Northwest', APAC],
  ['malaysiasouth', 'Malaysia South', APAC],
  ['israelnorthwest', 'Israel Northwest', MIDDLE_EAST],
  ['denmarkeast', 'Denmark East', EUROPE],
];

const region = (category: RegionCategory) => ([name, displayName, geographyGroup]: readonly [string, string, string]): AzureRegion => ({ name, displayName, geographyGroup, category });

export const AZURE_PUBLIC_REGIONS: readonly AzureRegion[] = [...RECOMMENDED.map(region('Recommended')), ...OTHER.map(region('Other'))];
