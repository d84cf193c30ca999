// Azure built-in role definitions, copied verbatim (GUID `name`, `roleName`,
// `description`, permissions) from the JSON blocks Microsoft publishes in
// MicrosoftDocs/azure-docs:
//   articles/role-based-access-control/built-in-roles/privileged.md
//     (commit 0b8729eaf7eb0aabc6390cb17348d19761285f12, ms.date 07/01/2026)
//     Owner, Contributor, Role Based Access Control Administrator, User Access Administrator
//   articles/role-based-access-control/built-in-roles/general.md
//     (commit 03e5750af10b23b5ba437d5b333ec5e9437844f9, ms.date 02/23/2026)
//     Reader
//   articles/role-based-access-control/built-in-roles/security.md
//     (commit 03e5750af10b23b5ba437d5b333ec5e9437844f9, ms.date 02/23/2026)
//     all Key Vault roles
// Cross-checked against the 01/25/2025 versions of privileged.md (cc5826fc) and
// security.md (9772bfe3): identical for every role below.
// Descriptions are the JSON `description` (for Key Vault Contributor this differs
// from the docs' prose heading text). `assignableScopes` is ["/"] for all of them.
// `condition`/`conditionVersion` fields are omitted; only Key Vault Data Access
// Administrator has one (see DATA_ACCESS_ADMIN_ASSIGNABLE_ROLE_IDS).

import { GENERAL_ROLES } from './builtin-roles-general.js';

export interface RolePermission { actions: string[]; notActions: string[]; dataActions: string[]; notDataActions: string[] }
export interface BuiltInRole { id: string /* the role definition GUID */; roleName: string; description: string; permissions: RolePermission[] }

