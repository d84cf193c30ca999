import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { render, type TableView } from '../src/cli/output.js';
import { asDeletedVault, asResource, asResourceGroup, asRoleAssignment, asSecret, asVault, pythonIsoformat } from '../src/cli/output-models.js';
import { groupListTable, roleAssignmentListTable, roleDefinitionListTable, secretListTable, graphObjectListTable } from '../src/cli/table-views.js';

// coffer's -o json|table|tsv|yaml and --query against Debian azure-cli's own
// formatting code (test/python/az_output.py: knack, PyYAML, az's table
// transformers), character for character, over results shaped like the
// commands' own.

interface Case {
  format: string;
  data: unknown;
  query?: string;
  table?: string;
}

function az(cases: Case[]): string[] {
  const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'python/az_output.py')], { input: JSON.stringify(cases), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

const VIEWS: Record<string, TableView> = {
  'secret list': secretListTable,
  'group list': groupListTable,
  'role definition list': roleDefinitionListTable,
  'role assignment list': roleAssignmentListTable,
  'ad sp list': graphObjectListTable,
  'ad app list': graphObjectListTable,
};

const secret = (name: string, extra: object = {}) => ({
  attributes: { created: '2026-12-03T18:00:00+00:00', enabled: true, expires: null, notBefore: null, recoverableDays: 90, recoveryLevel: 'Recoverable+Purgeable', updated: '2026-12-03T18:00:00+00:00' },
  contentType: null,
  id: `https://v1.vault.localhost:8443/secrets/${name}/0123456789abcdef0123456789abcdef`,
  kid: null,
  managed: null,
  name,
  tags: { 'file-encoding': 'utf-8' },
  ...extra,
});
const secrets = [secret('db', { value: '{"username": "u", "password": "p"}', contentType: 'application/json' }), secret('api-key', { attributes: { ...secret('x').attributes, enabled: false, expires: '2030-01-01T00:00:00+00:00' } })];
const vault = {
  id: '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/v1',
  name: 'v1',
  type: 'Microsoft.KeyVault/vaults',
  location: 'local',
  tags: {},
  resourceGroup: 'rg1',
  systemData: { createdAt: '2026-12-03T18:00:00.123Z', createdBy: 'admin@coffer.local', createdByType: 'User' },
  properties: {
    tenantId: '00000000-0000-4000-8000-000000000002',
    sku: { family: 'A', name: 'standard' },
    accessPolicies: [{ tenantId: 't', objectId: 'o', permissions: { secrets: ['get', 'list'], keys: [] } }],
    enableRbacAuthorization: true,
    enableSoftDelete: true,
    softDeleteRetentionInDays: 90,
    enablePurgeProtection: null,
    vaultUri: 'https://v1.vault.localhost:8443/',
    networkAcls: null,
  },
};
const groups = [
  { id: '/subscriptions/s/resourceGroups/rg1', name: 'rg1', type: 'Microsoft.Resources/resourceGroups', location: 'local', properties: { provisioningState: 'Succeeded' }, tags: null },
  { id: '/subscriptions/s/resourceGroups/rg2', name: 'rg2', type: 'Microsoft.Resources/resourceGroups', location: 'local', properties: { provisioningState: 'Succeeded' }, tags: { env: 'prod' } },
];
const roles = [
  { id: '/providers/Microsoft.Authorization/roleDefinitions/4633458b', name: '4633458b', type: 'Microsoft.Authorization/roleDefinitions', roleName: 'Key Vault Secrets User', roleType: 'BuiltInRole', description: 'Read secret contents. Only works for key vaults that use the \'Azure role-based access control\' permission model.', permissions: [{ actions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action', 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'] }], assignableScopes: ['/'] },
];
const assignments = [{ id: '/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a1', name: 'a1', principalId: 'p', principalName: 'apono-connector', principalType: 'ServicePrincipal', roleDefinitionName: 'Key Vault Secrets User', scope: '/subscriptions/s/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/v1/secrets/db', type: 'Microsoft.Authorization/roleAssignments' }];
const sps = [
  { id: 'b-id', appId: 'b-app', displayName: 'zeta', createdDateTime: null, servicePrincipalType: 'Application' },
  { id: 'a-id', appId: 'a-app', displayName: 'apono-connector', createdDateTime: '2026-12-03T18:00:00Z', servicePrincipalType: 'Application' },
];
const strings = {
  empty: '',
  long: 'Lets you manage key vaults, but not access to them, and not the secrets, keys or certificates in them, nor their role assignments.',
  longTrailing: `${'word '.repeat(30)}`,
  multiline: '-----BEGIN KEY-----\nabc\n\ndef\n-----END KEY-----\n',
  spaceBreak: 'a \nb',
  quotes: `it's "quoted"`,
  unicode: 'héllo wörld ✓ 秘密',
  tab: 'a\tb',
  control: 'bell\x07 and nul\0 and \x1b',
  bom: '\ufeffx',
  numbers: ['1', '1.5', '0x1F', '1e3', '1_000', '.inf', 'NaN', '12:30', '0o17', '+1'],
  words: ['yes', 'No', 'on', 'OFF', 'null', '~', 'True', '<<', '=', '-', '- a', '? a', '?a', 'a: b', 'a:b', 'a #b', 'a#b', '#a', '@x', '`x', '%a', '!a', '&a', '*a', '|a', '>a', '[1]', '{a}', 'a,b', '---x', '...x', ' lead', 'trail '],
  dates: ['2030-01-01', '2030-01-01T00:00:00+00:00', '2030-1-1 10:00:00', '2026-12-03T18:00:00.123Z'],
  nums: [0, -3, 4.5, 1e-7, 1e21, 123456789012],
  bools: [true, false, null],
  nested: [[1, 2], [], {}, { b: [{ y: 1, x: 2 }], a: {} }],
  deep: { a: { b: [{ c: 'Lets you manage key vaults, but not access to them, and not the secrets, keys or certificates in them.' }, ['x y '.repeat(30)]] } },
  longMultiline: `${'line one is long '.repeat(8)}\nsecond line ${'x '.repeat(50)}end`,
  astral: ['😀 smile', `${'tab\there '.repeat(12)}😀`, 'crlf\r\nline', '\u2028sep', 'nbsp\u00a0x', 'x\u0085y'],
  "it's": { 'a\nb': 1, '#k': [], 'k ': null },
};

