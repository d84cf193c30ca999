// The attributes of the Python SDK models that az's generic update walks
// (azure-mgmt-keyvault 2022-07-01, the API version az 2.45 uses for vaults),
// by their snake_case names. A --set of a name that is not one of its model's
// attributes is sent as an additional property, with a warning
// (arm.py's set_properties). A type is a model's name, `[Model]` for a list
// of them, or '' for anything else (text, numbers, lists of text, dicts).

export type ModelTable = Record<string, Record<string, string>>;

export const VAULT_MODELS: ModelTable = {
  Vault: { id: '', name: '', type: '', location: '', tags: '', system_data: 'SystemData', properties: 'VaultProperties' },
  VaultProperties: {
    tenant_id: '',
    sku: 'Sku',
    access_policies: '[AccessPolicyEntry]',
    vault_uri: '',
    hsm_pool_resource_id: '',
    enabled_for_deployment: '',
    enabled_for_disk_encryption: '',
    enabled_for_template_deployment: '',
    enable_soft_delete: '',
    soft_delete_retention_in_days: '',
    enable_rbac_authorization: '',
    create_mode: '',
    enable_purge_protection: '',
    network_acls: 'NetworkRuleSet',
    provisioning_state: '',
    private_endpoint_connections: '[PrivateEndpointConnectionItem]',
    public_network_access: '',
  },
  Sku: { family: '', name: '' },
  NetworkRuleSet: { bypass: '', default_action: '', ip_rules: '[IPRule]', virtual_network_rules: '[VirtualNetworkRule]' },
  IPRule: { value: '' },
  VirtualNetworkRule: { id: '', ignore_missing_vnet_service_endpoint: '' },
  AccessPolicyEntry: { tenant_id: '', object_id: '', application_id: '', permissions: 'Permissions' },
  Permissions: { keys: '', secrets: '', certificates: '', storage: '' },
  PrivateEndpointConnectionItem: { id: '', etag: '', private_endpoint: 'PrivateEndpoint', private_link_service_connection_state: 'PrivateLinkServiceConnectionState', provisioning_state: '' },
  PrivateEndpoint: { id: '' },
  PrivateLinkServiceConnectionState: { status: '', description: '', actions_required: '' },
  SystemData: { created_by: '', created_by_type: '', created_at: '', last_modified_by: '', last_modified_by_type: '', last_modified_at: '' },
};

/** arm.py's make_snake_case: `enablePurgeProtection` → `enable_purge_protection`. */
export const snakeCase = (s: string): string =>
  s
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();

/** The JSON name of a model attribute: `enable_purge_protection` → `enablePurgeProtection`. */
export const camelCase = (snake: string): string => snake.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

// A resource group as az's group update reads it (azure-mgmt-resource's
// ResourceGroup). Its additional_properties is no dict there, so az names it
// among a group's attributes (in "Available options") as it does not a vault's.
export const GROUP_MODELS: ModelTable = {
  ResourceGroup: { id: '', name: '', type: '', properties: 'ResourceGroupProperties', location: '', managed_by: '', tags: '', additional_properties: '' },
  ResourceGroupProperties: { provisioning_state: '', additional_properties: '' },
};

/**
 * msrest's types of VaultProperties' scalar properties (azure-mgmt-keyvault 2022-07-01, its _attribute_map):
 * the SDK casts what a --set put there to its type as it serializes the vault (str(), bool(), int()).
 */
export const VAULT_PROPERTY_TYPES: Record<string, 'str' | 'bool' | 'int'> = {
  tenantId: 'str',
  vaultUri: 'str',
  hsmPoolResourceId: 'str',
  enabledForDeployment: 'bool',
  enabledForDiskEncryption: 'bool',
  enabledForTemplateDeployment: 'bool',
  enableSoftDelete: 'bool',
  softDeleteRetentionInDays: 'int',
  enableRbacAuthorization: 'bool',
  createMode: 'str',
  enablePurgeProtection: 'bool',
  provisioningState: 'str',
  publicNetworkAccess: 'str',
};
