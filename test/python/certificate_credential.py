"""Debian's python3-azure (azure-identity's CertificateCredential, over MSAL
Python) against a coffer server: a token by certificate (a client assertion),
twice, for two resources, then a secret read with it.

Run by test/certificate-credentials.test.ts with COFFER_* variables and
COFFER_CERT_CLIENT_ID, COFFER_CERT_PATH, COFFER_VAULT_URL and
COFFER_SECRET_NAME; prints one JSON line with what it observed.
"""
import json
import os

import loopback  # noqa: F401,E402  (resolves *.localhost before any client connects)

from azure.identity import CertificateCredential  # noqa: E402
from azure.keyvault.secrets import SecretClient  # noqa: E402

env = os.environ
credential = CertificateCredential(
    env["COFFER_TENANT_ID"],
    env["COFFER_CERT_CLIENT_ID"],
    certificate_path=env["COFFER_CERT_PATH"],
    authority=env["COFFER_AUTHORITY"],
    instance_discovery=False,
)
out = {}
# Two resources: MSAL signs one assertion and sends it with each request until it nears its expiry.
out["management_token"] = bool(credential.get_token(env["COFFER_AUTHORITY"] + "/.default").token)
client = SecretClient(vault_url=env["COFFER_VAULT_URL"], credential=credential)
out["value"] = client.get_secret(env["COFFER_SECRET_NAME"]).value
print(json.dumps(out))
