"""Debian azure-cli's own code for `secret set --file` and `secret download`.

Run by test/cli-secret-encoding.test.ts: reads a JSON list of cases on stdin
and prints, for each, what az stores (set) or writes (download), or the error
it raises, so coffer's CLI can be compared with it byte for byte. Nothing is
sent anywhere: the vault client is a stand-in that returns the given secret.
"""
import base64
import json
import os
import sys
import tempfile
import types

from azure.cli.command_modules.keyvault._validators import process_secret_set_namespace
from azure.cli.command_modules.keyvault.custom import download_secret


class _Attributes:
    pass


class _Cmd:
    def get_models(self, *_args, **_kwargs):
        return _Attributes


class _Client:
    def __init__(self, value, tags):
        self.secret = types.SimpleNamespace(value=value, tags=tags)

    def get_secret(self, *_args):
        return self.secret


def _set(case):
    ns = types.SimpleNamespace(value=None, file_path=case["file"], encoding=case["encoding"], tags=None,
                               expires=None, disabled=None, not_before=None)
    process_secret_set_namespace(_Cmd(), ns)
    return {"value": ns.value, "tags": ns.tags}


def _download(case):
    out = os.path.join(tempfile.mkdtemp(), "out")
    try:
        download_secret(_Client(case["value"], case.get("tags")), out, encoding=case.get("encoding"))
    except Exception as err:  # pylint: disable=broad-except
        return {"error": type(err).__name__, "fileLeft": os.path.exists(out)}
    with open(out, "rb") as f:
        return {"bytes": base64.b64encode(f.read()).decode("ascii")}


results = []
for case in json.load(sys.stdin):
    try:
        results.append(_set(case) if case["op"] == "set" else _download(case))
    except Exception as err:  # pylint: disable=broad-except
        results.append({"error": type(err).__name__})
print(json.dumps(results))
