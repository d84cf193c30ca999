// az prints a management-plane result as the SDK model msrest deserialized it
// into, turned back into a dict by knack's todict
// (azure/cli/core/commands/__init__.py, `todict(result,
// remove_additional_prop_layer)`). So every attribute of the model is there,
// null when the server sent none; keys the model does not know (msrest's
// additional_properties, found at the model's own level only) are merged back
// after them; datetimes are Python's isoformat. The shapes below are az
// 2.45's models' attributes, in their __init__ order. (The order does not
// show: az's JSON output sorts keys.)

/** A datetime attribute ("iso-8601" in the model's _attribute_map). */
const DATETIME = 'datetime' as const;
/** A datetime sent as seconds since the epoch ("unix-time": the key vault data plane's). */
const UNIX_TIME = 'unix-time' as const;
type Shape = null | typeof DATETIME | typeof UNIX_TIME | Model | { readonly listOf: Shape };
/** An attribute whose wire key is another (msrest's _attribute_map `key`). */
type Renamed = { readonly wire: string; readonly shape: Shape };

class Model {
  /** `flatten`: the wire object whose keys the model lifts to its own level (msrest's "properties.x" keys). */
  constructor(
    readonly attrs: Readonly<Record<string, Shape | Renamed>>,
    readonly flatten?: string,
  ) {}
}

const model = (attrs: Record<string, Shape | Renamed>, flatten?: string) => new Model(attrs, flatten);
const listOf = (shape: Shape) => ({ listOf: shape });
const renamed = (wire: string, shape: Shape): Renamed => ({ wire, shape });
const isRenamed = (a: Shape | Renamed): a is Renamed => a !== null && typeof a === 'object' && 'wire' in a;

/**
 * Python's datetime.isoformat() of the datetime msrest parses from an
 * ISO 8601 string: `Z` as +00:00, the fraction as microseconds and left out
 * when zero (`…58.000Z` prints `…58+00:00`, `…58.5Z` prints `…58.500000+00:00`).
 */
export function pythonIsoformat(value: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/i.exec(value);
  if (!m) return value;
  const micro = (m[2] ?? '').slice(0, 6).padEnd(6, '0');
  const zone = m[3] === undefined ? '' : m[3].toUpperCase() === 'Z' ? '+00:00' : m[3].replace(/^([+-]\d\d):?(\d\d)$/, '$1:$2');
  return `${m[1]}${/^0*$/.test(micro) ? '' : `.${micro}`}${zone}`;
}

/** `value` (as the server sent it) as az prints it when deserialized into `shape`. */
function shaped(shape: Shape, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (shape === DATETIME) return typeof value === 'string' ? pythonIsoformat(value) : value;
  // datetime.fromtimestamp(seconds, UTC).isoformat().
  if (shape === UNIX_TIME) return typeof value === 'number' && Number.isFinite(value) ? pythonIsoformat(new Date(value * 1000).toISOString()) : value;
  if (shape instanceof Model) {
    if (typeof value !== 'object' || Array.isArray(value)) return value;
    const wire = value as Record<string, unknown>;
    const inner = (shape.flatten ? wire[shape.flatten] : undefined) as Record<string, unknown> | undefined;
    const out: Record<string, unknown> = {};
    const known = new Set<string>();
    for (const [key, attr] of Object.entries(shape.attrs)) {
      const [wireKey, attrShape] = isRenamed(attr) ? [attr.wire, attr.shape] : [key, attr];
      known.add(wireKey);
      out[key] = shaped(attrShape, wireKey in wire ? wire[wireKey] : inner?.[wireKey]);
    }
    // Unknown keys of a flattened object are dropped: msrest looks for them at the model's level only.
    for (const [key, v] of Object.entries(wire)) if (!known.has(key) && key !== shape.flatten) out[key] = v;
    return out;
  }
  if (shape !== null && Array.isArray(value)) return value.map((item) => shaped(shape.listOf, item));
  return value;
}

