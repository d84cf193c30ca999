import type Database from 'better-sqlite3';
import type { AuthCodeRow, DeviceCodeRow, SignInCodeStore } from '../store-types.js';
import { unique } from './sqlite-support.js';

// Sign-ins in progress: device codes and authorization codes, as hashes.
// Each start counts the pending codes and stores the new one in one IMMEDIATE
// transaction, so the caps hold exactly; each redemption is one statement.

interface DeviceCodeRecord {
  device_code_hash: string;
  user_code: string;
  client_id: string;
  scope: string;
  source: string;
  network: string;
  expires_at: number;
  approved_by: string | null;
}

interface AuthCodeRecord {
  code_hash: string;
  object_id: string;
  client_id: string;
  redirect_uri: string;
  scope: string;
  challenge: string;
  nonce: string | null;
  source: string;
  expires_at: number;
  password_generation: number;
}

const toDeviceCode = (r: DeviceCodeRecord): DeviceCodeRow => ({
  deviceCodeHash: r.device_code_hash,
  userCode: r.user_code,
  clientId: r.client_id,
  scope: r.scope,
  source: r.source,
  network: r.network,
  expiresAt: r.expires_at,
  approvedBy: r.approved_by,
});

const toAuthCode = (r: AuthCodeRecord): AuthCodeRow => ({
  codeHash: r.code_hash,
  objectId: r.object_id,
  clientId: r.client_id,
  redirectUri: r.redirect_uri,
  scope: r.scope,
  challenge: r.challenge,
  nonce: r.nonce,
  source: r.source,
  expiresAt: r.expires_at,
  passwordGeneration: r.password_generation,
});

/** User codes are keyed upper case: people type them in either. */
const userCodeKey = (userCode: string) => userCode.toUpperCase();

/** At most `limit` rows are counted: the cap only needs to know whether it is reached. */
const below = (table: string, where: string, limit: string) => `(SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE ${where} LIMIT ${limit})) < ${limit}`;

const AUTH_CODE_COLUMNS = 'code_hash, object_id, client_id, redirect_uri, scope, challenge, nonce, source, expires_at, password_generation';

export function sqliteSignInCodeStore(db: Database.Database): SignInCodeStore {
  const pruneDevices = db.prepare<[number]>('DELETE FROM device_codes WHERE expires_at < ?');
  const pruneCodes = db.prepare<[number]>('DELETE FROM auth_codes WHERE expires_at < ?');
  const insertDevice = db.prepare(
    `INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, source, network, expires_at, approved_by)
     SELECT @hash, @userCode, @clientId, @scope, @source, @network, @expiresAt, NULL
     WHERE ${below('device_codes', 'expires_at >= @now', '@total')}
       AND ${below('device_codes', 'source = @source AND expires_at >= @now', '@perSource')}
       AND ${below('device_codes', 'network = @network AND expires_at >= @now', '@perNetwork')}`,
  );
  // Only a pending sign-in: a second approval (someone else who saw the code) must not replace the first.
  const approve = db.prepare<[string, string, number]>('UPDATE device_codes SET approved_by = ? WHERE user_code = ? AND approved_by IS NULL AND expires_at >= ?');
  const pending = db.prepare<[string, number], { client_id: string }>('SELECT client_id FROM device_codes WHERE user_code = ? AND approved_by IS NULL AND expires_at >= ?');
  // One statement, so two concurrent polls cannot both get the sign-in.
  const takeDevice = db.prepare<[string, string, number], DeviceCodeRecord>(
    'DELETE FROM device_codes WHERE device_code_hash = ? AND client_id = ? AND (approved_by IS NOT NULL OR expires_at < ?) RETURNING *',
  );
  const getDevice = db.prepare<[string, string], DeviceCodeRecord>('SELECT * FROM device_codes WHERE device_code_hash = ? AND client_id = ?');
  const insertCode = db.prepare(
    `INSERT INTO auth_codes (${AUTH_CODE_COLUMNS})
     SELECT @codeHash, @objectId, @clientId, @redirectUri, @scope, @challenge, @nonce, @source, @expiresAt, @passwordGeneration
     WHERE ${below('auth_codes', 'redeemed = 0 AND expires_at >= @now', '@total')}
       AND ${below('auth_codes', 'source = @source AND redeemed = 0 AND expires_at >= @now', '@perSource')}`,
  );
  // One statement, so two concurrent redemptions cannot both get the code. The row stays, marked, until
  // it expires: a second redemption is told the code was redeemed.
  const takeCode = db.prepare<[string, number], AuthCodeRecord>(
    `UPDATE auth_codes SET redeemed = 1 WHERE code_hash = ? AND redeemed = 0 AND expires_at >= ? RETURNING ${AUTH_CODE_COLUMNS}`,
  );
  const redeemed = db.prepare<[string, number], { redeemed: number }>('SELECT redeemed FROM auth_codes WHERE code_hash = ? AND expires_at >= ?');

  const startDevice = db.transaction((params: Record<string, unknown>, now: number): boolean => {
    pruneDevices.run(now);
    return unique('device code', () => insertDevice.run(params)).changes === 1;
  });
  const issueCode = db.transaction((params: Record<string, unknown>, now: number): boolean => {
    pruneCodes.run(now);
    return unique('authorization code', () => insertCode.run(params)).changes === 1;
  });
  const deleteExpired = db.transaction((now: number): number => pruneDevices.run(now).changes + pruneCodes.run(now).changes);

  return {
    async startDevice(row, limits, now) {
      const params = {
        hash: row.deviceCodeHash,
        userCode: userCodeKey(row.userCode),
        clientId: row.clientId,
        scope: row.scope,
        source: row.source,
        network: row.network,
        expiresAt: row.expiresAt,
        now,
        total: limits.total,
        perSource: limits.perSource,
        perNetwork: limits.perNetwork ?? limits.total,
      };
      return startDevice.immediate(params, now);
    },
    approveDevice: async (userCode, objectId, now) => approve.run(objectId, userCodeKey(userCode), now).changes > 0,
    async pendingDevice(userCode, now) {
      const r = pending.get(userCodeKey(userCode), now);
      return r ? { clientId: r.client_id } : null;
    },
    async takeDevice(hash, clientId, now) {
      const r = takeDevice.get(hash, clientId, now);
      return r ? toDeviceCode(r) : null;
    },
    async getDevice(hash, clientId) {
      const r = getDevice.get(hash, clientId);
      return r ? toDeviceCode(r) : null;
    },
    async issueAuthCode(row, limits, now) {
      const params = { ...row, now, total: limits.total, perSource: limits.perSource };
      return issueCode.immediate(params, now);
    },
    async takeAuthCode(hash, now) {
      const r = takeCode.get(hash, now);
      if (r) return { result: 'taken', row: toAuthCode(r) };
      return redeemed.get(hash, now)?.redeemed === 1 ? { result: 'redeemed' } : { result: 'unknown' };
    },
    deleteExpired: async (now) => deleteExpired.immediate(now),
  };
}