const KEY_VAULT_ROLES: readonly BuiltInRole[] = [
  {
    id: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    roleName: "Key Vault Administrator",
    description: "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.",
    permissions: [
      {
        actions: [
          "Microsoft.Authorization/*/read",
          "Microsoft.Insights/alertRules/*",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          "Microsoft.Support/*",
          "Microsoft.KeyVault/checkNameAvailability/read",
          "Microsoft.KeyVault/deletedVaults/read",
          "Microsoft.KeyVault/locations/*/read",
          "Microsoft.KeyVault/vaults/*/read",
          "Microsoft.KeyVault/operations/read",
        ],
        notActions: [],
        dataActions: ["Microsoft.KeyVault/vaults/*"],
        notDataActions: [],
      },
    ],
  },
  {
    id: "a4417e6f-fecd-4de8-b567-7b0420556985",
    roleName: "Key Vault Certificates Officer",
    description: "Perform any action on the certificates of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
    permissions: [
      {
        actions: [
          "Microsoft.Authorization/*/read",
          "Microsoft.Insights/alertRules/*",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          "Microsoft.Support/*",
          "Microsoft.KeyVault/checkNameAvailability/read",
          "Microsoft.KeyVault/deletedVaults/read",
          "Microsoft.KeyVault/locations/*/read",
          "Microsoft.KeyVault/vaults/*/read",
          "Microsoft.KeyVault/operations/read",
        ],
        notActions: [],
        dataActions: [
          "Microsoft.KeyVault/vaults/certificatecas/*",
          "Microsoft.KeyVault/vaults/certificates/*",
          "Microsoft.KeyVault/vaults/certificatecontacts/write",
        ],
        notDataActions: [],
      },
    ],
  },
  {
    id: "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
    roleName: "Key Vault Certificate User",
    description: "Read certificate contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
    permissions: [
      {
        actions: [],
        notActions: [],
        dataActions: [
          "Microsoft.KeyVault/vaults/certificates/read",
          "Microsoft.KeyVault/vaults/secrets/getSecret/action",
          "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
          "Microsoft.KeyVault/vaults/keys/read",
        ],
        notDataActions: [],
      },
    ],
  },
  {
    id: "f25e0fa2-a7c8-4377-a976-54943a77a395",
    roleName: "Key Vault Contributor",
    description: "Lets you manage key vaults, but not access to them.",
    permissions: [
      {
        actions: [
          "Microsoft.Authorization/*/read",
          "Microsoft.Insights/alertRules/*",
          "Microsoft.KeyVault/*",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          "Microsoft.Support/*",
        ],
        notActions: [
          "Microsoft.KeyVault/locations/deletedVaults/purge/action",
          "Microsoft.KeyVault/hsmPools/*",
          "Microsoft.KeyVault/managedHsms/*",
        ],
        dataActions: [],
        notDataActions: [],
      },
    ],
  },
  {
    id: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    roleName: "Key Vault Crypto Officer",
    description: "Perform any action on the keys of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
    permissions: [
      {
        actions: [
          "Microsoft.Authorization/*/read",
          "Microsoft.Insights/alertRules/*",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          "Microsoft.Support/*",
          "Microsoft.KeyVault/checkNameAvailability/read",
          "Microsoft.KeyVault/deletedVaults/read",
          "Microsoft.KeyVault/locations/*/read",
          "Microsoft.KeyVault/vaults/*/read",
          "Microsoft.KeyVault/operations/read",
        ],
        notActions: [],
        dataActions: [
          "Microsoft.KeyVault/vaults/keys/*",
          "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
        ],
        notDataActions: [],
      },
    ],
  },
  {
    id: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    roleName: "Key Vault Crypto Service Encryption User",
    description: "Read metadata of keys and perform wrap/unwrap operations. Only works for key vaults that use the 'Azure role-based access control' permission model.",
    permissions: [
      {
        actions: [
          "Microsoft.EventGrid/eventSubscriptions/write",
          "Microsoft.EventGrid/eventSubscriptions/read",
          "Microsoft.EventGrid/eventSubscriptions/delete",
        ],
        notActions: [],
        dataActions: [
          "Microsoft.KeyVault/vaults/keys/read",
          "Microsoft.KeyVault/vaults/keys/wrap/action",
          "Microsoft.KeyVault/vaults/keys/unwrap/action",
        ],
        notDataActions: [],
      },
    ],
  },
  {
    id: "08bbd89e-9f13-488c-ac41-acfcb10c90ab",
    roleName: "Key Vault Crypto Service Release User",
    description: "Release keys. Only works for key vaults that use the 'Azure role-based access control' permission model.",
    permissions: [
      {
        actions: [],
        notActions: [],
        dataActions: ["Microsoft.KeyVault/vaults/keys/release/action"],
        notDataActions: [],
      },
    ],
  },
  {
    id: "12338af0-0e69-4776-bea7-57ae8d297424",
    roleName: "Key Vault Crypto User",
    description: "Perform cryptographic operations using keys. Only works for key vaults that use the 'Azure role-based access control' permission model.",
    permissions: [
      {
        actions: [],
        notActions: [],
        dataActions: [
          "Microsoft.KeyVault/vaults/keys/read",
          "Microsoft.KeyVault/vaults/keys/update/action",
          "Microsoft.KeyVault/vaults/keys/backup/action",
          "Microsoft.KeyVault/vaults/keys/encrypt/action",
          "Microsoft.KeyVault/vaults/keys/decrypt/action",
          "Microsoft.KeyVault/vaults/keys/wrap/action",
          "Microsoft.KeyVault/vaults/keys/unwrap/action",
          "Microsoft.KeyVault/vaults/keys/sign/action",
          "Microsoft.KeyVault/vaults/keys/verify/action",
        ],
        notDataActions: [],
      },
    ],
  },
  {
    // Has a condition (conditionVersion "2.0"), omitted here: roleAssignments/write
    // is allowed only when the request's RoleDefinitionId, and roleAssignments/delete
    // only when the existing assignment's RoleDefinitionId, is one of
    // DATA_ACCESS_ADMIN_ASSIGNABLE_ROLE_IDS (ForAnyOfAnyValues:GuidEquals).
    // "Microsoft.Resources/deployments/*" appears twice in the published actions; kept as published.
    id: "8b54135c-b56d-4d72-a534-26097cfdc8d8",
    roleName: "Key Vault Data Access Administrator",
    description: "Manage access to Azure Key Vault by adding or removing role assignments for the Key Vault Administrator, Key Vault Certificates Officer, Key Vault Crypto Officer, Key Vault Crypto Service Encryption User, Key Vault Crypto User, Key Vault Reader, Key Vault Secrets Officer, or Key Vault Secrets User roles. Includes an ABAC condition to constrain role assignments.",
    permissions: [
      {
        actions: [
          "Microsoft.Authorization/roleAssignments/write",
          "Microsoft.Authorization/roleAssignments/delete",
          "Microsoft.Authorization/*/read",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          "Microsoft.Resources/subscriptions/read",
          "Microsoft.Management/managementGroups/read",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Support/*",
          "Microsoft.KeyVault/vaults/*/read",
        ],
        notActions: [],
        dataActions: [],
        notDataActions: [],
      },
    ],
  },
  {
    // Not in security.md's 02/23/2026 version above: the definition Resource Manager serves for it
    // (created 2024-09-04), as recorded by azure-rbac-catalog.org.
    id: "a68e7c17-0ab2-4c09-9a58-125dae29748c",
    roleName: "Key Vault Purge Operator",
    description: "Allows permanent deletion of soft-deleted vaults.",
    permissions: [
      {
        actions: [
          "Microsoft.Authorization/*/read",
          "Microsoft.Insights/alertRules/*",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          "Microsoft.KeyVault/deletedVaults/read",
          "Microsoft.KeyVault/locations/deletedVaults/read",
          "Microsoft.KeyVault/locations/deletedVaults/purge/action",
          "Microsoft.KeyVault/locations/operationResults/read",
        ],
        notActions: [],
        dataActions: [],
        notDataActions: [],
      },
    ],
  },
  {
    id: "21090545-7ca7-4776-b22c-e363652d74d2",
    roleName: "Key Vault Reader",
    description: "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as secret contents or key material. Only works for key vaults that use the 'Azure role-based access control' permission model.",
    permissions: [
      {
        actions: [
          "Microsoft.Authorization/*/read",
          "Microsoft.Insights/alertRules/*",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          "Microsoft.Support/*",
          "Microsoft.KeyVault/checkNameAvailability/read",
          "Microsoft.KeyVault/deletedVaults/read",
          "Microsoft.KeyVault/locations/*/read",
          "Microsoft.KeyVault/vaults/*/read",
          "Microsoft.KeyVault/operations/read",
        ],
        notActions: [],
        dataActions: [
          "Microsoft.KeyVault/vaults/*/read",
          "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ],
        notDataActions: [],
      },
    ],
  },
  {
    id: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    roleName: "Key Vault Secrets Officer",
    description: "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
    permissions: [
      {
        actions: [
          "Microsoft.Authorization/*/read",
          "Microsoft.Insights/alertRules/*",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          "Microsoft.Support/*",
          "Microsoft.KeyVault/checkNameAvailability/read",
          "Microsoft.KeyVault/deletedVaults/read",
          "Microsoft.KeyVault/locations/*/read",
          "Microsoft.KeyVault/vaults/*/read",
          "Microsoft.KeyVault/operations/read",
        ],
        notActions: [],
        dataActions: ["Microsoft.KeyVault/vaults/secrets/*"],
        notDataActions: [],
      },
    ],
  },
  {
    id: "4633458b-17de-408a-b874-0445c86b69e6",
    roleName: "Key Vault Secrets User",
    description: "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
    permissions: [
      {
        actions: [],
        notActions: [],
        dataActions: [
          "Microsoft.KeyVault/vaults/secrets/getSecret/action",
          "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ],
        notDataActions: [],
      },
    ],
  },
];

export const BUILT_IN_ROLES: readonly BuiltInRole[] = [...GENERAL_ROLES, ...KEY_VAULT_ROLES];

/** Key Vault Data Access Administrator: its roleAssignments/write and /delete are the conditioned ones. */
export const KV_DATA_ACCESS_ADMIN_ROLE_ID = '8b54135c-b56d-4d72-a534-26097cfdc8d8';

/**
 * Whether a grant's role gives roleAssignments/write without a condition. Changing a vault's permission
 * model needs such a grant: the conditioned Key Vault Data Access Administrator "cannot be used to
 * change permission model" (Key Vault's RBAC guide). coffer's other roles carry no condition.
 */
export const unconditioned = (grant: { role: { id: string } }): boolean => grant.role.id !== KV_DATA_ACCESS_ADMIN_ROLE_ID;

// Role definition ids that Key Vault Data Access Administrator's condition lets it
// assign (roleAssignments/write) and unassign (roleAssignments/delete), in the order
// they appear in the published condition. The same list is used for both actions:
// Key Vault Administrator, Key Vault Certificates Officer, Key Vault Crypto Officer,
// Key Vault Crypto Service Encryption User, Key Vault Crypto User, Key Vault Reader,
// Key Vault Secrets Officer, Key Vault Secrets User.
// (Key Vault Certificate User and Key Vault Crypto Service Release User are NOT included.)
export const DATA_ACCESS_ADMIN_ASSIGNABLE_ROLE_IDS: readonly string[] = [
  "00482a5a-887f-4fb3-b363-3b7fe8e74483",
  "a4417e6f-fecd-4de8-b567-7b0420556985",
  "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
  "e147488a-f6f5-4113-8e2d-b22465e65bf6",
  "12338af0-0e69-4776-bea7-57ae8d297424",
  "21090545-7ca7-4776-b22c-e363652d74d2",
  "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
  "4633458b-17de-408a-b874-0445c86b69e6",
];
