import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migratePostgres, PG_MIGRATIONS } from '../src/storage/postgres/pg-migrations.js';
import { SchemaTooNewError } from '../src/storage/schema-version.js';
import { openPostgresStore, StoreLockedError } from '../src/storage/postgres/pg-store.js';
import { takeServerLock } from '../src/storage/postgres/pg-lock-renewal.js';
import { createServer, connect, type Socket } from 'node:net';
import { StoreParentGoneError, type Store } from '../src/storage/store-types.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';
import { pgQuery } from './support/pg-rows.js';
import { BATCH_MAX_WRITES } from '../src/storage/postgres/pg-writer.js';
import { auditRecord, runStoreConformance, vaultRow, versionRow } from './support/store-conformance.js';
import { insertVault, keyAuditChain } from './support/store-conformance-kit.js';
import { randomBytes } from 'node:crypto';
import { createKeyring } from '../src/crypto/keyring.js';
import { createAuditKeySource, loadAuditKey, renewAuditKey } from '../src/audit/audit-key.js';
import { verifyChain } from '../src/audit/audit-chain.js';
import { CREDENTIAL_PEPPER_SETTING } from '../src/identity/credential-pepper-row.js';

// The PostgreSQL store against a real PostgreSQL server: the shared
// conformance suite (a fresh database per case), then what is specific to it.

// pg warns once per process of uses it will refuse in version 9 (such as a query queued on a busy
// connection); the last test checks that nothing in this file drew one.
const pgDeprecations: string[] = [];
process.on('warning', (w) => {
  if (w.name === 'DeprecationWarning' && w.message.includes('pg@9')) pgDeprecations.push(w.message);
});

let db: TestDatabase;
before(async () => {
  db = await startPostgres();
});
after(() => db?.stop());

/** A store on a fresh database with one vault in it, closed after `run`. */
async function withVault(run: (store: Store, vaultId: string, url: string) => Promise<void>): Promise<void> {
  const url = await freshPostgresDatabase(db);
  const store = await openPostgresStore(url);
  try {
    await keyAuditChain(store);
    const v = vaultRow();
    await insertVault(store, v);
    await run(store, v.id, url);
  } finally {
    await store.close();
  }
}

