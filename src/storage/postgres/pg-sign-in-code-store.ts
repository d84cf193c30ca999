import type pg from 'pg';
import type { AuthCodeRow, DeviceCodeRow, SignInCodeStore } from '../store-types.js';
import { changes, one, unique } from './pg-support.js';

// Sign-ins in progress: device codes and authorization codes, as hashes,
// shared by every server of the database. Columns are selected under their
// row field names, so rows need no mapping.
//
// A start counts the pending codes and stores the new one in one statement.
// Under READ COMMITTED two starts at the same moment (on one server or two) each count
// without the other's row, so a cap may be overshot by about the number of
// concurrent starts: acceptable for limits that only keep one source from
// taking every slot. Redemption is strictly single use: one DELETE or UPDATE
// whose condition PostgreSQL re-checks on the locked row, so of concurrent
// redemptions exactly one gets it.

const DEVICE_CODE = `device_code_hash AS "deviceCodeHash", user_code AS "userCode", client_id AS "clientId", scope, source, network,
  expires_at AS "expiresAt", approved_by AS "approvedBy"`;
const AUTH_CODE = `code_hash AS "codeHash", object_id AS "objectId", client_id AS "clientId", redirect_uri AS "redirectUri", scope,
  challenge, nonce, source, expires_at AS "expiresAt", password_generation AS "passwordGeneration"`;

/** User codes are keyed upper case: people type them in either. */
const userCodeKey = (userCode: string) => userCode.toUpperCase();

/** At most `limit` rows are counted: the cap only needs to know whether it is reached. */
const below = (table: string, where: string, limit: string) => `(SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE ${where} LIMIT ${limit}) AS capped) < ${limit}`;

export function pgSignInCodeStore(pool: pg.Pool): SignInCodeStore {
  const pruneDevices = (now: number) => changes(pool, 'DELETE FROM device_codes WHERE expires_at < $1', [now]);
  const pruneCodes = (now: number) => changes(pool, 'DELETE FROM auth_codes WHERE expires_at < $1', [now]);
  return {
    async startDevice(row, limits, now) {
      await pruneDevices(now);
      const stored = await unique('device code', () =>
        changes(
          pool,
          `INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, source, network, expires_at, approved_by)
           SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint, NULL
           WHERE ${below('device_codes', 'expires_at >= $8', '$9::bigint')}
             AND ${below('device_codes', 'source = $5 AND expires_at >= $8', '$10::bigint')}
             AND ${below('device_codes', 'network = $6 AND expires_at >= $8', '$11::bigint')}`,
          [row.deviceCodeHash, userCodeKey(row.userCode), row.clientId, row.scope, row.source, row.network, row.expiresAt, now, limits.total, limits.perSource, limits.perNetwork ?? limits.total],
        ),
      );
      return stored === 1;
    },
    approveDevice: async (userCode, objectId, now) =>
      (await changes(pool, 'UPDATE device_codes SET approved_by = $1 WHERE user_code = $2 AND approved_by IS NULL AND expires_at >= $3', [objectId, userCodeKey(userCode), now])) > 0,
    pendingDevice: (userCode, now) =>
      one<{ clientId: string }>(pool, 'SELECT client_id AS "clientId" FROM device_codes WHERE user_code = $1 AND approved_by IS NULL AND expires_at >= $2', [userCodeKey(userCode), now]),
    takeDevice: (hash, clientId, now) =>
      one<DeviceCodeRow>(
        pool,
        `DELETE FROM device_codes WHERE device_code_hash = $1 AND client_id = $2 AND (approved_by IS NOT NULL OR expires_at < $3) RETURNING ${DEVICE_CODE}`,
        [hash, clientId, now],
      ),
    getDevice: (hash, clientId) => one<DeviceCodeRow>(pool, `SELECT ${DEVICE_CODE} FROM device_codes WHERE device_code_hash = $1 AND client_id = $2`, [hash, clientId]),
    async issueAuthCode(row, limits, now) {
      await pruneCodes(now);
      const stored = await unique('authorization code', () =>
        changes(
          pool,
          `INSERT INTO auth_codes (code_hash, object_id, client_id, redirect_uri, scope, challenge, nonce, source, expires_at, password_generation)
           SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::bigint, $13::integer
           WHERE ${below('auth_codes', 'NOT redeemed AND expires_at >= $10', '$11::bigint')}
             AND ${below('auth_codes', 'source = $8 AND NOT redeemed AND expires_at >= $10', '$12::bigint')}`,
          [row.codeHash, row.objectId, row.clientId, row.redirectUri, row.scope, row.challenge, row.nonce, row.source, row.expiresAt, now, limits.total, limits.perSource, row.passwordGeneration],
        ),
      );
      return stored === 1;
    },
    async takeAuthCode(hash, now) {
      // The row stays, marked, until it expires: a second redemption is told the code was redeemed.
      const row = await one<AuthCodeRow>(
        pool,
        `UPDATE auth_codes SET redeemed = true WHERE code_hash = $1 AND NOT redeemed AND expires_at >= $2 RETURNING ${AUTH_CODE}`,
        [hash, now],
      );
      if (row) return { result: 'taken', row };
      const seen = await one<{ redeemed: boolean }>(pool, 'SELECT redeemed FROM auth_codes WHERE code_hash = $1 AND expires_at >= $2', [hash, now]);
      return seen?.redeemed ? { result: 'redeemed' } : { result: 'unknown' };
    },
    deleteExpired: async (now) => (await pruneDevices(now)) + (await pruneCodes(now)),
  };
}
