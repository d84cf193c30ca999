// The resource providers coffer serves, as Resource Manager describes them
// (`az provider show`, and `az resource show | update | delete --ids`, which
// read a type's api-versions here and take the first that is not a preview:
// so each list is newest first, as Azure's is). Always registered: coffer
// serves them whatever a subscription asked for.

export interface ProviderResourceType {
  resourceType: string;
  apiVersions: string[];
  /** Whether the type's resources have a location (ARM lists the locations then). */
  located: boolean;
  capabilities?: string;
}

/** Microsoft.KeyVault's published api-versions, newest first (the REST specs' stable and preview folders). */
const KEYVAULT_API_VERSIONS = [
  '2026-02-01', '2025-05-01', '2024-12-01-preview', '2024-11-01', '2024-04-01-preview', '2023-07-01', '2023-02-01',
  '2022-11-01', '2022-07-01', '2022-02-01-preview', '2021-11-01-preview', '2021-10-01', '2021-06-01-preview',
  '2021-04-01-preview', '2020-04-01-preview', '2019-09-01', '2018-02-14', '2018-02-14-preview', '2016-10-01', '2015-06-01',
];
/** Microsoft.Authorization's api-versions for the types coffer serves, newest first. */
const AUTHORIZATION_API_VERSIONS = ['2022-04-01', '2022-01-01-preview', '2020-10-01-preview', '2020-04-01-preview', '2018-09-01-preview', '2018-01-01-preview', '2015-07-01'];

export const RESOURCE_PROVIDERS: Record<string, { namespace: string; resourceTypes: ProviderResourceType[] }> = {
  'microsoft.keyvault': {
    namespace: 'Microsoft.KeyVault',
    resourceTypes: [
      { resourceType: 'vaults', apiVersions: KEYVAULT_API_VERSIONS, located: true, capabilities: 'CrossResourceGroupResourceMove, CrossSubscriptionResourceMove, SupportsTags, SupportsLocation' },
      { resourceType: 'vaults/secrets', apiVersions: KEYVAULT_API_VERSIONS, located: true },
      { resourceType: 'vaults/accessPolicies', apiVersions: KEYVAULT_API_VERSIONS, located: true },
      { resourceType: 'deletedVaults', apiVersions: KEYVAULT_API_VERSIONS, located: false },
      { resourceType: 'locations/deletedVaults', apiVersions: KEYVAULT_API_VERSIONS, located: true },
      { resourceType: 'checkNameAvailability', apiVersions: KEYVAULT_API_VERSIONS, located: false },
    ],
  },
  'microsoft.authorization': {
    namespace: 'Microsoft.Authorization',
    resourceTypes: [
      { resourceType: 'roleAssignments', apiVersions: AUTHORIZATION_API_VERSIONS, located: false },
      { resourceType: 'roleDefinitions', apiVersions: AUTHORIZATION_API_VERSIONS, located: false },
      { resourceType: 'permissions', apiVersions: AUTHORIZATION_API_VERSIONS, located: false },
    ],
  },
};