const recordedVersions = async (url: string) =>
  (await pgQuery<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version')).map((r) => r.version);
const latestKnown = Math.max(...PG_MIGRATIONS.map((m) => m.version));

runStoreConformance('postgres', async () => {
  const store = await openPostgresStore(await freshPostgresDatabase(db));
  return { store, cleanup: () => store.close() };
});

describe('postgres store specifics', () => {
  it('records the migrations, and reopening applies nothing twice and keeps the data', async () => {
    const url = await freshPostgresDatabase(db);
    const first = await openPostgresStore(url);
    assert.equal(first.kind, 'postgres');
    const v = vaultRow();
    await insertVault(first, v);
    const secret = await first.secrets.insertVersion(versionRow(v.id, 'kept', { tags: { a: 'b' } }));
    await first.settings.set('tenantId', 't-1');
    await first.close();
    const all = PG_MIGRATIONS.map((m) => m.version);
    assert.deepEqual(await recordedVersions(url), all);

    const second = await openPostgresStore(url);
    try {
      assert.deepEqual(await second.vaults.getById(v.id), v);
      assert.deepEqual(await second.secrets.getVersion(v.id, 'kept', null), secret);
      assert.equal(await second.settings.get('tenantId'), 't-1');
    } finally {
      await second.close();
    }
    assert.deepEqual(await recordedVersions(url), all);
  });

  it('applies only pending migrations, each batch atomically', async () => {
    const url = await freshPostgresDatabase(db);
    await (await openPostgresStore(url)).close();
    const pool = new pg.Pool({ connectionString: url });
    try {
      const next = latestKnown + 1;
      assert.equal(await migratePostgres(pool, url, [...PG_MIGRATIONS, { version: next, sql: 'CREATE TABLE extra (x integer)' }]), next);
      const broken = { version: next + 1, sql: 'CREATE TABLE half_done (x integer); INSERT INTO no_such_table VALUES (1);' };
      await assert.rejects(migratePostgres(pool, url, [...PG_MIGRATIONS, { version: next, sql: 'unused' }, broken]), /no_such_table/);
    } finally {
      await pool.end();
    }
    const tables = (await pgQuery<{ t: string }>(url, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")).map((r) => r.t);
    assert.ok(tables.includes('extra'));
    assert.ok(!tables.includes('half_done'), 'a failed migration leaves nothing behind');
    assert.deepEqual(await recordedVersions(url), [...PG_MIGRATIONS.map((m) => m.version), latestKnown + 1]);
  });

  it('refuses a database whose schema is newer than the code, and releases its lock', async () => {
    const url = await freshPostgresDatabase(db);
    await (await openPostgresStore(url)).close();
    await pgQuery(url, `INSERT INTO schema_migrations (version, applied_at) VALUES (${latestKnown + 98}, 0)`);
    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(openPostgresStore(url), (err: unknown) => {
        assert.ok(err instanceof SchemaTooNewError, String(err));
        assert.match(err.message, new RegExp(`/coffer_\\w+ has schema version ${latestKnown + 98}, newer than this coffer understands`));
        return true;
      });
    }
  });

  it('refuses a second store on the same database while the first is open, and allows it after close', async () => {
    const url = await freshPostgresDatabase(db);
    const first = await openPostgresStore(url);
    try {
      await assert.rejects(openPostgresStore(url), (err: unknown) => {
        assert.ok(err instanceof StoreLockedError);
        assert.match(err.message, /in use by another coffer server/);
        assert.doesNotMatch(err.message, /coffer-test-password/, 'the URL password is not in the message');
        return true;
      });
      await first.settings.set('still', 'works');
    } finally {
      await first.close();
    }
    const second = await openPostgresStore(url);
    try {
      assert.equal(await second.settings.get('still'), 'works');
    } finally {
      await second.close();
    }
  });

  it('the lock counts as lost when its connection stops answering (a network partition), and the database lets a standby have it', async () => {
    const url = new URL(await freshPostgresDatabase(db));
    // A TCP relay to PostgreSQL that can go silent: bytes stop flowing both ways, the sockets stay open.
    let silent = false;
    const sockets: Socket[] = [];
    const relay = createServer((inbound) => {
      const outbound = connect(Number(url.port), url.hostname);
      sockets.push(inbound, outbound);
      inbound.on('data', (d) => void (silent || outbound.write(d)));
      outbound.on('data', (d) => void (silent || inbound.write(d)));
      inbound.on('error', () => undefined);
      outbound.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const relayed = new URL(url);
    relayed.port = String((relay.address() as { port: number }).port);
    try {
      const lock = await takeServerLock(relayed.toString(), { heartbeatMs: 100, heartbeatTimeoutMs: 500 });
      let lostWith: Error | null = null;
      void lock.lost.then((err) => (lostWith = err));
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(lostWith, null, 'held while the heartbeat is answered');
      silent = true;
      const err = await Promise.race([lock.lost, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the lock was not reported lost')), 5_000))]);
      assert.match(err.message, /lost the database lock: the connection holding it did not answer within 0.5 s/);
      // The lost session still holds the lock on the server side until its socket goes; then a waiting server gets it.
      let waiting!: () => void;
      const isWaiting = new Promise<void>((resolve) => (waiting = resolve));
      const standby = takeServerLock(url.toString(), { wait: true, onWaiting: () => waiting() });
      await isWaiting;
      for (const s of sockets) s.destroy();
      await (await standby).release();
    } finally {
      for (const s of sockets) s.destroy();
      relay.close();
    }
  });

  it('the change triggers announce a committed change of each cached table, never a rolled-back one, and an UPDATE that moves a key names both keys', () =>
    withVault(async (store, vaultId, url) => {
      const listener = new pg.Client({ connectionString: url });
      await listener.connect();
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(n.payload ?? ''));
      await listener.query('LISTEN coffer_changes');
      const sql = (text: string) => pgQuery(url, text);
      try {
        await sql(`INSERT INTO principals (object_id, kind, display_name, created_at) VALUES ('g1', 'Group', 'G', 0), ('m1', 'User', 'M', 0), ('m2', 'User', 'M2', 0)`);
        await sql(`INSERT INTO group_members (group_id, member_id) VALUES ('g1', 'm1')`);
        await sql(`BEGIN; INSERT INTO group_members (group_id, member_id) VALUES ('g1', 'm2'); ROLLBACK`);
        await sql(`UPDATE group_members SET member_id = 'm2' WHERE group_id = 'g1' AND member_id = 'm1'`);
        await store.vaults.update(vaultId, { tags: { t: '1' }, updatedAt: 5 });
        // Of the settings, only the credential pepper's row is announced, and only when its value changes.
        await store.settings.set('someSetting', 'x');
        await store.settings.setIfAbsent(CREDENTIAL_PEPPER_SETTING, 'first');
        await store.settings.replace(CREDENTIAL_PEPPER_SETTING, 'first', 'renewed');
        await sql(`UPDATE settings SET value = value WHERE key = '${CREDENTIAL_PEPPER_SETTING}'`);
        // Announcements arrive in commit order: once this one is heard, nothing before it is still on its way.
        await sql("NOTIFY coffer_changes, 'end'");
        const deadline = Date.now() + 5_000;
        while (!heard.includes('end') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(heard, ['membership g1/m1', 'membership g1/m2', 'membership g1/m1', `vault ${vaultId}`, `setting ${CREDENTIAL_PEPPER_SETTING}`, `setting ${CREDENTIAL_PEPPER_SETTING}`, 'end']);
      } finally {
        await listener.end();
      }
    }));

  it('concurrent new versions of one secret get distinct, consecutive seqs', () =>
    withVault(async (store, vaultId) => {
      const n = 40;
      // Mixed spellings: the writers race to create the secret as well as to extend it.
      const written = await Promise.all(Array.from({ length: n }, (_, i) => store.secrets.insertVersion(versionRow(vaultId, i % 2 ? 'Racy' : 'racy'))));
      assert.deepEqual(written.map((w) => w.seq).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i + 1));
      assert.equal(new Set(written.map((w) => w.name)).size, 1, 'every version carries the canonical name');
      const latest = written.find((w) => w.seq === n)!;
      assert.deepEqual(await store.secrets.getVersion(vaultId, 'RACY', null), latest);
      assert.equal(await store.secrets.countVersions(vaultId), n);
    }));

  it('a backlog of writes is committed in transactions of bounded size, each version with its record', () =>
    withVault(async (store, vaultId, url) => {
      const n = 5 * Math.ceil((2 * BATCH_MAX_WRITES + 100) / 5);
      // Requested in one turn: without the bound, one transaction would take them all.
      const written = await Promise.all(Array.from({ length: n }, (_, i) => store.secrets.insertVersion(versionRow(vaultId, `s-${i % 5}`), auditRecord(`set-${i}`))));
      for (let k = 0; k < 5; k++) {
        const seqs = written.filter((w) => w.name === `s-${k}`).map((w) => w.seq);
        assert.deepEqual(seqs, Array.from({ length: n / 5 }, (_, i) => i + 1), `s-${k} gets consecutive versions in the order asked`);
      }
      const transactions = await pgQuery<{ n: number }>(url, 'SELECT COUNT(DISTINCT xmin::text)::int AS n FROM secret_versions');
      assert.equal(transactions[0]!.n, 3);
      const trail = await store.audit.range(1, n + 1);
      assert.deepEqual(trail.map((r) => r.operation), Array.from({ length: n }, (_, i) => `set-${i}`));
      assert.deepEqual(await pgQuery(url, 'SELECT COUNT(DISTINCT xmin::text)::int AS n FROM audit_events'), transactions);
    }));

  it('appends go on from the sealed head checkpoint: records cut from the end stay a gap', () =>
    withVault(async (store, _vaultId, url) => {
      await store.audit.append([auditRecord('1'), auditRecord('2'), auditRecord('3')]);
      await pgQuery(url, 'DELETE FROM audit_events WHERE seq = 3');
      await store.audit.append([auditRecord('4')]);
      assert.deepEqual((await store.audit.range(1, 10)).map((r) => r.seq), [1, 2, 4]);
    }));

  it('every transaction that appends takes the chain lock before anything else: a vault purge and a new version in it never deadlock', () =>
    withVault(async (store, vaultId, url) => {
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query("SELECT pg_advisory_xact_lock(x'636f66666175'::bigint)");
        const version = store.secrets.insertVersion(versionRow(vaultId, 'racing'), auditRecord('set'));
        const purge = store.vaults.purge(vaultId, false, auditRecord('purge'));
        const waiting = async () => (await holder.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows[0]!.n;
        while ((await waiting()) < 2) await new Promise((r) => setTimeout(r, 10));
        // Both wait for the chain holding no row: the vault can be locked at once. (Versions written
        // before the chain's lock would hold a key-share lock on it, and the purge would wait for them.)
        await holder.query('SELECT 1 FROM vaults WHERE id = $1 FOR UPDATE NOWAIT', [vaultId]);
        await holder.query('ROLLBACK');
        const [v, p] = await Promise.allSettled([version, purge]);
        assert.equal(p.status, 'fulfilled', String((p as PromiseRejectedResult).reason));
        assert.ok(v.status === 'fulfilled' || v.reason instanceof StoreParentGoneError, String((v as PromiseRejectedResult).reason));
        const operations = (await store.audit.range(1, 10)).map((r) => r.operation);
        assert.deepEqual(operations.sort(), v.status === 'fulfilled' ? ['purge', 'set'] : ['purge']);
        assert.equal(await store.secrets.countVersions(vaultId), 0);
      } finally {
        await holder.end();
      }
    }));

  it('an audit batch the database refuses fails alone; the writes committed with it are stored', () =>
    withVault(async (store, vaultId) => {
      // PostgreSQL's text cannot hold U+0000 (the audit log never hands it one: see toRecord).
      const [a, refused, b, appended] = await Promise.allSettled([
        store.secrets.insertVersion(versionRow(vaultId, 'a'), auditRecord('a')),
        store.audit.append([{ ...auditRecord('refused'), secret: 'x\u0000y' }]),
        store.secrets.insertVersion(versionRow(vaultId, 'b'), auditRecord('b')),
        store.audit.append([auditRecord('appended')]),
      ]);
      assert.equal(refused.status, 'rejected');
      assert.deepEqual([a.status, b.status, appended.status], ['fulfilled', 'fulfilled', 'fulfilled']);
      assert.deepEqual((await store.audit.range(1, 10)).map((r) => r.operation), ['a', 'b', 'appended']);
      assert.equal(await store.secrets.countVersions(vaultId), 2);
    }));
});

describe('postgres store: audit key renewal in a cluster', () => {
  it('a member holding an older generation reads the keys again when it meets a newer one, and the chain stays whole', async () => {
    const url = await freshPostgresDatabase(db);
    const keyring = createKeyring(randomBytes(32));
    const [a, b] = [await openPostgresStore(url, { cluster: true }), await openPostgresStore(url, { cluster: true })];
    try {
      await keyAuditChain(a, keyring);
      const key = await loadAuditKey(b, keyring);
      const source = createAuditKeySource(b.settings, keyring, key);
      let reloads = 0;
      b.audit.useKey(key, (row) => (reloads++, source.fromRow(row)));
      await b.audit.append([auditRecord('b-before')]);
      assert.equal(await renewAuditKey(a, keyring), true);
      await a.audit.append([auditRecord('a-after')]);
      await b.audit.append([auditRecord('b-after')]);
      assert.equal(reloads, 1);
      const current = await loadAuditKey(a, keyring);
      assert.deepEqual(current.periods.map((p) => [p.generation, p.since]), [[0, 1], [1, 2]]);
      const verified = await verifyChain(await a.audit.ends(), current, (from, limit) => a.audit.range(from, limit));
      assert.deepEqual(verified, { ok: true, checked: 3, head: 3, keyedFrom: 1 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('postgres store and the pg driver', () => {
  it('uses nothing the driver has deprecated (every store above ran first)', () => {
    assert.deepEqual(pgDeprecations, []);
  });
});
