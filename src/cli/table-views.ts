import { projectTable } from './output-formats.js';
import type { TableView } from './output.js';

// The table views az gives some list commands (their table_transformer),
// column for column.

type Row = Record<string, unknown>;
const rows = (result: unknown): Row[] => (Array.isArray(result) ? result : [result]) as Row[];

/** az keyvault secret list (keyvault/_format.py transform_secret_list). */
export const secretListTable: TableView = {
  rows: (r) => projectTable(r, [['Name', 'name'], ['Id', 'id'], ['ContentType', 'contentType'], ['Enabled', 'attributes.enabled'], ['Expires', 'attributes.expires']]),
};

/** az group list (resource/commands.py transform_resource_group_list). */
export const groupListTable: TableView = {
  rows: (r) => rows(r).map((g) => ({ Name: g.name, Location: g.location, Status: (g.properties as Row | undefined)?.provisioningState })),
};

/** az role definition list (role/commands.py transform_definition_list). */
export const roleDefinitionListTable: TableView = {
  rows: (r) => rows(r).map((d) => ({ Name: d.roleName, Type: d.type, Description: d.description })),
};

/** az role assignment list (role/commands.py transform_assignment_list). */
export const roleAssignmentListTable: TableView = {
  rows: (r) => rows(r).map((a) => ({ Principal: a.principalName, Role: a.roleDefinitionName, Scope: a.scope })),
};

/** az ad sp list and ad app list (role/commands.py get_graph_object_transformer): sorted by display name, the Graph id shown. */
export const graphObjectListTable: TableView = {
  rows: (r) =>
    [...rows(r)]
      .sort((a, b) => (String(a.displayName) < String(b.displayName) ? -1 : String(a.displayName) > String(b.displayName) ? 1 : 0))
      .map((o) => ({ displayName: o.displayName ?? null, id: o.id ?? null, appId: o.appId ?? null, createdDateTime: o.createdDateTime ?? null })),
  skipKeys: ['type', 'etag'],
};

/** az account list (profile/_format.py transform_account_list). */
export const accountListTable: TableView = {
  rows: (r) => rows(r).map((a) => ({ Name: a.name, CloudName: a.cloudName, SubscriptionId: a.id, TenantId: a.tenantId, State: a.state ?? null, IsDefault: a.isDefault })),
};

/** coffer audit list: who did what to which, and how it ended (the record's JSON has the rest). */
export const auditListTable: TableView = {
  rows: (r) =>
    rows(r).map((a) => {
      const claim = ((a.identity as Row | undefined)?.claim ?? {}) as Row;
      return {
        Time: a.time,
        Operation: a.operationName,
        Result: a.resultSignature,
        Caller: claim.upn ?? claim.appid ?? claim.oid ?? null,
        Target: target((a.properties as Row | undefined)?.requestUri),
      };
    }),
};

/** A vault host's request as `vault/path` (`my-vault/secrets/db-user`), any other as its path. */
function target(uri: unknown): string | null {
  if (typeof uri !== 'string') return null;
  try {
    const u = new URL(uri);
    const vault = /^([^.]+)\.vault\./.exec(u.hostname)?.[1];
    return vault ? `${vault}${u.pathname}` : u.pathname;
  } catch {
    return null;
  }
}
