import type Database from 'better-sqlite3';
import { HELD_KINDS, type AuthorizationDigestHost, type AuthorizationRows, type DigestGuard, type HeldKind } from '../authorization-digest-types.js';
import { toFederatedCredential, type FederatedRecord } from './sqlite-federated-credentials.js';
import { journalSchemaCheck, restoreJournalTriggers, sqliteJournal } from './sqlite-authorization-journal.js';
import { toKeyCredential, type KeyCredentialRecord } from './sqlite-identity-store.js';
import { toVault, type VaultRecord } from './sqlite-vault-store.js';

// The authorization digest (authorization/authorization-digest.ts) kept by
// the SQLite store: every write that changes a table of sealed rows (or
// deletes them with their parent: a principal's memberships and
// certificates, a purged vault) runs through `guarded`, in one IMMEDIATE
// transaction that opens the stored record, runs the write, folds the
// journal of the rows it added and removed (sqlite-authorization-journal.ts)
// into the record and seals it again: O(rows changed), never a read of every
// row. Entries found in the journal before the write are rows changed by
// another writer since coffer's last write: folded first, they must leave
// the record as it was, else the write is refused. A secret's reads and
// writes never come here. Until the server gives the store its guard (once
// it has checked the digest at start), writes run as they are.
//
// The seals of the vault and certificate rows the record counts are held in
// memory too (read once when the guard is given, then kept by each write's
// fold), so that a vault looked up or a certificate presented is tested
// alone. Role assignments, custom roles and memberships are read at start only.

/** Runs a synchronous write on the main connection inside the digest's transaction (when there is a guard). */
export type Guarded = <T>(write: () => T) => T;

export const DIGEST_SETTING_KEY = 'authorizationDigest';

type Held = Array<{ kind: HeldKind; added: boolean; mac: string }>;

export function sqliteAuthorizationDigest(db: Database.Database): { host: AuthorizationDigestHost; guarded: Guarded } {
  const keyCredentials = db.prepare<[], KeyCredentialRecord>('SELECT * FROM key_credentials');
  const vaults = db.prepare<[], VaultRecord>('SELECT * FROM vaults');
  const federated = db.prepare<[], FederatedRecord>('SELECT * FROM federated_credentials');
  const getRecord = db.prepare<[string], string>('SELECT value FROM settings WHERE key = ?').pluck();
  const setRecord = db.prepare<[string, string]>('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const restored = restoreJournalTriggers(db);
  const journal = sqliteJournal(db);
  const schemaProblems = journalSchemaCheck(db);
  let guard: DigestGuard | null = null;
  // How many counted rows carry each seal (as the digest counts them: a seal journaled twice, or stored on two
  // rows, counts twice), not a set: one planted entry must not make a row put back held. Held while above 0.
  const sets: Record<HeldKind, Map<string, number>> = { vaults: new Map(), 'key credentials': new Map(), 'federated credentials': new Map() };
  const count = (kind: HeldKind, mac: string, by: 1 | -1) => {
    const c = (sets[kind].get(mac) ?? 0) + by;
    if (c === 0) sets[kind].delete(mac);
    else sets[kind].set(mac, c);
  };

  const sealedWrite = db.transaction(<T>(g: DigestGuard, write: () => T): { result: T; n: number; held: Held } => {
    // Before anything is folded: a trigger of another writer's could add entries to the journal as the write runs.
    const problems = schemaProblems();
    if (problems.length > 0) g.tampered(`its journal was changed outside coffer (${problems.join(', ')})`);
    const { n, digests } = g.open(getRecord.get(DIGEST_SETTING_KEY) ?? null);
    const before = g.fold(digests, journal.take());
    g.unchanged(digests, before.digests);
    const result = write();
    const after = g.fold(before.digests, journal.take());
    setRecord.run(DIGEST_SETTING_KEY, g.record(after.digests, n + 1));
    return { result, n: n + 1, held: [...before.held, ...after.held] };
  });
  const holds = (kind: HeldKind, mac: string | null | undefined): boolean => {
    const g = guard;
    if (!g) return true;
    return (typeof mac === 'string' && (sets[kind].get(mac) ?? 0) > 0) || g.refuse(kind);
  };
  return {
    host: {
      use(g) {
        guard = g;
        for (const kind of HELD_KINDS) sets[kind].clear();
        if (!g) return;
        const rows: AuthorizationRows = {
          assignments: [],
          definitions: [],
          memberships: [],
          keyCredentials: keyCredentials.all().map(toKeyCredential),
          vaults: vaults.all().map(toVault),
          federatedCredentials: federated.all().map(toFederatedCredential),
        };
        for (const kind of HELD_KINDS) for (const mac of g.counted(kind, rows)) count(kind, mac, 1);
      },
      get guard() {
        return guard;
      },
      journalEmpty: () => journal.empty(),
      reset: () => journal.clear(),
      restoredTriggers: restored,
      vaultHolds: (row) => holds('vaults', row.mac),
      keyCredentialHolds: (row) => holds('key credentials', row.mac),
      federatedCredentialHolds: (row) => holds('federated credentials', row.mac),
    },
    guarded<T>(write: () => T): T {
      const g = guard;
      if (!g) return write();
      const { result, n, held } = sealedWrite.immediate(g, write) as { result: T; n: number; held: Held };
      // Committed: the held seals follow.
      for (const h of held) count(h.kind, h.mac, h.added ? 1 : -1);
      g.sealed(n);
      return result;
    },
  };
}
