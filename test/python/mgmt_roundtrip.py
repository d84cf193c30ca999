"""Debian's python3-azure management clients (azure-mgmt-resource,
azure-mgmt-keyvault, azure-mgmt-authorization) against a coffer server, through
the workflow coffer exists for: a vault made, a credential stored, a connector
granted read access to exactly that secret (a "Key Vault Secrets User" role
assignment, or an access policy with Get), the grant taken away again.

Run by test/python-sdk.test.ts with COFFER_* variables; prints one JSON line
with what it observed, exits non-zero on any failure.
"""
import json
import os
import uuid

import loopback  # noqa: F401,E402  (resolves *.localhost before any client connects)

from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.secrets import SecretClient  # noqa: E402
from azure.mgmt.authorization import AuthorizationManagementClient  # noqa: E402
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters  # noqa: E402
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.keyvault.v2022_07_01.models import (  # noqa: E402
    AccessPolicyEntry,
    AccessPolicyUpdateKind,
    Permissions,
    SecretCreateOrUpdateParameters,
    SecretPatchParameters,
    SecretPatchProperties,
    SecretProperties,
    Sku,
    VaultAccessPolicyParameters,
    VaultAccessPolicyProperties,
    VaultCheckNameAvailabilityParameters,
    VaultCreateOrUpdateParameters,
    VaultProperties,
)
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

env = os.environ
tenant = env["COFFER_TENANT_ID"]
subscription = env["COFFER_SUBSCRIPTION_ID"]
arm_url = env["COFFER_AUTHORITY"]


def credential(client_id, secret):
    return ClientSecretCredential(tenant, client_id, secret, authority=arm_url, instance_discovery=False)


admin = credential(env["COFFER_CLIENT_ID"], env["COFFER_CLIENT_SECRET"])
connector = credential(env["COFFER_CONNECTOR_APP_ID"], env["COFFER_CONNECTOR_SECRET"])
connector_id = env["COFFER_CONNECTOR_OBJECT_ID"]
arm = {"base_url": arm_url, "credential_scopes": [arm_url.rstrip("/") + "/.default"]}
resources = ResourceManagementClient(admin, subscription, **arm)
vaults = KeyVaultManagementClient(admin, subscription, **arm)
authz = AuthorizationManagementClient(admin, subscription, **arm)
out = {}
VALUE = '{"username": "apono", "password": "s3cret"}'


def refusal(call):
    """The status and error code of a call that must fail, or 'allowed'."""
    try:
        call()
        return "allowed"
    except HttpResponseError as err:
        return [err.status_code, err.error.code if err.error else None]


resources.resource_groups.create_or_update("py-rg", {"location": "local"})
# HEAD (ResourceGroups_CheckExistence, `az group exists`): 204 or 404.
out["group_exists"] = [resources.resource_groups.check_existence("py-rg"), resources.resource_groups.check_existence("no-such-rg")]
sku = Sku(family="A", name="standard")

# Azure RBAC: the role found by name, assigned at the vault to the connector.
rbac = vaults.vaults.begin_create_or_update(
    "py-rg",
    "py-mgmt-rbac",
    VaultCreateOrUpdateParameters(location="local", properties=VaultProperties(tenant_id=tenant, sku=sku, enable_rbac_authorization=True)),
).result()
out["rbac_vault"] = [rbac.name, rbac.properties.vault_uri, rbac.properties.enable_rbac_authorization]
SecretClient(rbac.properties.vault_uri, admin).set_secret("apono-mysql-user", VALUE)
reader = SecretClient(rbac.properties.vault_uri, connector)
out["rbac_before"] = refusal(lambda: reader.get_secret("apono-mysql-user"))
role = list(authz.role_definitions.list(rbac.id, filter="roleName eq 'Key Vault Secrets User'"))
out["role"] = [r.role_name for r in role] + [role[0].name]
name = str(uuid.uuid4())
params = RoleAssignmentCreateParameters(role_definition_id=role[0].id, principal_id=connector_id, principal_type="ServicePrincipal")
assignment = authz.role_assignments.create(rbac.id, name, params)
out["assignment"] = [assignment.name == name, assignment.scope == rbac.id, assignment.principal_id == connector_id]
out["rbac_value"] = reader.get_secret("apono-mysql-user").value
out["rbac_set"] = refusal(lambda: reader.set_secret("apono-mysql-user", "overwritten"))
out["duplicate"] = refusal(lambda: authz.role_assignments.create(rbac.id, str(uuid.uuid4()), params))
out["listed"] = [a.name for a in authz.role_assignments.list_for_scope(rbac.id, filter="atScope()") if a.principal_id == connector_id]
authz.role_assignments.delete(rbac.id, name)
out["rbac_after"] = refusal(lambda: reader.get_secret("apono-mysql-user"))

