import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVault, credential, secretClient } from './support/clients.js';
import { ROLE_IDS, api, assignRole, newGroup, newServicePrincipal, setPolicy, type Principal } from './support/access-kit.js';
import { OPS, SECRET_OF, prepareVault, runOp, type OpContext, type OpName } from './support/secret-ops.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Who may do what, as tables. Each row is a grant; each column a secrets
// operation; Y = allowed, . = denied (403). Every cell is one real HTTPS call
// with the grantee's own token.

const COLUMNS = 'get set list versions update delete getDeleted listDeleted recover purge backup restore';

/** Built-in roles assigned at the vault (or above it). */
const RBAC_AT_VAULT: Record<keyof typeof ROLE_IDS & string, string> = {
  //                                      get set lst ver upd del gtD lsD rec prg bak rst
  'Key Vault Administrator':             'Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y',
  'Key Vault Secrets Officer':           'Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y',
  'Key Vault Secrets User':              'Y   .   Y   Y   .   .   Y   Y   .   .   .   .',
  'Key Vault Reader':                    '.   .   Y   Y   .   .   Y   Y   .   .   .   .',
  'Key Vault Certificates Officer':      '.   .   .   .   .   .   .   .   .   .   .   .',
  'Key Vault Crypto Officer':            '.   .   .   .   .   .   .   .   .   .   .   .',
  'Key Vault Crypto User':               '.   .   .   .   .   .   .   .   .   .   .   .',
  'Key Vault Contributor':               '.   .   .   .   .   .   .   .   .   .   .   .',
  'Key Vault Data Access Administrator': '.   .   .   .   .   .   .   .   .   .   .   .',
  Owner:                                 '.   .   .   .   .   .   .   .   .   .   .   .',
  Contributor:                           '.   .   .   .   .   .   .   .   .   .   .   .',
  Reader:                                '.   .   .   .   .   .   .   .   .   .   .   .',
  'User Access Administrator':           '.   .   .   .   .   .   .   .   .   .   .   .',
  'Key Vault Purge Operator':            '.   .   .   .   .   .   .   .   .   .   .   .',
};

/** Vault access policies (secret permissions) on a vault using the access-policy model. */
const POLICIES: Array<[string[], string]> = [
  //                       get set lst ver upd del gtD lsD rec prg bak rst
  [['get'],               'Y   .   .   .   .   .   Y   .   .   .   .   .'],
  [['list'],              '.   .   Y   Y   .   .   .   Y   .   .   .   .'],
  [['set'],               '.   Y   .   .   Y   .   .   .   .   .   .   .'],
  [['get', 'list'],       'Y   .   Y   Y   .   .   Y   Y   .   .   .   .'],
  [['delete', 'recover'], '.   .   .   .   .   Y   .   .   Y   .   .   .'],
  [['backup', 'restore'], '.   .   .   .   .   .   .   .   .   .   Y   Y'],
  [['purge'],             '.   .   .   .   .   .   .   .   .   Y   .   .'],
  [['all'],               'Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y'],
  [[],                    '.   .   .   .   .   .   .   .   .   .   .   .'],
];

const row = (cells: string): Record<OpName, boolean> => {
  const values = cells.trim().split(/\s+/);
  return Object.fromEntries(COLUMNS.split(' ').map((op, i) => [op, values[i] === 'Y'])) as Record<OpName, boolean>;
};

