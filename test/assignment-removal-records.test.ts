import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Role assignments that coffer removes by itself (a time-bound one past its
// end, one whose scope is gone) are in the audit trail too. With
// --audit-file, records cannot travel with the writes they describe: they
// follow them (the two-step path), in the database and the file alike.

type Rec = { operationName: string; resourceId: string; resultDescription: string; callerIpAddress: string; identity: { claim: { oid: string | null } } };

describe('audit records of role assignments removed by coffer', () => {
  let server: TestServer;
  let dir: string;
  let sub: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-removals-'));
    server = await startTestServer({ args: ['--purge-sweep-seconds', '1', '--audit-file', join(dir, 'audit.jsonl')] });
    sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const trail = async (operation: string) => (await api(server, 'GET', `/coffer/audit?operation=${operation}`)).body!.value as Rec[];

  it('a time-bound assignment past its end: removed by the sweep, recorded with no caller', async () => {
    const sp = await newServicePrincipal(server, 'short-lived');
    const end = new Date(Date.now() + 2000).toISOString();
    const assigned = await assignRole(server, sub, ROLE_IDS.Reader, sp.id, { endDateTime: end });
    assert.equal(assigned.status, 201, JSON.stringify(assigned.body));
    const id = assigned.body!.id as string;
    let records: Rec[] = [];
    for (let i = 0; i < 100 && records.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      records = (await trail('RoleAssignmentExpired')).filter((r) => r.resourceId === id.toUpperCase());
    }
    assert.equal(records.length, 1, 'one record of the expiry');
    assert.equal((await api(server, 'GET', `${id}?api-version=2022-04-01`)).status, 404);
    assert.equal(records[0]!.identity.claim.oid, null, 'coffer did it, not a caller');
    assert.equal(records[0]!.callerIpAddress, '');
    assert.match(records[0]!.resultDescription, new RegExp(`principal ${sp.id}.*end time had passed`));
  });

  it('a deleted group takes its assignments with it; the records follow the removal into the database and the file', async () => {
    const sp = await newServicePrincipal(server, 'group-reader');
    const group = `${sub}/resourceGroups/rg-short`;
    assert.equal((await api(server, 'PUT', `${group}?api-version=2021-04-01`, { location: 'local' })).status, 201);
    const assigned = await assignRole(server, group, ROLE_IDS.Reader, sp.id);
    assert.equal(assigned.status, 201);
    assert.equal((await api(server, 'DELETE', `${group}?api-version=2021-04-01`)).status, 200);
    const id = (assigned.body!.id as string).toUpperCase();
    const records = (await trail('RoleAssignmentRemovedWithScope')).filter((r) => r.resourceId === id);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.identity.claim.oid, server.bootstrap.objectId, 'the caller whose delete removed it');
    const file = readFileSync(join(dir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
    assert.equal(file.filter((r) => r.operationName === 'RoleAssignmentRemovedWithScope' && r.resourceId === id).length, 1);
    assert.equal(file.filter((r) => r.operationName === 'RoleAssignmentExpired').length, 1);
    assert.equal((await api(server, 'GET', '/coffer/audit/verify')).body!.ok, true, 'the chain holds');
  });
});
