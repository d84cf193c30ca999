// The one catalogue of errors coffer answers with. Domain code throws
// ServiceError values built here; server/error-handler.ts is the only place
// they become HTTP responses. Codes and messages follow Azure Key Vault / ARM.

export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** OAuth2 / Entra ID shaped errors from the token service. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadCode: number | null,
    description: string,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

const helpLink = 'For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182';

export const errors = {
  badParameter: (message: string) => new ServiceError(400, 'BadParameter', message),
  missingApiVersion: () =>
    new ServiceError(400, 'BadParameter', 'The request URI must contain an api-version query parameter.'),
  invalidJson: (detail: string) => new ServiceError(400, 'BadParameter', `The request body is not valid JSON: ${detail}`),
  unsupportedMediaType: (type: string) =>
    new ServiceError(415, 'BadParameter', `The content type '${type}' is not supported; use application/json.`),
  /** Resource Manager's answer to a body that is not JSON. */
  armUnsupportedMediaType: (type: string) =>
    new ServiceError(415, 'UnsupportedMediaType', `The content media type '${type}' is not supported. Only 'application/json' is supported.`),
  bodyTooLarge: (limit: number) =>
    new ServiceError(413, 'BadParameter', `The request body exceeds the maximum size of ${limit} bytes.`),
  forbidden: (message: string, innerCode?: string) => new ServiceError(403, 'Forbidden', message, innerCode),
  secretNotFound: (nameOrId: string) =>
    new ServiceError(
      404,
      'SecretNotFound',
      `A secret with (name/id) ${nameOrId} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. ${helpLink}`,
    ),
  deletedSecretNotFound: (name: string) => new ServiceError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`),
  secretDisabled: (operation: string) =>
    new ServiceError(403, 'Forbidden', `Operation ${operation} is not allowed on a disabled secret.`, 'SecretDisabled'),
  deletedButRecoverable: (name: string) =>
    new ServiceError(
      409,
      'Conflict',
      `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
      'ObjectIsDeletedButRecoverable',
    ),
  secretAlreadyExists: (name: string) =>
    new ServiceError(409, 'Conflict', `Secret ${name} already exists. A secret can only be restored into a vault that does not hold a secret of that name.`),
  purgeProtected: (name: string) =>
    new ServiceError(
      403,
      'Forbidden',
      `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge ${name} after the retention period has passed.`,
    ),
  purgeNotAllowed: (name: string) =>
    new ServiceError(403, 'Forbidden', `Operation "purge" is not allowed on secret ${name} because soft delete is not enabled for this vault.`),
  integrity: (what: string) =>
    new ServiceError(500, 'InternalServerError', `The stored data for ${what} failed its integrity check and cannot be returned.`),
  vaultNotFound: (host: string) =>
    new ServiceError(404, 'VaultNotFound', `No vault is hosted at '${host}'.`),
  notFound: (path: string) => new ServiceError(404, 'NotFound', `The requested resource '${path.length > 256 ? `${path.slice(0, 256)}...` : path}' was not found.`),
  methodNotAllowed: (method: string) => new ServiceError(405, 'BadParameter', `The method '${method}' is not supported for this resource.`),
  // The code is Key Vault's own, spaces included.
  badBackup: () => new ServiceError(400, 'Malformed backup blob', 'Backup blob contains invalid or corrupt version.'),
  internal: () => new ServiceError(500, 'InternalServerError', 'The server encountered an internal error.'),
  /** A change undone because its audit record could not be stored with it: nothing was stored, so a retry is safe. */
  auditUnavailable: () =>
    new ServiceError(503, 'ServiceUnavailable', 'The request was refused because its audit record could not be written. Try again later.', undefined, { 'Retry-After': '5' }),
  // ARM (management plane) errors share the body shape.
  resourceNotFound: (type: string, name: string, rg: string) =>
    new ServiceError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`),
  resourceGroupNotFound: (rg: string) =>
    new ServiceError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`),
  // The code is what scripts around `az keyvault purge` look for; the text is coffer's.
  softDeletedVaultDoesNotExist: () =>
    new ServiceError(
      400,
      'SoftDeletedVaultDoesNotExist',
      'A soft deleted vault with the given name does not exist. Ensure that the name for the vault that is being attempted to recover is in a recoverable state.',
    ),
  /** Azure's answer to purging a deleted vault under purge protection (code and text from the service; status from its code). */
  deletedVaultPurgeNotAllowed: () => new ServiceError(405, 'MethodNotAllowed', "Operation 'DeletedVaultPurge' is not allowed."),
  deletedVaultNotFound: (name: string, location: string) =>
    new ServiceError(404, 'DeletedVaultNotFound', `The deleted vault '${name}' does not exist in location '${location}'.`),
  subscriptionNotFound: (s: string) => new ServiceError(404, 'SubscriptionNotFound', `The subscription '${s}' could not be found.`),
  vaultAlreadyExists: (name: string) =>
    new ServiceError(409, 'VaultAlreadyExists', `The vault name '${name}' is already in use. Vault names are globally unique so it is possible that the name is already taken.`),
  conflictingVaultDeleted: (name: string) =>
    new ServiceError(
      409,
      'ConflictError',
      `A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault. Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete.`,
    ),
  // Resource Manager's answers to a PUT that would move an existing resource or group to another region.
  invalidResourceLocation: (name: string, existing: string, rg: string, given: string) =>
    new ServiceError(
      409,
      'InvalidResourceLocation',
      `The resource '${name}' already exists in location '${existing}' in resource group '${rg}'. A resource with the same name cannot be created in location '${given}'. Please select a new resource name.`,
    ),
  invalidResourceGroupLocation: (given: string, existing: string) =>
    new ServiceError(409, 'InvalidResourceGroupLocation', `Invalid resource group location '${given}'. The Resource group already exists in location '${existing}'.`),
  /** A vault changed by other cluster members on every try of a change (coffer's; Azure's text for this case is not documented). */
  vaultChangedMeanwhile: (name: string) =>
    new ServiceError(409, 'Conflict', `The vault '${name}' was changed by other requests while this change was being made. Retry the request.`),
  invalidArm: (message: string) => new ServiceError(400, 'BadRequest', message),
  invalidRequestContent: (detail: string) => new ServiceError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: ${detail}.`),
  authorizationFailed: (oid: string, action: string, scope: string) =>
    new ServiceError(
      403,
      'AuthorizationFailed',
      `The client '${oid}' with object id '${oid}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    ),
  throttled: (retryAfter: number) =>
    new ServiceError(429, 'Throttled', 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached', undefined, {
      'Retry-After': String(retryAfter),
    }),
};

export const oauthErrors = {
  invalidRequest: (aad: number | null, text: string) => new OAuthError(400, 'invalid_request', aad, text),
  invalidClient: (aad: number, text: string) => new OAuthError(401, 'invalid_client', aad, text),
  unauthorizedClient: (aad: number, text: string) => new OAuthError(400, 'unauthorized_client', aad, text),
  invalidGrant: (aad: number, text: string) => new OAuthError(400, 'invalid_grant', aad, text),
  invalidResource: (aad: number, text: string) => new OAuthError(400, 'invalid_resource', aad, text),
  invalidScope: (aad: number, text: string) => new OAuthError(400, 'invalid_scope', aad, text),
  unsupportedGrantType: (text: string) => new OAuthError(400, 'unsupported_grant_type', 70003, text),
  authorizationPending: () =>
    new OAuthError(400, 'authorization_pending', 70016, 'AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.'),
  expiredToken: () => new OAuthError(400, 'expired_token', 70020, 'AADSTS70020: The provided value for the input parameter \'device_code\' is not valid. This device code has expired.'),
  tenantNotFound: (tenant: string, error: 'invalid_tenant' | 'invalid_request' = 'invalid_tenant') =>
    new OAuthError(400, error, 90002, `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`),
};