const datasets: Array<{ data: unknown; table?: string; queries: string[] }> = [
  { data: secrets, table: 'secret list', queries: ['max_by(@, &name).name', 'min_by(@, &name)', 'max_by(@, &attributes.created).name', '{hi: max_by(@, &name).name, lo: min_by(@, &attributes.recoverableDays).name}', 'max_by([], &name)', '[].name', '[].{n:name, e:attributes.enabled, t:tags}', '[0]', "[?name=='db'].value | [0]", 'length(@)', '[].attributes.enabled', '[].[name, contentType]'] },
  { data: secrets[0], queries: ['value', 'attributes', '{z: name, a: id}', 'tags', 'attributes.enabled', 'missing'] },
  { data: vault, queries: ['properties.enableRbacAuthorization', 'properties.accessPolicies[0].permissions.secrets', 'properties', '{name:name, rbac:properties.enableRbacAuthorization}'] },
  { data: [vault], queries: ["[?resourceGroup=='rg1'].name"] },
  { data: groups, table: 'group list', queries: ['[].name'] },
  { data: roles, table: 'role definition list', queries: ['[0].description'] },
  { data: assignments, table: 'role assignment list', queries: ['[].{principal:principalName, role:roleDefinitionName}'] },
  { data: sps, table: 'ad sp list', queries: ['[].appId'] },
  { data: sps, table: 'ad app list', queries: [] },
  { data: strings, queries: ['words', 'numbers', 'dates', 'nums', 'bools', 'nested', 'long', 'multiline', 'unicode', '[long, longTrailing]', 'deep', 'longMultiline', 'astral'] },
  { data: [], table: 'secret list', queries: [] },
  { data: 'a string', queries: ['max_by(@, &name)', 'abs(@)'] },
  { data: [{ a: { x: 1 } }, { b: [1], c: null }], queries: ['[0]', '[].a'] },
  // Equal keys: Python's max and min return the first.
  { data: [{ k: 'b', i: 1 }, { k: 'c', i: 2 }, { k: 'a', i: 3 }, { k: 'c', i: 4 }, { k: 'a', i: 5 }], queries: ['max_by(@, &k).i', 'min_by(@, &k).i', 'max_by(@, &i).k', 'max_by(@, &k)', 'max_by(@, &missing)'] },
  // The same object more than once: PyYAML's anchors, unless an object the query built sends it through JSON.
  { data: { a: { x: 1, y: [2] }, b: [1, [3]], e: {}, l: [] }, queries: ['[a, a, b, b, e, e, l, l, a.y, a.y, [b], [b]]', '{p: a, q: a}', '[a, {z: a}]', '[[a], [a], b[1], b[1]]'] },
  {
    data: [
      { name: 'n1', tags: { env: 'prod', "it's": 'a "q"', t: true, n: null, f: 1.5, e: 1e300 }, list: [1, 'two', [false]], text: '  padded\u00a0\ufeff ' },
      { name: 'n2', tags: {}, list: [], text: 'a\r\nb\u2028c\x85d\u00e9\u0007' },
    ],
    queries: ['[].[name, tags, list]', '[].[name, text]', '[].{n: name, t: tags}', '[].[tags, {k: name}]', '[].text', '[].[list]'],
  },
  {
    data: { nested: { ['k'.repeat(123)]: { x: 1, y: [1, { p: 2, q: 3 }] }, ['k'.repeat(122)]: [1, 2], ['é'.repeat(130)]: {}, ['long key '.repeat(20)]: 'v' }, ['q:'.repeat(70)]: 3, '': { a: [] }, 'two\nlines': [{ a: 1 }] },
    queries: [],
  },
  { data: { 'a key': 1, 'yes': 2, '': 3, 'k:v': 4, 'é': 5, '\uff21 wide': 6, '😀 astral': 7, '\ue000 private': 8 }, queries: [] },
];

