import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createAuditLog, toRecord } from '../src/audit/audit-log.js';
import type { AuditEntry } from '../src/audit/audit-types.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';

// The audit log's own rules: batching, chain verification, retention.

function entry(time: string, operationName = 'SecretGet'): AuditEntry {
  return {
    vault: 'v',
    secret: 's',
    principal: 'p',
    event: {
      time,
      resourceId: '/X',
      operationName,
      operationVersion: '7.6',
      category: 'AuditEvent',
      resultType: 'Success',
      resultSignature: 'OK',
      resultDescription: null,
      durationMs: 1,
      callerIpAddress: '127.0.0.1',
      correlationId: 'c',
      identity: { claim: { oid: 'p', upn: null, appid: 'a' } },
      properties: { clientInfo: null, requestUri: 'https://v/secrets/s', id: null, httpStatusCode: 200, isRbacAuthorized: false, isAccessPolicyMatch: true, appliedAssignmentId: null },
    },
  };
}

const open = () => {
  const file = join(mkdtempSync(join(tmpdir(), 'coffer-audit-log-')), 'coffer.db');
  return { file, store: openSqliteStore({ file }) };
};

describe('audit log', () => {
  it('keeps U+0000 out of the lookup columns, and in the event as sent', () => {
    const base = entry('2026-01-01T00:00:00.000Z');
    const uri = 'https://v/secrets/A\u0000b';
    const e = { ...base, vault: 'V\u0000', secret: 'A\u0000b', principal: '\u0000', event: { ...base.event, properties: { ...base.event.properties, requestUri: uri } } };
    const r = toRecord(e);
    assert.deepEqual([r.vault, r.secret, r.principal], ['v\uFFFD', 'a\uFFFDb', '\uFFFD']);
    assert.equal((JSON.parse(r.record) as typeof e.event).properties.requestUri, uri);
    assert.ok(!r.record.includes('\u0000'), 'JSON escapes it');
    assert.equal(toRecord({ ...e, vault: null, secret: undefined as unknown as null }).vault, null);
  });

  it('writes concurrent entries in order as one chain', async () => {
    const { store } = open();
    const log = createAuditLog({ store: store.audit });
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.write(entry(new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()))));
    await log.write(entry(new Date().toISOString()));
    assert.deepEqual(await log.verify(), { ok: true, checked: 51, head: 51 });
    await store.close();
  });

  it('detects reordered records', async () => {
    const { file, store } = open();
    const log = createAuditLog({ store: store.audit });
    for (const op of ['SecretGet', 'SecretSet', 'SecretList']) await log.write(entry(new Date().toISOString(), op));
    const db = new Database(file);
    const rows = db.prepare('SELECT seq, record, operation FROM audit_events ORDER BY seq').all() as Array<{ seq: number; record: string; operation: string }>;
    const swap = db.prepare('UPDATE audit_events SET record = ?, operation = ? WHERE seq = ?');
    db.transaction(() => {
      swap.run(rows[2]!.record, rows[2]!.operation, 2);
      swap.run(rows[1]!.record, rows[1]!.operation, 3);
    })();
    db.close();
    const result = await log.verify();
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.firstBadSeq, 2);
    await store.close();
  });

  it('retention drops old records and keeps the rest verifiable', async () => {
    const { store } = open();
    const log = createAuditLog({ store: store.audit });
    for (let i = 0; i < 10; i++) await log.write(entry(new Date(Date.UTC(2020, 0, 1 + i)).toISOString()));
    for (let i = 0; i < 5; i++) await log.write(entry(new Date(Date.UTC(2026, 0, 1 + i)).toISOString()));
    assert.equal(await log.retain(new Date(Date.UTC(2025, 0, 1))), 10);
    assert.equal((await store.audit.list({}, 100, null)).items.length, 5);
    assert.deepEqual(await log.verify(), { ok: true, checked: 5, head: 15 });
    await log.write(entry(new Date().toISOString()));
    assert.deepEqual(await log.verify(), { ok: true, checked: 6, head: 16 });
    await store.close();
  });
});

describe('audit chain hash format', () => {
  it('is SHA-256 over each field followed by NUL, so chains written by earlier versions still verify', async () => {
    const { createHash } = await import('node:crypto');
    const { rowHash } = await import('../src/audit/audit-chain.js');
    const row = { seq: 7, time: '2026-11-29T00:00:00.000Z', vault: 'kv', secret: null, principal: 'p', operation: 'SecretGet', resultType: 'Success', httpStatus: 200, record: '{"a":"ü"}', prevHash: 'ab'.repeat(32) };
    const h = createHash('sha256');
    for (const part of [row.prevHash, '7', row.time, 'kv', '', 'p', 'SecretGet', 'Success', '200', row.record]) h.update(part).update('\u0000');
    assert.equal(rowHash(row), h.digest('hex'));
  });
});

describe('audit chain hash buffer', () => {
  it('hashes fields written into its buffer exactly as the joined string, for any size and any script', async () => {
    const { createHash } = await import('node:crypto');
    const { rowHash } = await import('../src/audit/audit-chain.js');
    const reference = (r: Parameters<typeof rowHash>[0]) =>
      createHash('sha256')
        .update([r.prevHash, String(r.seq), r.time, r.vault ?? '', r.secret ?? '', r.principal ?? '', r.operation, r.resultType, String(r.httpStatus), r.record, ''].join('\u0000'))
        .digest('hex');
    // Well inside the 64 KiB buffer, every size across its edge (ending in a 3-byte character), and far past it.
    const records = ['', '{"a":"é€"}', 'x'.repeat(1000), 'é€'.repeat(100_000)];
    for (let n = 65_400; n <= 65_460; n++) records.push(`${'x'.repeat(n)}€`);
    for (const record of records) {
      const row = { seq: record.length, time: 't', vault: 'kv', secret: 'ü', principal: null, operation: 'SecretGet', resultType: 'Success', httpStatus: 200, record, prevHash: 'ab'.repeat(32) };
      assert.equal(rowHash(row), reference(row), `record of ${Buffer.byteLength(record)} bytes`);
    }
    // A short row after a long one: nothing of the earlier contents leaks into the digest.
    const short = { seq: 1, time: 't', vault: null, secret: null, principal: null, operation: 'X', resultType: 'Success', httpStatus: 200, record: '{}', prevHash: '0'.repeat(64) };
    assert.equal(rowHash(short), reference(short));
  });
});
