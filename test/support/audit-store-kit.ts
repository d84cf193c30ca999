import type Database from 'better-sqlite3';
import type { AuditEntry } from '../../src/audit/audit-types.js';

// Pieces shared by the audit store tests (audit-log, audit-key-generations).

/** A setting written straight into the database (null: removed), as someone who can write it would. */
export const setSetting = (db: Database.Database, key: string, value: string | null) =>
  value === null ? db.prepare('DELETE FROM settings WHERE key = ?').run(key) : db.prepare('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)').run(key, value);

/** An audit entry at `time`, as the audit hook would make for a secret read. */
export function auditEntry(time: string, operationName = 'SecretGet'): AuditEntry {
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