/** What coffer prints for a case, or its error line (the query error's wording is jmespath.js's own, so only its start is compared). */
function ourText(c: Case): string {
  try {
    return render(structuredClone(c.data), { output: c.format, query: c.query }, c.table ? VIEWS[c.table] : undefined) ?? '';
  } catch (err) {
    const message = (err as Error).message;
    return message.startsWith('Invalid jmespath query supplied') ? 'ERROR: Invalid jmespath query' : `ERROR: ${message}`;
  }
}

describe('output formats, as az prints them', () => {
  const cases: Case[] = [];
  for (const d of datasets) {
    for (const format of ['json', 'table', 'tsv', 'yaml']) {
      cases.push({ format, data: d.data, table: d.table });
      for (const query of d.queries) cases.push({ format, data: d.data, table: d.table, query });
    }
  }
  const expected = az(cases);

  for (const format of ['json', 'table', 'tsv', 'yaml']) {
    it(`-o ${format} prints what az prints, with and without --query`, () => {
      cases.forEach((c, i) => {
        if (c.format !== format) return;
        const ours = ourText(c);
        assert.equal(ours, expected[i], `${JSON.stringify(c.data).slice(0, 60)} ${c.query ? `--query ${c.query}` : ''} ${c.table ?? ''}`);
      });
    });
  }
});

describe('output options, as knack reads them', () => {
  it('takes -o in any case, and the colour formats as the plain ones', () => {
    const data = { b: 1, a: 'x' };
    assert.equal(render(data, { output: 'JSON' }), render(data, { output: 'json' }));
    assert.equal(render(data, { output: 'yamlc' }), 'a: x\nb: 1\n');
    assert.equal(render(data, { output: 'Table' }), render(data, { output: 'table' }));
    assert.throws(() => render(data, { output: 'xml' }), /coffer: 'xml' is not a valid value for '--output'\. Allowed values: json, jsonc, yaml, yamlc, table, tsv, none\.$/);
  });
});

/**
 * az 2.45's own rendering of a raw ARM answer (what the server sends): msrest deserializes it into the SDK
 * model, knack's todict turns it back with az's merge of additional_properties
 * (AzCliCommandInvoker.remove_additional_prop_layer), in the model's key order.
 */
const AZ_MODEL = `
import importlib, json, sys
from msrest import Deserializer
from knack.util import todict
from azure.cli.core.commands import AzCliCommandInvoker
from azure.cli.command_modules.keyvault._transformers import _extract_subresource_name_from_single_output
sys.path.insert(0, sys.argv[1])
out = []
for c in json.load(sys.stdin):
    models = importlib.import_module(c['module'])
    deserialize = Deserializer({k: v for k, v in vars(models).items() if isinstance(v, type)})
    obj = deserialize(c['model'], c['raw'])
    # keyvault's data-plane commands name the result after its id (extract_subresource_name); az prints keys sorted.
    if c.get('named'):
        obj = _extract_subresource_name_from_single_output(obj, 'id')
    result = todict(obj, AzCliCommandInvoker.remove_additional_prop_layer)
    out.append(json.dumps(result, ensure_ascii=False, separators=(',', ':'), sort_keys=bool(c.get('named'))))
print(json.dumps(out))
`;

