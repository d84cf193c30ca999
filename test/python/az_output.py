"""Debian azure-cli's own output formatting (knack and PyYAML) for given results.

Run by test/cli-output.test.ts: reads a JSON list of cases ({format, data,
query?, table?}) on stdin and prints, for each, the text az would print for
that command result, using az's --query (jmespath with ordered dicts) and the
named command's table transformer.
"""
import collections
import json
import sys
import types

import jmespath
from knack.output import _TableOutput, format_json, format_table, format_tsv, format_yaml
from azure.cli.command_modules.keyvault._format import transform_secret_list
from azure.cli.command_modules.resource.commands import transform_resource_group_list
from azure.cli.command_modules.role.commands import (get_graph_object_transformer, transform_assignment_list,
                                                     transform_definition_list)

TRANSFORMERS = {
    "secret list": lambda: transform_secret_list,
    "group list": lambda: transform_resource_group_list,
    "role definition list": lambda: transform_definition_list,
    "role assignment list": lambda: transform_assignment_list,
    "ad sp list": lambda: get_graph_object_transformer("sp"),
    "ad app list": lambda: get_graph_object_transformer("app"),
}
FORMATS = {"json": format_json, "table": format_table, "tsv": format_tsv, "yaml": format_yaml}
SKIP_KEYS = list(_TableOutput.SKIP_KEYS)


def render(case):
    result = case["data"]
    query = case.get("query")
    if query:
        try:
            result = jmespath.search(query, result, jmespath.Options(collections.OrderedDict))
        except jmespath.exceptions.JMESPathError:
            return "ERROR: Invalid jmespath query"  # the message is jmespath's own, in Python and in JS

    if result is None:
        return ""
    transformer = TRANSFORMERS[case["table"]]() if case.get("table") else None
    obj = types.SimpleNamespace(result=result, table_transformer=transformer, is_query_active=bool(query))
    try:
        return FORMATS[case["format"]](obj)
    except Exception as ex:  # pylint: disable=broad-except
        return "ERROR: " + str(ex)
    finally:
        _TableOutput.SKIP_KEYS[:] = SKIP_KEYS  # the graph transformer removes 'id' for good


print(json.dumps([render(case) for case in json.load(sys.stdin)]))
