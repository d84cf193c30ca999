import type Database from 'better-sqlite3';
import type { AuthorizationDigestHost, AuthorizationRows, DigestGuard } from '../authorization-digest-types.js';
import { toAssignment, toRole, type AssignmentRecord, type RoleRecord } from './sqlite-access-store.js';
import { toKeyCredential, type KeyCredentialRecord } from './sqlite-identity-store.js';
import { toVault, type VaultRecord } from './sqlite-vault-store.js';

// The authorization digest (authorization/authorization-digest.ts) kept by
// the SQLite store: every write that changes a table of sealed rows (or
// deletes them with their parent: a principal's memberships and
// certificates, a purged vault) runs through `guarded`, in one IMMEDIATE
// transaction that checks the stored record against the rows before the
// write and seals the rows after it. A secret's reads and writes never come
// here. Until the server gives the store its guard (once it has checked the
// digest at start), writes run as they are.

/** Runs a synchronous write on the main connection inside the digest's transaction (when there is a guard). */
export type Guarded = <T>(write: () => T) => T;

export const DIGEST_SETTING_KEY = 'authorizationDigest';

export function sqliteAuthorizationDigest(db: Database.Database): { host: AuthorizationDigestHost; guarded: Guarded } {
  const assignments = db.prepare<[], AssignmentRecord>('SELECT * FROM role_assignments');
  const definitions = db.prepare<[], RoleRecord>('SELECT * FROM role_definitions');
  const memberships = db.prepare<[], { group_id: string; member_id: string; mac: string | null }>('SELECT group_id, member_id, mac FROM group_members');
  const keyCredentials = db.prepare<[], KeyCredentialRecord>('SELECT * FROM key_credentials');
  const vaults = db.prepare<[], VaultRecord>('SELECT * FROM vaults');
  const getRecord = db.prepare<[string], string>('SELECT value FROM settings WHERE key = ?').pluck();
  const setRecord = db.prepare<[string, string]>('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const rows = (): AuthorizationRows => ({
    assignments: assignments.all().map(toAssignment),
    definitions: definitions.all().map(toRole),
    memberships: memberships.all().map((r) => ({ groupId: r.group_id, memberId: r.member_id, mac: r.mac })),
    keyCredentials: keyCredentials.all().map(toKeyCredential),
    vaults: vaults.all().map(toVault),
  });
  let guard: DigestGuard | null = null;
  const sealedWrite = db.transaction(<T>(g: DigestGuard, write: () => T): { result: T; n: number } => {
    const n = g.check(getRecord.get(DIGEST_SETTING_KEY) ?? null, rows()) + 1;
    const result = write();
    setRecord.run(DIGEST_SETTING_KEY, g.seal(rows(), n));
    return { result, n };
  });
  return {
    host: {
      use(g) {
        guard = g;
      },
      get guard() {
        return guard;
      },
      vaultsHold() {
        const g = guard;
        if (!g) return true;
        const only: AuthorizationRows = { assignments: [], definitions: [], memberships: [], keyCredentials: [], vaults: vaults.all().map(toVault) };
        return g.holds(getRecord.get(DIGEST_SETTING_KEY) ?? null, only, 'vaults');
      },
    },
    guarded<T>(write: () => T): T {
      const g = guard;
      if (!g) return write();
      const { result, n } = sealedWrite.immediate(g, write) as { result: T; n: number };
      g.sealed(n);
      return result;
    },
  };
}