/** What az 2.45 prints for each case (AZ_MODEL, with Debian's python3-azure and the 7.0 secret models of test/support). */
function azPrints(cases: Array<{ module: string; model: string; raw: unknown; named?: boolean }>): string[] {
  const r = spawnSync('/usr/bin/python3', ['-c', AZ_MODEL, join(import.meta.dirname, 'support')], { input: JSON.stringify(cases), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

/** JSON with every object's keys sorted, as Python's json.dumps(sort_keys=True) writes it. */
const sortedJson = (v: unknown): string =>
  JSON.stringify(v, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : value,
  );

describe('secret results, as az 2.45 prints its track-1 models (API version 7.0)', () => {
  const M = 'keyvault_v7_0_secret_models';
  const base = 'https://v1.vault.localhost:8443';
  // As coffer's server answers api-version 7.0: only what is set (no tags, no content type), times in epoch seconds.
  const attributes = { enabled: true, created: 1_764_957_240, updated: 1_764_957_300, recoveryLevel: 'Recoverable+Purgeable' };
  const deletion = { recoveryId: `${base}/deletedsecrets/db`, deletedDate: 1_764_957_400, scheduledPurgeDate: 1_772_733_400 };
  const cases: Array<{ model: string; kind: Parameters<typeof asSecret>[0]; raw: Record<string, unknown> }> = [
    { model: 'SecretBundle', kind: 'bundle', raw: { value: 'v', id: `${base}/secrets/db/0123456789abcdef0123456789abcdef`, attributes } },
    { model: 'SecretBundle', kind: 'bundle', raw: { value: '{}', id: `${base}/secrets/db/0123456789abcdef0123456789abcdef`, contentType: 'application/json', tags: { a: 'b' }, attributes: { ...attributes, nbf: 1_764_950_000, exp: 1_893_456_000.5 } } },
    // Keys a later API version adds are kept, as az merges msrest's additional_properties.
    { model: 'SecretBundle', kind: 'bundle', raw: { id: `${base}/secrets/db/0123456789abcdef0123456789abcdef`, attributes: { ...attributes, recoverableDays: 90 }, futureKey: 1 } },
    { model: 'SecretItem', kind: 'item', raw: { id: `${base}/secrets/db`, attributes } },
    { model: 'SecretItem', kind: 'item', raw: { id: `${base}/secrets/db/0123456789abcdef0123456789abcdef`, contentType: 'text/plain', tags: {}, attributes: { ...attributes, enabled: false } } },
    { model: 'DeletedSecretBundle', kind: 'deletedBundle', raw: { ...deletion, id: `${base}/secrets/db/0123456789abcdef0123456789abcdef`, attributes } },
    // A delete without soft delete: no recovery fields.
    { model: 'DeletedSecretBundle', kind: 'deletedBundle', raw: { id: `${base}/secrets/db/0123456789abcdef0123456789abcdef`, attributes: { ...attributes, recoveryLevel: 'Purgeable' } } },
    { model: 'DeletedSecretItem', kind: 'deletedItem', raw: { ...deletion, id: `${base}/secrets/db`, attributes } },
  ];

  it('every attribute of the model, null when unset; the name from the id; unix times as isoformat', () => {
    const expected = azPrints(cases.map((c) => ({ module: M, model: c.model, raw: c.raw, named: true })));
    cases.forEach((c, i) => assert.equal(sortedJson(asSecret(c.kind, structuredClone(c.raw))), expected[i], `${c.model} ${i}`));
    // The shape in words, for the first case.
    assert.deepEqual(Object.keys(asSecret('bundle', cases[0]!.raw)).sort(), ['attributes', 'contentType', 'id', 'kid', 'managed', 'name', 'tags', 'value']);
    assert.deepEqual(asSecret('bundle', cases[0]!.raw).attributes, { enabled: true, notBefore: null, expires: null, created: '2025-12-05T17:54:00+00:00', updated: '2025-12-05T17:55:00+00:00', recoveryLevel: 'Recoverable+Purgeable' });
  });
});

describe("management results, as az prints its SDK models", () => {
  const KV = 'azure.mgmt.keyvault.v2022_07_01.models';
  const sub = '/subscriptions/00000000-0000-4000-8000-000000000001';
  const vaultId = `${sub}/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/v1`;
  // As coffer's server sends them: only what is set, datetimes as JavaScript's toISOString.
  const systemData = { createdBy: 'admin', createdByType: 'Application', createdAt: '2026-12-03T18:00:58.000Z', lastModifiedBy: 'admin', lastModifiedByType: 'Application', lastModifiedAt: '2026-12-03T18:00:58.125Z' };
  const rbacVault = {
    id: vaultId, name: 'v1', type: 'Microsoft.KeyVault/vaults', location: 'local', tags: {}, systemData,
    properties: { sku: { family: 'A', name: 'standard' }, tenantId: 't', accessPolicies: [], enabledForDeployment: false, enableSoftDelete: true, softDeleteRetentionInDays: 90, enableRbacAuthorization: true, vaultUri: 'https://v1.vault.localhost:8443/', provisioningState: 'Succeeded', publicNetworkAccess: 'Enabled' },
  };
  const policyVault = {
    ...rbacVault,
    kind: 'unknown to the model',
    properties: {
      ...rbacVault.properties,
      enableRbacAuthorization: false,
      enablePurgeProtection: true,
      accessPolicies: [{ tenantId: 't', objectId: 'o', permissions: { secrets: ['get', 'list'] } }],
      networkAcls: { bypass: 'AzureServices', defaultAction: 'Deny', ipRules: [{ value: '198.51.100.7/32' }], virtualNetworkRules: [] },
      futureProperty: 'kept, as az merges additional_properties',
    },
  };
  const cases = [
    { module: KV, model: 'Vault', raw: rbacVault, ours: asVault },
    { module: KV, model: 'Vault', raw: policyVault, ours: asVault },
    { module: KV, model: 'Resource', raw: { id: vaultId, name: 'v1', type: 'Microsoft.KeyVault/vaults', location: 'local', tags: { a: 'b' } }, ours: asResource },
    {
      module: KV, model: 'DeletedVault', ours: asDeletedVault,
      raw: { id: `${sub}/providers/Microsoft.KeyVault/locations/local/deletedVaults/v1`, name: 'v1', type: 'Microsoft.KeyVault/deletedVaults', properties: { vaultId, location: 'local', deletionDate: '2026-12-03T18:00:58.000Z', scheduledPurgeDate: '2027-03-03T18:00:58.000Z', tags: {}, purgeProtectionEnabled: false } },
    },
    { module: 'azure.mgmt.resource.resources.v2021_04_01.models', model: 'ResourceGroup', raw: { id: `${sub}/resourceGroups/rg1`, name: 'rg1', type: 'Microsoft.Resources/resourceGroups', location: 'local', tags: {}, properties: { provisioningState: 'Succeeded' } }, ours: asResourceGroup },
    {
      module: 'azure.mgmt.authorization.v2020_04_01_preview.models', model: 'RoleAssignment', ours: asRoleAssignment,
      raw: {
        id: `${vaultId}/providers/Microsoft.Authorization/roleAssignments/a1`, name: 'a1', type: 'Microsoft.Authorization/roleAssignments',
        properties: { roleDefinitionId: `${sub}/providers/Microsoft.Authorization/roleDefinitions/r1`, principalId: 'p', principalType: 'ServicePrincipal', scope: vaultId, condition: null, description: 'd', endDateTime: '2030-01-01T00:00:00.000Z', createdOn: '2026-12-03T18:00:58.000Z', updatedOn: '2026-12-03T18:00:58.5Z', createdBy: 'p', updatedBy: 'p' },
      },
    },
  ];

  it('every attribute of the model, in its order, null when unset; unknown keys as az merges them; datetimes as isoformat', () => {
    const expected = azPrints(cases);
    cases.forEach((c, i) => assert.equal(JSON.stringify(c.ours(structuredClone(c.raw))), expected[i], `${c.model} ${i}`));
  });

  it("formats datetimes as Python's isoformat of msrest's datetime", () => {
    assert.equal(pythonIsoformat('2026-12-03T18:00:58.000Z'), '2026-12-03T18:00:58+00:00');
    assert.equal(pythonIsoformat('2026-12-03T18:00:58.12Z'), '2026-12-03T18:00:58.120000+00:00');
    assert.equal(pythonIsoformat('2026-12-03T18:00:58.1234567Z'), '2026-12-03T18:00:58.123456+00:00');
    assert.equal(pythonIsoformat('2026-12-03T18:00:58+0200'), '2026-12-03T18:00:58+02:00');
    assert.equal(pythonIsoformat('not a date'), 'not a date');
  });
});