# Vault access policies: a policy with secret Get only, then removed.
policy = vaults.vaults.begin_create_or_update(
    "py-rg",
    "py-mgmt-policy",
    VaultCreateOrUpdateParameters(location="local", properties=VaultProperties(tenant_id=tenant, sku=sku, access_policies=[])),
).result()
out["policy_vault"] = [policy.properties.enable_rbac_authorization, len(policy.properties.access_policies)]
# The value set through Resource Manager (as a template would), never read back there.
stored = vaults.secrets.create_or_update("py-rg", "py-mgmt-policy", "apono-mysql-user", SecretCreateOrUpdateParameters(properties=SecretProperties(value=VALUE)))
out["arm_secret"] = [stored.name, stored.properties.value]
get_only = AccessPolicyEntry(tenant_id=tenant, object_id=connector_id, permissions=Permissions(secrets=["get"]))
added = vaults.vaults.update_access_policy("py-rg", "py-mgmt-policy", AccessPolicyUpdateKind.ADD, VaultAccessPolicyParameters(properties=VaultAccessPolicyProperties(access_policies=[get_only])))
out["policies"] = [[p.object_id == connector_id, p.permissions.secrets] for p in added.properties.access_policies]
reader = SecretClient(policy.properties.vault_uri, connector)
out["policy_value"] = reader.get_secret("apono-mysql-user").value
out["policy_list"] = refusal(lambda: list(reader.list_properties_of_secrets()))
patched = vaults.secrets.update("py-rg", "py-mgmt-policy", "apono-mysql-user", SecretPatchParameters(properties=SecretPatchProperties(value="rotated")))
out["patched_new_version"] = patched.properties.secret_uri_with_version != stored.properties.secret_uri_with_version
out["policy_rotated"] = reader.get_secret("apono-mysql-user").value
vaults.vaults.update_access_policy("py-rg", "py-mgmt-policy", AccessPolicyUpdateKind.REMOVE, VaultAccessPolicyParameters(properties=VaultAccessPolicyProperties(access_policies=[get_only])))
out["policy_after"] = refusal(lambda: reader.get_secret("apono-mysql-user"))

# Listing, deleting and purging the vaults; the name is free again afterwards.
out["in_group"] = sorted(v.name for v in vaults.vaults.list_by_resource_group("py-rg"))
vaults.vaults.delete("py-rg", "py-mgmt-policy")
out["deleted"] = vaults.vaults.get_deleted("py-mgmt-policy", "local").name
check = VaultCheckNameAvailabilityParameters(name="py-mgmt-policy")
taken = vaults.vaults.check_name_availability(check)
out["name_while_deleted"] = [taken.name_available, taken.reason, taken.message]
invalid = vaults.vaults.check_name_availability(VaultCheckNameAvailabilityParameters(name="-bad-"))
out["name_invalid"] = [invalid.name_available, invalid.reason]
vaults.vaults.begin_purge_deleted("py-mgmt-policy", "local").result()
out["name_after_purge"] = vaults.vaults.check_name_availability(check).name_available

# Lists paged one vault at a time (the client follows nextLink), then the group deleted with the vault left in it.
out["paged_names"] = [v.name for v in vaults.vaults.list_by_subscription(top=1)]
out["unpaged_names"] = [v.name for v in vaults.vaults.list_by_subscription()]
out["pages_of_one"] = len(list(vaults.vaults.list_by_subscription(top=1).by_page()))
resources.resource_groups.begin_delete("py-rg").result()
out["group_after_delete"] = resources.resource_groups.check_existence("py-rg")
out["deleted_with_group"] = [d.name for d in vaults.vaults.list_deleted()]
print(json.dumps(out))
