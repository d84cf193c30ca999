import assert from 'node:assert/strict';
import { api, newServicePrincipal } from './access-kit.js';
import { credential, secretClient } from './clients.js';
import { OPS, prepareVault, runOp, SECRET_OF } from './secret-ops.js';
import type { TestServer } from './server-fixture.js';

// Audit checks shared by the SQLite and PostgreSQL server tests.

const OPERATION_NAMES: Record<(typeof OPS)[number], string> = {
  get: 'SecretGet', set: 'SecretSet', list: 'SecretList', versions: 'SecretListVersions', update: 'SecretUpdate', delete: 'SecretDelete',
  getDeleted: 'SecretGetDeleted', listDeleted: 'SecretListDeleted', recover: 'SecretRecover', purge: 'SecretPurge', backup: 'SecretBackup', restore: 'SecretRestore',
};

export const vaultToken = async (server: TestServer, appId: string, secret: string) =>
  (await credential(server, appId, secret).getToken(`https://${server.bootstrap.vaultDnsSuffix}:${server.port}/.default`)).token;
export const auditRecords = async (server: TestServer, query: string) => (await api(server, 'GET', `/coffer/audit?maxresults=1000&${query}`)).body!.value as Array<Record<string, any>>;

/** Every secret operation, allowed and denied, leaves exactly one record with the right fields. */
export async function checkOneRecordPerOperation(server: TestServer, vault: string): Promise<void> {
  const records = () => auditRecords(server, `vault=${vault}`);
  const ctx = await prepareVault({ vaultUrl: server.vaultUrl(vault), admin: secretClient(server, vault) });
  const admin = await vaultToken(server, server.bootstrap.clientId, server.bootstrap.clientSecret);
  const outsider = await newServicePrincipal(server, `${vault}-outsider`);
  const outsiderToken = await vaultToken(server, outsider.appId, outsider.secret);
  for (const op of OPS) {
    const since = (await records()).reduce((m, r) => Math.max(m, r.seq), 0);
    // No reset after a destructive call: it would add records of its own.
    const allowed = await runOp(ctx, op, admin, { reset: false });
    const denied = await runOp(ctx, op, outsiderToken);
    assert.ok(allowed.status < 400, `${op} allowed: ${allowed.status}`);
    assert.equal(denied.status, 403);
    const mine = (await records()).filter((r) => r.seq > since);
    assert.deepEqual(mine.map((r) => [r.operationName, r.properties.httpStatusCode]), [[OPERATION_NAMES[op], allowed.status], [OPERATION_NAMES[op], 403]], op);
    const [ok, no] = mine as [Record<string, any>, Record<string, any>];
    assert.equal(ok.category, 'AuditEvent');
    assert.equal(ok.resultType, 'Success');
    assert.equal(ok.identity.claim.oid, server.bootstrap.objectId);
    assert.equal(ok.identity.claim.appid, server.bootstrap.clientId);
    assert.equal(ok.properties.isAccessPolicyMatch, true);
    assert.equal(ok.properties.isRbacAuthorized, false);
    assert.equal(ok.operationVersion, '7.6');
    assert.match(ok.properties.requestUri, new RegExp(`^https://${vault}\\.vault\\.localhost:\\d+/`));
    assert.match(ok.resourceId, new RegExp(`/PROVIDERS/MICROSOFT\\.KEYVAULT/VAULTS/${vault.toUpperCase()}$`));
    assert.ok(typeof ok.durationMs === 'number' && ok.callerIpAddress && ok.correlationId && ok.time);
    // The secret it touched (a restore's comes from its blob).
    const secret = op === 'restore' ? 'restore-me' : SECRET_OF[op];
    if (secret) assert.match(ok.properties.id, new RegExp(`/secrets/${secret}(/[0-9a-f]{32})?$`), op);
    else assert.equal(ok.properties.id, null, op);
    assert.equal(no.resultType, 'Failure');
    assert.equal(no.resultSignature, 'Forbidden');
    assert.equal(no.identity.claim.oid, outsider.id);
    assert.match(no.resultDescription, /does not have secrets/);
  }
}
