"""Debian's python3-azure against a coffer server: set, get, list (paged),
versions, properties, backup and restore, delete, recover, purge.

Run by test/python-sdk.test.ts with COFFER_* variables; prints one JSON line
with what it observed, exits non-zero on any failure.
"""
import json
import os
import sys

import loopback  # noqa: F401,E402  (resolves *.localhost before any client connects)

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.secrets import SecretClient  # noqa: E402

env = os.environ
credential = ClientSecretCredential(
    env["COFFER_TENANT_ID"],
    env["COFFER_CLIENT_ID"],
    env["COFFER_CLIENT_SECRET"],
    authority=env["COFFER_AUTHORITY"],
    instance_discovery=False,
)
client = SecretClient(vault_url=env["COFFER_VAULT_URL"], credential=credential)
out = {"api_version": client.api_version}

value = '{"username": "py-user", "password": "py-pass"}'
created = client.set_secret("py-secret", value, content_type="application/json")
out["set_id"] = created.id
out["set_version"] = created.properties.version
out["get_value"] = client.get_secret("py-secret").value
out["get_by_version"] = client.get_secret("py-secret", created.properties.version).value
client.set_secret("py-other", "second")
out["listed"] = sorted(p.name for p in client.list_properties_of_secrets())

deleted = client.begin_delete_secret("py-secret").result()
out["recovery_id"] = deleted.recovery_id
try:
    client.get_secret("py-secret")
    out["after_delete"] = "still readable"
except ResourceNotFoundError as err:
    out["after_delete"] = err.error.code if err.error else "404"
out["deleted_listed"] = sorted(d.name for d in client.list_deleted_secrets())
client.begin_recover_deleted_secret("py-secret").result()
out["recovered_value"] = client.get_secret("py-secret").value

# A second version, then the first disabled: versions are listed, a disabled one is refused.
second = client.set_secret("py-secret", "rotated", tags={"rotation": "2"})
updated = client.update_secret_properties("py-secret", created.properties.version, enabled=False, tags={"state": "retired"})
out["updated"] = [updated.enabled, updated.tags]
out["versions"] = sorted((v.version, v.enabled) for v in client.list_properties_of_secret_versions("py-secret"))
out["expected_versions"] = sorted([(created.properties.version, False), (second.properties.version, True)])
try:
    client.get_secret("py-secret", created.properties.version)
    out["disabled_get"] = "readable"
except HttpResponseError as err:
    out["disabled_get"] = [err.status_code, err.error.code if err.error else None]

# Paging: more secrets than one page (25) holds.
for i in range(30):
    client.set_secret(f"py-page-{i:02d}", "x")
out["paged_count"] = sum(1 for p in client.list_properties_of_secrets() if p.name.startswith("py-page-"))

# Backup, purge, restore: the value and both versions come back.
blob = client.backup_secret("py-secret")
client.begin_delete_secret("py-secret").result()
client.purge_deleted_secret("py-secret")
out["after_purge"] = sorted(d.name for d in client.list_deleted_secrets())
restored = client.restore_secret_backup(blob)
out["restored"] = [restored.name, client.get_secret("py-secret").value, len(list(client.list_properties_of_secret_versions("py-secret")))]

print(json.dumps(out))
