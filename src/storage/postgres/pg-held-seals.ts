import type pg from 'pg';
import { HELD_KINDS, type AuthorizationRows, type DigestGuard, type HeldKind } from '../authorization-digest-types.js';
import type { FederatedCredentialRow } from '../federated-credential-types.js';
import type { KeyCredentialRow, VaultRow } from '../store-types.js';
import { fromJson, one, rows, type Queryable } from './pg-support.js';

// The seals of the vault and certificate rows the authorization digest's
// record counts, held in memory so that a vault looked up or a certificate
// presented is tested alone (as sqlite-authorization-digest.ts holds them).
// A cluster member's sets go stale when another member writes: a row not in
// them makes it read the record (one row); only if the record's counter has
// moved since the set was loaded does it read every row of the kind again,
// in one snapshot with the record, and take them only if their digest is the
// record's. Such reloads run at most once per second per kind (a row missed
// meanwhile waits for the next), so a row put back cannot make every request
// read every row; a row the record does not count is refused as on one server.

const RECORD = 'SELECT value FROM settings WHERE key = $1';
const RECORD_KEY = 'authorizationDigest';
const RELOAD_EVERY_MS = 1_000;

async function rowsOf(db: Queryable, kind: HeldKind): Promise<AuthorizationRows> {
  const none: AuthorizationRows = { assignments: [], definitions: [], memberships: [], keyCredentials: [], vaults: [], federatedCredentials: [] };
  if (kind === 'federated credentials') {
    const federatedCredentials = await rows<FederatedCredentialRow>(db, 'SELECT id, object_id AS "objectId", issuer, subject, audiences, mac FROM federated_credentials');
    return { ...none, federatedCredentials };
  }
  if (kind === 'key credentials') {
    const keyCredentials = await rows<KeyCredentialRow>(db, 'SELECT key_id AS "keyId", object_id AS "objectId", certificate, start_at AS "startAt", end_at AS "endAt", mac FROM key_credentials');
    return { ...none, keyCredentials };
  }
  const vaults = await rows<Omit<VaultRow, 'properties'> & { properties: string }>(
    db,
    'SELECT id, name, subscription_id AS "subscriptionId", resource_group AS "resourceGroup", properties, deleted_at AS "deletedAt", scheduled_purge_at AS "scheduledPurgeAt", mac FROM vaults',
  );
  return { ...none, vaults: vaults.map((v) => ({ ...v, properties: fromJson<VaultRow['properties']>(v.properties) })) };
}

export interface HeldSeals {
  has(kind: HeldKind, mac: string): boolean;
  /** Follows a committed write's fold. */
  follow(held: Array<{ kind: HeldKind; added: boolean; mac: string }>): void;
  /** Loads both sets under `guard` (null: empties them). */
  load(guard: DigestGuard | null): Promise<void>;
  /**
   * Whether every seal read is held; first, a cluster member reloads `kind`'s set if one is not and the record has
   * moved on since.
   */
  refresh(guard: DigestGuard, kind: HeldKind, macs: ReadonlyArray<string | null | undefined>): Promise<boolean>;
  /** Whether the kind's last look found the record moved past the set (other members writing), rather than as loaded. */
  moving(kind: HeldKind): boolean;
}

export function pgHeldSeals(pool: pg.Pool, cluster: boolean): HeldSeals {
  const perKind = <T>(make: () => T) => Object.fromEntries(HELD_KINDS.map((k) => [k, make()])) as Record<HeldKind, T>;
  // How many counted rows carry each seal, as the digest counts them (sqlite-authorization-digest.ts): a set would let
  // a planted removal followed by a planted addition (which leave the digest as it was) make a row put back held.
  const sets = perKind(() => new Map<string, number>());
  const count = (kind: HeldKind, mac: string, by: 1 | -1) => {
    const c = (sets[kind].get(mac) ?? 0) + by;
    if (c === 0) sets[kind].delete(mac);
    else sets[kind].set(mac, c);
  };
  const counted = (macs: string[]) => {
    const m = new Map<string, number>();
    for (const mac of macs) m.set(mac, (m.get(mac) ?? 0) + 1);
    return m;
  };
  const holds = (kind: HeldKind, mac: string) => (sets[kind].get(mac) ?? 0) > 0;
  const loadedAt = perKind<number | null>(() => null);
  const lastReload = perKind(() => 0);
  const reloading = perKind<Promise<void> | null>(() => null);
  /** Per kind, the looks at the record begun and finished (each numbered as it begins). */
  const looks = perKind(() => ({ started: 0, done: 0 }));
  const moved = perKind(() => false);
  const counter = async (g: DigestGuard, db: Queryable) => {
    // Read outside the write lock: a write sealed meanwhile (this member's, or one another read saw) is newer than it.
    const since = g.mark();
    const opened = g.open((await one<{ value: string }>(db, RECORD, [RECORD_KEY]))?.value ?? null, since);
    // The data dir's counter records the highest write a member has seen, the other members' included.
    g.sealed(opened.n);
    return opened;
  };

  /** The kind's rows and the record of one moment (guarded writes change both at once); a cluster's held to each other. */
  async function reload(g: DigestGuard, kind: HeldKind): Promise<void> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // One server loads its sets just after the start's check (or a renewal's sealing): only a cluster member reads the record.
      const record = cluster ? await counter(g, c) : null;
      const found = await rowsOf(c, kind);
      await c.query('COMMIT');
      if (record) {
        loadedAt[kind] = record.n;
        // A row put back since is in the rows but not in the record: the set stays as it was (and the row is refused).
        if (g.digestOf(kind, found) !== record.digests[kind]) return void g.refuse(kind);
      }
      sets[kind] = counted(g.counted(kind, found));
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  /** Reads the record (one row); only if it moved on since the set was loaded, the kind's rows too (at most once a second). */
  async function look(g: DigestGuard, kind: HeldKind): Promise<void> {
    const id = ++looks[kind].started;
    moved[kind] = (await counter(g, pool)).n !== loadedAt[kind];
    if (moved[kind]) {
      const wait = lastReload[kind] + RELOAD_EVERY_MS - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      lastReload[kind] = Date.now();
      await reload(g, kind);
    }
    looks[kind].done = Math.max(looks[kind].done, id);
  }

  return {
    has: holds,
    follow(held) {
      for (const h of held) {
        count(h.kind, h.mac, h.added ? 1 : -1);
      }
    },
    async load(g) {
      for (const kind of HELD_KINDS) {
        sets[kind] = new Map();
        loadedAt[kind] = null;
        if (g) await reload(g, kind);
      }
    },
    async refresh(g, kind, macs) {
      const held = () => macs.every((m) => typeof m !== 'string' || holds(kind, m));
      if (!cluster || held()) return held();
      // Only a look that starts after these rows were read can tell: one under way may have read before them.
      const need = looks[kind].started + 1;
      while (looks[kind].done < need && !held()) {
        reloading[kind] ??= look(g, kind).finally(() => (reloading[kind] = null));
        await reloading[kind];
      }
      return held();
    },
    moving: (kind) => moved[kind],
  };
}