describe('authorization matrix', () => {
  let server: TestServer;
  let sub: string;
  let rbac: OpContext;
  let policy: OpContext;
  const rg = () => `/subscriptions/${sub}/resourceGroups/rg-test`;
  const vaultId = (name: string) => `${rg()}/providers/Microsoft.KeyVault/vaults/${name}`;
  const token = async (p: Principal) => (await credential(server, p.appId, p.secret).getToken(`https://${server.bootstrap.vaultDnsSuffix}:${server.port}/.default`)).token;

  async function check(p: Principal, expected: Record<OpName, boolean>, ctx: OpContext, label: string, innerCode: string, only?: (op: OpName) => boolean) {
    const t = await token(p);
    const mismatches: string[] = [];
    for (const op of OPS.filter(only ?? (() => true))) {
      const { status, error } = await runOp(ctx, op, t);
      const allowed = status !== 403;
      if (allowed !== expected[op]) mismatches.push(`${op}: expected ${expected[op] ? 'allow' : 'deny'}, got ${status} ${error?.code ?? ''}`);
      if (!allowed) assert.equal(error?.innererror?.code, innerCode, `${label} ${op}`);
    }
    assert.deepEqual(mismatches, [], label);
  }

  before(async () => {
    server = await startTestServer();
    sub = server.bootstrap.subscriptionId;
    await createVault(server, 'matrix-rbac', { enableRbacAuthorization: true, accessPolicies: [] });
    await createVault(server, 'matrix-policy', { enableRbacAuthorization: false });
    rbac = await prepareVault({ vaultUrl: server.vaultUrl('matrix-rbac'), admin: secretClient(server, 'matrix-rbac') });
    policy = await prepareVault({ vaultUrl: server.vaultUrl('matrix-policy'), admin: secretClient(server, 'matrix-policy') });
  });
  after(() => server?.stop());

  for (const [role, cells] of Object.entries(RBAC_AT_VAULT)) {
    it(`RBAC ${role}: at the vault, at the resource group, on each secret itself, on another secret`, async () => {
      const expected = row(cells);
      const roleId = ROLE_IDS[role as keyof typeof ROLE_IDS];
      const atVault = await newServicePrincipal(server, `${role} vault`);
      assert.equal((await assignRole(server, vaultId('matrix-rbac'), roleId, atVault.id)).status, 201);
      await check(atVault, expected, rbac, `${role} @vault`, 'ForbiddenByRbac');

      const atGroup = await newServicePrincipal(server, `${role} rg`);
      assert.equal((await assignRole(server, rg(), roleId, atGroup.id)).status, 201);
      await check(atGroup, expected, rbac, `${role} @rg`, 'ForbiddenByRbac');

      // On the secret itself: operations naming that secret follow the role;
      // operations on the whole vault (list, listDeleted, restore) are denied.
      const atSecret = await newServicePrincipal(server, `${role} secret`);
      for (const name of Object.values(SECRET_OF).filter((n): n is string => n !== null)) {
        assert.equal((await assignRole(server, `${vaultId('matrix-rbac')}/secrets/${name}`, roleId, atSecret.id)).status, 201);
      }
      const secretExpected = Object.fromEntries(OPS.map((op) => [op, SECRET_OF[op] !== null && expected[op]])) as Record<OpName, boolean>;
      await check(atSecret, secretExpected, rbac, `${role} @secret`, 'ForbiddenByRbac');

      const onOther = await newServicePrincipal(server, `${role} other`);
      assert.equal((await assignRole(server, `${vaultId('matrix-rbac')}/secrets/other`, roleId, onOther.id)).status, 201);
      await check(onOther, row(RBAC_AT_VAULT.Reader.replace(/Y/g, '.')), rbac, `${role} @other`, 'ForbiddenByRbac');
    });
  }

  for (const [permissions, cells] of POLICIES) {
    it(`access policy [${permissions.join(', ') || 'none'}]`, async () => {
      const p = await newServicePrincipal(server, `policy ${permissions.join('+')}`);
      if (permissions.length > 0) assert.equal((await setPolicy(server, vaultId('matrix-policy'), 'add', p.id, permissions)).status, 200);
      await check(p, row(cells), policy, `policy ${permissions}`, 'ForbiddenByPolicy');
    });
  }

  it('grants reach members of a group, including nested groups, in both models', async () => {
    const member = await newServicePrincipal(server, 'group member');
    const inner = await newGroup(server, 'inner', [member.id]);
    const outer = await newGroup(server, 'outer', [inner]);
    assert.equal((await assignRole(server, vaultId('matrix-rbac'), ROLE_IDS['Key Vault Secrets User'], outer)).status, 201);
    await check(member, row(RBAC_AT_VAULT['Key Vault Secrets User']), rbac, 'nested group rbac', 'ForbiddenByRbac');
    // Entra ID lets groups nest in a cycle; membership is followed once per group, and grants neither grow nor stall.
    assert.equal((await api(server, 'POST', `/v1.0/groups/${inner}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${outer}` })).status, 204);
    const groupsOf = await api(server, 'POST', `/v1.0/directoryObjects/${member.id}/getMemberGroups`, { securityEnabledOnly: false });
    assert.deepEqual([...groupsOf.body!.value].sort(), [inner, outer].sort());
    await check(member, row(RBAC_AT_VAULT['Key Vault Secrets User']), rbac, 'group cycle rbac', 'ForbiddenByRbac');
    assert.equal((await setPolicy(server, vaultId('matrix-policy'), 'add', inner, ['get'])).status, 200);
    await check(member, row(POLICIES[0]![1]), policy, 'group policy', 'ForbiddenByPolicy');
  });

  it('a time-bound assignment grants until its end time, then denies and is removed', async () => {
    const p = await newServicePrincipal(server, 'temporary');
    const end = new Date(Date.now() + 2500).toISOString();
    const created = await assignRole(server, vaultId('matrix-rbac'), ROLE_IDS['Key Vault Secrets User'], p.id, { endDateTime: end });
    assert.equal(created.status, 201);
    assert.equal(created.body!.properties.endDateTime, new Date(Math.floor(Date.parse(end) / 1000) * 1000).toISOString());
    await check(p, row(RBAC_AT_VAULT['Key Vault Secrets User']), rbac, 'before end', 'ForbiddenByRbac', (op) => op === 'get');
    await new Promise((r) => setTimeout(r, 3000));
    await check(p, row(RBAC_AT_VAULT.Owner), rbac, 'after end', 'ForbiddenByRbac', (op) => op === 'get');
    const past = await assignRole(server, vaultId('matrix-rbac'), ROLE_IDS['Key Vault Secrets User'], p.id, { endDateTime: new Date(Date.now() - 1000).toISOString() });
    assert.equal(past.status, 400);
  });

  it('switching the permission model flips which grants count', async () => {
    await createVault(server, 'matrix-switch', { enableRbacAuthorization: false });
    await secretClient(server, 'matrix-switch').setSecret('s-get', 'x');
    const byRole = await newServicePrincipal(server, 'switch role');
    const byPolicy = await newServicePrincipal(server, 'switch policy');
    await assignRole(server, vaultId('matrix-switch'), ROLE_IDS['Key Vault Secrets User'], byRole.id);
    await setPolicy(server, vaultId('matrix-switch'), 'add', byPolicy.id, ['get']);
    const get = async (p: Principal) =>
      (await fetch(`${server.vaultUrl('matrix-switch')}/secrets/s-get?api-version=7.6`, { headers: { authorization: `Bearer ${await token(p)}` } })).status;
    assert.deepEqual([await get(byRole), await get(byPolicy)], [403, 200]);
    const patch = await api(server, 'PATCH', `${vaultId('matrix-switch')}?api-version=2023-07-01`, { properties: { enableRbacAuthorization: true } });
    assert.equal(patch.status, 200);
    assert.deepEqual([await get(byRole), await get(byPolicy)], [200, 403]);
  });
});