// azure.mgmt.keyvault.v2022_07_01 (az 2.45's keyvault API version).
const PERMISSIONS = model({ keys: null, secrets: null, certificates: null, storage: null });
const ACCESS_POLICY = model({ tenantId: null, objectId: null, applicationId: null, permissions: PERMISSIONS });
const NETWORK_RULE_SET = model({ bypass: null, defaultAction: null, ipRules: listOf(model({ value: null })), virtualNetworkRules: listOf(model({ id: null, ignoreMissingVnetServiceEndpoint: null })) });
const PRIVATE_ENDPOINT_CONNECTION = model({ id: null, etag: null, privateEndpoint: null, privateLinkServiceConnectionState: null, provisioningState: null }, 'properties');
const SYSTEM_DATA = model({ createdBy: null, createdByType: null, createdAt: DATETIME, lastModifiedBy: null, lastModifiedByType: null, lastModifiedAt: DATETIME });
const VAULT_PROPERTIES = model({
  tenantId: null,
  sku: model({ family: null, name: null }),
  accessPolicies: listOf(ACCESS_POLICY),
  vaultUri: null,
  hsmPoolResourceId: null,
  enabledForDeployment: null,
  enabledForDiskEncryption: null,
  enabledForTemplateDeployment: null,
  enableSoftDelete: null,
  softDeleteRetentionInDays: null,
  enableRbacAuthorization: null,
  createMode: null,
  enablePurgeProtection: null,
  networkAcls: NETWORK_RULE_SET,
  provisioningState: null,
  privateEndpointConnections: listOf(PRIVATE_ENDPOINT_CONNECTION),
  publicNetworkAccess: null,
});
const VAULT = model({ id: null, name: null, type: null, location: null, tags: null, systemData: SYSTEM_DATA, properties: VAULT_PROPERTIES });
/** What `keyvault list` without -g prints: VaultsOperations.list reads the generic resource listing. */
const RESOURCE = model({ id: null, name: null, type: null, location: null, tags: null });
const DELETED_VAULT = model({
  id: null,
  name: null,
  type: null,
  properties: model({ vaultId: null, location: null, deletionDate: DATETIME, scheduledPurgeDate: DATETIME, tags: null, purgeProtectionEnabled: null }),
});

// azure.mgmt.resource.resources.v2021_04_01.
const RESOURCE_GROUP = model({ id: null, name: null, type: null, properties: model({ provisioningState: null }), location: null, managedBy: null, tags: null });

// azure.mgmt.resource.subscriptions.v2019_11_01 (az 2.45's SubscriptionClient): `account list-locations`.
const PAIRED_REGION = model({ name: null, id: null, subscriptionId: null });
const LOCATION_METADATA = model({ regionType: null, regionCategory: null, geographyGroup: null, longitude: null, latitude: null, physicalLocation: null, pairedRegion: listOf(PAIRED_REGION) });
const LOCATION = model({ id: null, subscriptionId: null, name: null, displayName: null, regionalDisplayName: null, metadata: LOCATION_METADATA });

// azure.mgmt.authorization.v2020_04_01_preview: az 2.45's role assignments API (flattened: no `properties`).
const ROLE_ASSIGNMENT = model(
  {
    id: null,
    name: null,
    type: null,
    scope: null,
    roleDefinitionId: null,
    principalId: null,
    principalType: null,
    canDelegate: null,
    description: null,
    condition: null,
    conditionVersion: null,
    createdOn: DATETIME,
    updatedOn: DATETIME,
    createdBy: null,
    updatedBy: null,
    delegatedManagedIdentityResourceId: null,
  },
  'properties',
);

// azure.keyvault.v7_0 (az 2.45's track-1 data-plane SDK, API version 7.0): the secrets.
const SECRET_ATTRIBUTES = model({
  enabled: null,
  notBefore: renamed('nbf', UNIX_TIME),
  expires: renamed('exp', UNIX_TIME),
  created: UNIX_TIME,
  updated: UNIX_TIME,
  recoveryLevel: null,
});
const SECRET_BUNDLE = { value: null, id: null, contentType: null, attributes: SECRET_ATTRIBUTES, tags: null, kid: null, managed: null };
const SECRET_ITEM = { id: null, attributes: SECRET_ATTRIBUTES, tags: null, contentType: null, managed: null };
const DELETION = { recoveryId: null, scheduledPurgeDate: UNIX_TIME, deletedDate: UNIX_TIME };
const SECRET_MODELS = {
  bundle: model(SECRET_BUNDLE),
  item: model(SECRET_ITEM),
  deletedBundle: model({ ...SECRET_BUNDLE, ...DELETION }),
  deletedItem: model({ ...SECRET_ITEM, ...DELETION }),
};

type Printed = Record<string, unknown>;

/**
 * A secret as az 2.45 prints it: SecretBundle (show, set, set-attributes,
 * recover, restore), SecretItem (list, list-versions), DeletedSecretBundle
 * (show-deleted, delete) or DeletedSecretItem (list-deleted); with the name
 * that keyvault's extract_subresource_name sets from the id's fifth segment.
 */
export function asSecret(kind: keyof typeof SECRET_MODELS, v: unknown): Printed {
  const out = shaped(SECRET_MODELS[kind], v) as Printed;
  const segments = typeof out.id === 'string' ? out.id.split('/') : [];
  out.name = segments.length > 4 ? segments[4] : null;
  return out;
}
export const asVault = (v: unknown) => shaped(VAULT, v) as Printed;
export const asResource = (v: unknown) => shaped(RESOURCE, v) as Printed;
export const asDeletedVault = (v: unknown) => shaped(DELETED_VAULT, v) as Printed;
export const asResourceGroup = (v: unknown) => shaped(RESOURCE_GROUP, v) as Printed;
export const asLocation = (v: unknown) => shaped(LOCATION, v) as Printed;
export const asRoleAssignment = (v: unknown) => shaped(ROLE_ASSIGNMENT, v) as Printed;
export const asNetworkRuleSet = (v: unknown) => (v == null ? null : (shaped(NETWORK_RULE_SET, v) as Printed));
