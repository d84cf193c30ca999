"""Debian's azure-mgmt-resource SubscriptionClient listing a coffer
subscription's locations (subscriptions.list_locations), at the package's
default API version and at az 2.45's (2019-11-01).

Run by test/python-locations.test.ts with COFFER_* variables; prints one JSON
line with what it observed, exits non-zero on any failure.
"""
import json
import os

import loopback  # noqa: F401,E402  (resolves *.localhost before any client connects)

from azure.identity import ClientSecretCredential  # noqa: E402
from azure.mgmt.resource import SubscriptionClient  # noqa: E402

env = os.environ
arm_url = env["COFFER_AUTHORITY"]
admin = ClientSecretCredential(env["COFFER_TENANT_ID"], env["COFFER_CLIENT_ID"], env["COFFER_CLIENT_SECRET"], authority=arm_url, instance_discovery=False)
arm = {"base_url": arm_url, "credential_scopes": [arm_url.rstrip("/") + "/.default"]}
subscription = env["COFFER_SUBSCRIPTION_ID"]

out = {}
for label, api_version in (("default", None), ("az", "2019-11-01")):
    client = SubscriptionClient(admin, **arm) if api_version is None else SubscriptionClient(admin, api_version=api_version, **arm)
    listed = list(client.subscriptions.list_locations(subscription))
    out[label] = [loc.as_dict() for loc in listed]
print(json.dumps(out))
