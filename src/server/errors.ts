// The one catalogue of errors coffer answers with. Domain code throws
// ServiceError values built here; server/error-handler.ts is the only place
// they become HTTP responses. Codes and messages follow Azure Key Vault / ARM.

import { echo } from './echo.js';

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

/** Resource Manager's challenge on a 401: where to get a token, and why this one was refused. */
const armChallenge = (authority: string, description: string) => `Bearer authorization_uri="${authority}", error="invalid_token", error_description="${description}"`;

/** The last line of Key Vault's 403 texts. */
/** Resource Manager names a user by the UPN, any other client by its object id. */
const clientName = (caller: { objectId: string; kind: 'app' | 'user'; upn: string | null }) => (caller.kind === 'user' && caller.upn ? caller.upn : caller.objectId);
const vaultLine = (vault: { name: string; location: string }) => `Vault: ${vault.name};location=${vault.location}`;

export const errors = {
  badParameter: (message: string) => new ServiceError(400, 'BadParameter', message),
  missingApiVersion: () =>
    new ServiceError(400, 'BadParameter', 'The request URI must contain an api-version query parameter.'),
  invalidJson: (detail: string) => new ServiceError(400, 'BadParameter', `The request body is not valid JSON: ${detail}`),
  unsupportedMediaType: (type: string) =>
    new ServiceError(415, 'BadParameter', type === '' ? 'The request has a body but no content type; use application/json.' : `The content type '${type}' is not supported; use application/json.`),
  /** A body sent compressed (or otherwise coded): `arm` for Resource Manager's code. */
  unsupportedContentEncoding: (coding: string, arm: boolean) =>
    new ServiceError(415, arm ? 'UnsupportedMediaType' : 'BadParameter', `The content encoding '${coding}' is not supported; send the body uncompressed.`),
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
  purgeProtected: (vaultName: string, location: string) =>
    new ServiceError(
      403,
      'Forbidden',
      `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed. Vault: ${vaultName};location=${location}`,
    ),
  purgeNotAllowed: (name: string) =>
    new ServiceError(403, 'Forbidden', `Operation "purge" is not allowed on secret ${name} because soft delete is not enabled for this vault.`),
  /** A key that may not seal (crypto/vault-key-wrap.ts): the operator restarts the server, which renews it. */
  keyNotInUse: (what: string) =>
    new ServiceError(500, 'InternalServerError', `The ${what} was made under a master key that is no longer in use, so nothing is sealed with it. Restart the server to renew it.`),
  // The check's own reason (`cause`, no value in it) goes to the log, not to the client.
  integrity: (what: string, cause?: Error) =>
    Object.assign(new ServiceError(500, 'InternalServerError', `The stored data for ${what} failed its integrity check and cannot be returned.`), { cause }),
  /** The authorization digest refused a write or a row (authorization-digest.ts): its reason goes to the log. */
  authorizationDataRefused: () =>
    new ServiceError(500, 'InternalServerError', 'The authorization data in the database failed its integrity check, so the request was refused.'),
  vaultNotFound: (host: string) =>
    new ServiceError(404, 'VaultNotFound', `No vault is hosted at '${host}'.`),
  notFound: (path: string) => new ServiceError(404, 'NotFound', `The requested resource '${path.length > 256 ? `${path.slice(0, 256)}...` : path}' was not found.`),
  methodNotAllowed: (method: string) => new ServiceError(405, 'BadParameter', `The method '${method}' is not supported for this resource.`),
  // Requests Fastify refuses before routing; `status` is Fastify's (4xx).
  undecodableUri: (status: number) => new ServiceError(status, 'BadParameter', 'The request URI is malformed: it does not decode.'),
  malformedRequest: (status: number) => new ServiceError(status, 'BadParameter', 'The request is malformed.'),
  /** An Expect header other than 100-continue; the connection closes, since the client may or may not send its body. */
  expectationFailed: (expect: string) =>
    new ServiceError(417, 'BadParameter', `The expectation '${expect.slice(0, 100)}' in the Expect header is not supported; only '100-continue' is.`, undefined, { Connection: 'close' }),
  /** A transfer coding other than chunked (RFC 9112 section 6.1); the connection closes, since the body's end is not read. */
  unsupportedTransferCoding: (coding: string) =>
    new ServiceError(400, 'BadParameter', `The transfer coding '${coding.slice(0, 40)}' is not supported; send the body with chunked transfer coding alone, or with a Content-Length.`, undefined, {
      Connection: 'close',
    }),
  // The code is Key Vault's own, spaces included.
  badBackup: () => new ServiceError(400, 'Malformed backup blob', 'Backup blob contains invalid or corrupt version.'),
  internal: () => new ServiceError(500, 'InternalServerError', 'The server encountered an internal error.'),
  /** A change undone because its audit record could not be stored with it: nothing was stored, so a retry is safe. */
  auditUnavailable: () =>
    new ServiceError(503, 'ServiceUnavailable', 'The request was refused because its audit record could not be written. Try again later.', undefined, { 'Retry-After': '5' }),
  /** A request that arrived while the server closes (on a connection already open); the connection closes after it. */
  shuttingDown: () =>
    new ServiceError(503, 'ServiceUnavailable', 'The server is shutting down. Send the request again.', undefined, { 'Retry-After': '1', Connection: 'close' }),
  /** The database could not serve the request now (away, a lock not granted in time, every connection busy): a retry may succeed. */
  databaseUnavailable: () =>
    new ServiceError(503, 'ServiceUnavailable', 'The service is temporarily unavailable: its database did not answer in time. Try again later.', undefined, { 'Retry-After': '5' }),
  /**
   * The storage could not take the write (a full disk, an I/O error): nothing was stored, and a retry succeeds once
   * the operator has made room. 503 with Retry-After, as for the other passing conditions: Azure's clients retry it.
   */
  storageFull: () =>
    new ServiceError(503, 'ServiceUnavailable', 'The service is temporarily unavailable: its storage cannot take the change now, which was not made. Try again later.', undefined, { 'Retry-After': '5' }),
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
  // Azure's text, its spelling included; checkNameAvailability gives it too, for a live or a soft-deleted vault's name.
  vaultAlreadyExists: (name: string) =>
    new ServiceError(
      409,
      'VaultAlreadyExists',
      `The vault name '${name}' is already in use. Vault names are globaly unique so it is possible that the name is already taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need to be purged before reusing the name. For more information about VaultAlreadyExists, soft delete and purging a vault follow this link https://go.microsoft.com/fwlink/?linkid=2147740`,
    ),
  /** A vault was created in the group while it was being deleted, again and again. */
  resourceGroupBusy: (rg: string) =>
    new ServiceError(409, 'Conflict', `Resource group '${rg}' could not be deleted: vaults were being created in it at the same time. Try again.`),
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
  /** A resource group created and deleted by other cluster members on every try of a PUT (coffer's; no Azure text is documented). */
  resourceGroupChangedMeanwhile: (name: string) =>
    new ServiceError(409, 'Conflict', `The resource group '${name}' was changed by other requests while this change was being made. Retry the request.`),
  invalidArm: (message: string) => new ServiceError(400, 'BadRequest', message),
  /** Resource Manager's answer to a GET of a type its namespace does not have (its text names no type, as Azure's does). */
  invalidResourceType: (namespace: string, apiVersion: string) =>
    new ServiceError(404, 'InvalidResourceType', `The resource type could not be found in the namespace '${namespace}' for api version '${apiVersion.slice(0, 40)}'.`),
  /** Resource Manager's answer to a provider namespace it does not have. */
  invalidResourceNamespace: (namespace: string) => new ServiceError(404, 'InvalidResourceNamespace', `The resource namespace '${namespace.slice(0, 64)}' is invalid.`),
  /** coffer's: its namespaces cannot be unregistered (Azure would start unregistering). */
  providerAlwaysRegistered: (namespace: string) =>
    new ServiceError(409, 'Conflict', `The resource provider '${namespace}' cannot be unregistered: coffer serves it whatever the subscription registered.`),
  invalidCheckNameType: (type: string) =>
    new ServiceError(400, 'BadRequest', `The property 'type' has the value '${type.slice(0, 64)}'; it must be 'Microsoft.KeyVault/vaults'.`),
  /** Resource Manager's (the data plane answers missingApiVersion). */
  armMissingApiVersion: () => new ServiceError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.'),
  invalidApiVersion: (version: unknown) =>
    new ServiceError(400, 'InvalidApiVersionParameter', `The api-version '${String(version).slice(0, 40)}' is invalid. The supported versions are dates such as '2023-07-01'.`),
  vaultNameNotValid: (name: string) =>
    new ServiceError(
      400,
      'VaultNameNotValid',
      `The vault name '${name}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens. Follow this link for more information: https://go.microsoft.com/fwlink/?linkid=2147742`,
    ),
  /** Resource Manager's answer to a resource-list filter it does not take. */
  invalidFilterInQueryString: (filter: string) => new ServiceError(400, 'InvalidFilterInQueryString', `Invalid $filter '${filter}' specified in the query string.`),
  invalidTagNameCharacters: (names: string) =>
    new ServiceError(400, 'InvalidTagNameCharacters', `The tag names '${names}' have reserved characters '<,>,%,&,\\,?,/' or control characters.`),
  locationRequired: () => new ServiceError(400, 'LocationRequired', 'The location property is required for this definition.'),
  locationNotAvailable: (location: string) =>
    new ServiceError(400, 'LocationNotAvailableForResourceType', `The provided location '${location.slice(0, 64)}' is not available for resource type.`),
  /** Resource Manager's answer to a location its cloud does not have, with the ones it has. */
  locationNotAvailableForType: (location: string, type: string, available: string) =>
    new ServiceError(
      400,
      'LocationNotAvailableForResourceType',
      `The provided location '${location.slice(0, 64)}' is not available for resource type '${type}'. List of available regions for the resource type is '${available}'.`,
    ),
  locationNotAvailableForGroup: (location: string, available: string) =>
    new ServiceError(400, 'LocationNotAvailableForResourceGroup', `The provided location '${location.slice(0, 64)}' is not available for resource group. List of available regions is '${available}'.`),
  invalidRequestContent: (detail: string) => new ServiceError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: ${detail}.`),
  authorizationFailed: (caller: { objectId: string; kind: 'app' | 'user'; upn: string | null }, action: string, scope: string) =>
    new ServiceError(
      403,
      'AuthorizationFailed',
      `The client '${clientName(caller)}' with object id '${caller.objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    ),
  /** Allowed at the request's scope, not at a scope its body links to (a custom role's assignable scopes). */
  linkedAuthorizationFailed: (caller: { objectId: string; kind: 'app' | 'user'; upn: string | null }, action: string, scope: string, linked: string) =>
    new ServiceError(
      403,
      'LinkedAuthorizationFailed',
      `The client '${clientName(caller)}' with object id '${caller.objectId}' has permission to perform action '${action}' on scope '${scope}'; however, it does not have permission to perform action '${action}' on the linked scope(s) '${linked}' or the linked scope(s) are invalid.`,
    ),
  /** Request bodies held at once are at the server's budget, or the caller's share of it (body-budget.ts): the client sends this one again later. */
  bodyBudgetExhausted: () =>
    new ServiceError(
      429,
      'Throttled',
      'Request was not processed because too many requests were received. Reason: the server holds as much request data at once as it takes, in all or from this caller; retry after the Retry-After interval.',
      undefined,
      { 'Retry-After': '1' },
    ),
  /** A body that stopped arriving (body-budget.ts); the connection is closed with the answer. */
  bodyNotReceived: () => new ServiceError(408, 'BadParameter', 'The request was not received in time: its body stopped arriving, or arrives too slowly.', undefined, { Connection: 'close' }),
  throttled: (retryAfter: number) =>
    new ServiceError(429, 'Throttled', 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached', undefined, {
      'Retry-After': String(retryAfter),
    }),

  // Bearer authentication: each 401 carries the WWW-Authenticate challenge clients follow.
  /** Key Vault data plane: no token, or one that does not verify. */
  unauthorized: (message: string, challenge: string) => new ServiceError(401, 'Unauthorized', message, undefined, { 'WWW-Authenticate': challenge }),
  /** Resource Manager: no bearer token (`authority` is the tenant's, for the challenge). */
  authorizationHeaderMissing: (authority: string) =>
    new ServiceError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", undefined, {
      'WWW-Authenticate': armChallenge(authority, "The authentication failed because of missing 'Authorization' header."),
    }),
  /** Resource Manager: a token that does not verify; `code` and `message` say why, in ARM's words. */
  invalidManagementToken: (code: string, message: string, authority: string) =>
    new ServiceError(401, code, message, undefined, { 'WWW-Authenticate': armChallenge(authority, message) }),

  // Key Vault's 403s for a data-plane request refused by RBAC or the vault's network rules (Azure's lines, CRLF-joined).
  forbiddenByRbac: (caller: string, action: string, resource: string, vault: { name: string; location: string }) =>
    new ServiceError(
      403,
      'Forbidden',
      [
        'Caller is not authorized to perform action on resource.',
        'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.',
        `Caller: ${caller}`,
        `Action: '${action}'`,
        `Resource: '${resource.toLowerCase()}'`,
        'Assignment: (not found)',
        'DenyAssignmentId: null',
        // Azure's text has this space before the line break.
        "DecisionReason: 'DeniedWithNoValidRBAC' ",
        vaultLine(vault),
        '',
      ].join('\r\n'),
      'ForbiddenByRbac',
    ),
  forbiddenByConnection: (caller: string, vault: { name: string; location: string }) =>
    new ServiceError(
      403,
      'Forbidden',
      ['Public network access is disabled and request is not from a trusted service nor via an approved private link.', `Caller: ${caller}`, vaultLine(vault)].join('\r\n'),
      'ForbiddenByConnection',
    ),
  forbiddenByFirewall: (clientAddress: string, caller: string, vault: { name: string; location: string }) =>
    new ServiceError(
      403,
      'Forbidden',
      ['Client address is not authorized and caller is not a trusted service.', `Client address: ${clientAddress}`, `Caller: ${caller}`, vaultLine(vault)].join('\r\n'),
      'ForbiddenByFirewall',
    ),

  // Role assignments and definitions (Resource Manager).
  invalidRoleAssignmentId: (name: string) =>
    new ServiceError(400, 'InvalidRoleAssignmentId', `The role assignment ID '${name.slice(0, 64)}' is not valid. The role assignment ID must be a GUID.`),
  invalidPrincipalId: () => new ServiceError(400, 'InvalidPrincipalId', 'A valid principal ID must be provided for role assignment.'),
  missingRoleDefinitionId: () => new ServiceError(400, 'InvalidRoleDefinitionId', 'The role definition ID must be provided.'),
  /** coffer does not evaluate ABAC conditions. */
  roleAssignmentConditionsUnsupported: () =>
    new ServiceError(400, 'InvalidRoleAssignmentRequest', 'Role assignment conditions (condition, conditionVersion) are not supported by coffer; assign the role at a narrower scope instead.'),
  /** An assignment's role that does not exist: 400 (the role definition's own URL answers 404, roleDefinitionNotFound). */
  /** An assignment's roleDefinitionId whose last segment is not a GUID (Resource Manager names that segment only). */
  invalidRoleDefinitionId: (id: string) => new ServiceError(400, 'InvalidRoleDefinitionId', `The role definition ID '${id.slice(0, 64)}' is not valid.`),
  unknownAssignedRole: (id: string) => new ServiceError(400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${id.slice(0, 64)}' does not exist.`),
  roleNotAssignableAtScope: (roleName: string) =>
    new ServiceError(403, 'RoleAssignmentScopeNotAssignableToRoleDefinition', `The role ${roleName} is not available for assignment at the requested scope.`),
  principalNotFound: (id: string, tenantId: string) =>
    new ServiceError(400, 'PrincipalNotFound', `Principal ${id.replace(/-/g, '')} does not exist in the directory ${tenantId}. Check that you have the correct principal ID.`),
  // Azure's text, its misspelling, space and hyphen-less id included.
  unmatchedPrincipalType: (objectId: string, kind: string, given: unknown) =>
    new ServiceError(
      400,
      'UnmatchedPrincipalType',
      `The PrincipalId '${objectId.replaceAll('-', '')}' has type '${kind}' , which is different from specified PrinciaplType '${String(given).slice(0, 40)}'.`,
    ),
  roleAssignmentUpdateNotPermitted: () =>
    new ServiceError(409, 'RoleAssignmentUpdateNotPermitted', 'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.'),
  roleAssignmentChangedMeanwhile: () => new ServiceError(409, 'Conflict', 'The role assignment was changed by another request. Try again.'),
  roleAssignmentExists: () => new ServiceError(409, 'RoleAssignmentExists', 'The role assignment already exists.'),
  roleAssignmentNotFound: (name: string) => new ServiceError(404, 'RoleAssignmentNotFound', `The role assignment '${name.slice(0, 64)}' is not found.`),
  roleDefinitionNotFound: (id: string) => new ServiceError(404, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${id.slice(0, 64)}' does not exist.`),
  builtInRoleDefinitionReadOnly: (what: 'changed' | 'deleted') => new ServiceError(403, 'RoleDefinitionUpdateNotAllowed', `Built-in role definitions cannot be ${what}.`),
  roleDefinitionNameExists: () => new ServiceError(409, 'RoleDefinitionWithSameNameExists', 'A role definition cannot be updated with a name that already exists.'),
  roleDefinitionIdAssigned: (id: string) =>
    new ServiceError(
      409,
      'RoleDefinitionIdAssigned',
      `Role assignments refer to the role definition ID '${id.slice(0, 64)}', which names no role: delete them before creating a role with this ID.`,
    ),
  roleDefinitionHasAssignments: () =>
    new ServiceError(409, 'RoleDefinitionHasAssignments', 'There are existing role assignments referencing role. Remove them before deleting the role definition.'),

  // Microsoft Graph (the directory API), in Graph's codes.
  graphBadRequest: (message: string) => new ServiceError(400, 'Request_BadRequest', message),
  /** A `$ref` body whose `@odata.id` is not a URL: Graph's OData layer answers, in its own code. */
  graphInvalidReference: () => new ServiceError(400, 'BadRequest', 'Invalid URL format specified in payload.'),
  graphConflict: (message: string) => new ServiceError(409, 'Request_Conflict', message),
  /** `id` as it is to be shown: callers bound what a client sent. */
  graphResourceNotFound: (id: string) =>
    new ServiceError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`),
  graphInsufficientPrivileges: () => new ServiceError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
  /** Graph's text for a directory list's $top out of range (or not a number). */
  graphInvalidPageSize: (top: string, max: number) =>
    new ServiceError(400, 'Request_UnsupportedQuery', `Invalid page size specified: '${top.slice(0, 32)}'. Must be between 1 and ${max} inclusive.`),
  graphUnsupportedQuery: (message: string) => new ServiceError(400, 'Request_UnsupportedQuery', message),
  graphUnsupportedFilter: (filter: string) => new ServiceError(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified: ${filter.slice(0, 100)}`),
  /** `/me` with an application's token. */
  meRequiresDelegatedFlow: () => new ServiceError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.'),
  meNotFound: (objectId: string) => new ServiceError(404, 'Request_ResourceNotFound', `Resource '${objectId}' does not exist.`),
  invalidUserPrincipalName: () => new ServiceError(400, 'Request_BadRequest', `Invalid value specified for property 'userPrincipalName' of resource 'User'.`),
  userPrincipalNameExists: () => new ServiceError(400, 'Request_BadRequest', 'Another object with the same value for property userPrincipalName already exists.'),
  passwordTooWeak: () =>
    new ServiceError(400, 'Request_BadRequest', 'The specified password does not comply with password complexity requirements. Please provide a different password.'),
  clientSecretNotServicePrincipal: () => new ServiceError(400, 'Request_BadRequest', 'Only service principals have client secrets.'),
  /** A keyCredential Graph cannot take (its `key`, type, usage or dates). */
  keyCredentialInvalid: (message: string) => new ServiceError(400, 'KeyCredentialsInvalidValue', message),
  passwordCredentialNotFound: (keyId: unknown) => new ServiceError(400, 'Request_BadRequest', `No password credential with keyId '${String(keyId).slice(0, 64)}' was found.`),
  administratorUndeletable: () => new ServiceError(400, 'Request_BadRequest', 'The deployment administrator cannot be deleted.'),
  groupSelfMembership: () => new ServiceError(400, 'Request_BadRequest', 'A group cannot be a member of itself.'),
  memberAlreadyExists: () => new ServiceError(400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'."),
  notGroupMember: (memberId: string) => new ServiceError(404, 'Request_ResourceNotFound', `Resource '${memberId.slice(0, 64)}' is not a member of the group.`),

  // Deployment administration (coffer's own APIs).
  masterKeyRotationAdminOnly: () => new ServiceError(403, 'AuthorizationFailed', 'Only the deployment administrator may rotate the master key.'),
  signingKeyRotationAdminOnly: () => new ServiceError(403, 'AuthorizationFailed', 'Only the deployment administrator may rotate the token signing key.'),
  /** The other members would not have the new key this one writes to its own key file. */
  masterKeyRotationInCluster: () =>
    new ServiceError(
      409,
      'Conflict',
      'A cluster member cannot rotate the master key alone: rotate through COFFER_MASTER_KEY and COFFER_PREVIOUS_MASTER_KEYS with rolling restarts (docs/postgres.md, "Clusters").',
    ),
  /** A key the rotation would rewrap does not open; the message names it and says nothing changed. */
  masterKeyRotationRefused: (message: string) => new ServiceError(409, 'Conflict', message),
  masterKeyRotationFromEnv: () =>
    new ServiceError(409, 'Conflict', 'The master key comes from COFFER_MASTER_KEY: rotate by setting a new COFFER_MASTER_KEY and the old one in COFFER_PREVIOUS_MASTER_KEYS, then restart.'),
};

export const oauthErrors = {
  invalidRequest: (aad: number | null, text: string) => new OAuthError(400, 'invalid_request', aad, text),
  invalidClient: (aad: number, text: string) => new OAuthError(401, 'invalid_client', aad, text),
  unauthorizedClient: (aad: number, text: string) => new OAuthError(400, 'unauthorized_client', aad, text),
  invalidGrant: (aad: number, text: string) => new OAuthError(400, 'invalid_grant', aad, text),
  invalidResource: (aad: number, text: string) => new OAuthError(400, 'invalid_resource', aad, text),
  invalidScope: (aad: number, text: string) => new OAuthError(400, 'invalid_scope', aad, text),
  /** The server cannot take the request now (RFC 6749's temporarily_unavailable); the client tries again later. */
  temporarilyUnavailable: (text: string) => new OAuthError(503, 'temporarily_unavailable', null, text),
  unsupportedGrantType: (text: string) => new OAuthError(400, 'unsupported_grant_type', 70003, text),
  authorizationPending: () =>
    new OAuthError(400, 'authorization_pending', 70016, 'AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.'),
  expiredToken: () => new OAuthError(400, 'expired_token', 70020, 'AADSTS70020: The provided value for the input parameter \'device_code\' is not valid. This device code has expired.'),
  tenantNotFound: (tenant: string, error: 'invalid_tenant' | 'invalid_request' = 'invalid_tenant') =>
    new OAuthError(400, error, 90002, `AADSTS90002: Tenant '${echo(tenant)}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`),
};
