import type pg from 'pg';
import { FEED_FUNCTION, FEED_TRIGGERS } from './pg-change-feed.js';
import { JOURNAL_TRIGGERS } from './pg-authorization-journal.js';
import { transaction, type Queryable } from './pg-support.js';

// What could run a database writer's own code inside coffer's statements on
// PostgreSQL, as sqlite-authorization-journal.ts's journalSchemaCheck on
// SQLite: a trigger, a rule, or an expression (a column default, a CHECK, an
// index's expression, a row-security policy) that calls a function or
// operator of theirs. Such code, run inside a guarded authorization write,
// could add to the authorization journal the entry of a row put back, which
// the write would then seal. Coffer's schema (current_schema()) holds none
// but the journal's and the change feed's triggers, as coffer made them: the
// foreign-key triggers PostgreSQL makes call only pg_catalog's functions, and
// coffer's defaults are constants and bigserials' nextval, which depend on no
// function outside pg_catalog (pinned objects are not in pg_depend at all).

/** A trigger as coffer makes it: the table it is on, its pg_trigger.tgtype, arguments, WHEN, and its function's name and body. */
interface OwnTrigger {
  table: string;
  tgtype: number;
  args: string[];
  when: string | null;
  fn: string;
  src: string;
}

const OWN_TRIGGERS = new Map<string, OwnTrigger>([
  ...JOURNAL_TRIGGERS.map((t): [string, OwnTrigger] => [t.name, { table: t.table, tgtype: t.tgtype, args: [], when: null, fn: t.name, src: t.src }]),
  ...FEED_TRIGGERS.map((t): [string, OwnTrigger] => [t.name, { table: t.table, tgtype: t.tgtype, args: t.args, when: t.when, fn: FEED_FUNCTION.name, src: FEED_FUNCTION.src }]),
]);

interface TriggerRow {
  name: string;
  table: string;
  tgtype: number;
  enabled: string;
  attrs: string;
  args: string;
  def: string | null;
  fn: string;
  fn_here: boolean;
  fn_plain: boolean;
  src: string;
  lang: string;
}

const SCHEMA = 'current_schema()::regnamespace';

// Every trigger on the schema's tables but PostgreSQL's own foreign-key ones (internal, calling pg_catalog's functions).
const TRIGGERS_SQL = `
SELECT t.tgname AS name, c.relname AS "table", t.tgtype, t.tgenabled AS enabled, t.tgattr::text AS attrs, encode(t.tgargs, 'escape') AS args,
  CASE WHEN t.tgqual IS NULL THEN NULL ELSE pg_get_triggerdef(t.oid) END AS def, p.proname AS fn, p.pronamespace = c.relnamespace AS fn_here,
  p.proconfig IS NULL AND NOT p.prosecdef AS fn_plain, p.prosrc AS src, l.lanname AS lang
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_language l ON l.oid = p.prolang
WHERE c.relnamespace = ${SCHEMA} AND NOT (t.tgisinternal AND p.pronamespace = 'pg_catalog'::regnamespace)`;

// Rules (but a view's _RETURN: coffer has no views, and a view runs nothing unless read), row security, the journal
// not a table, and anything on the schema's tables that uses a function, operator or type of someone's (a domain's
// CHECK too).
const OTHER_SQL = `
WITH rel AS (SELECT oid, relname, relkind, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relnamespace = ${SCHEMA}),
owned AS (
  SELECT 'pg_class'::regclass AS classid, oid AS objid FROM rel
  UNION ALL SELECT 'pg_attrdef'::regclass, oid FROM pg_attrdef WHERE adrelid IN (SELECT oid FROM rel)
  UNION ALL SELECT 'pg_constraint'::regclass, oid FROM pg_constraint WHERE conrelid IN (SELECT oid FROM rel)
  UNION ALL SELECT 'pg_policy'::regclass, oid FROM pg_policy WHERE polrelid IN (SELECT oid FROM rel))
SELECT 'rule ' || r.rulename || ' on ' || rel.relname AS problem FROM pg_rewrite r JOIN rel ON rel.oid = r.ev_class
  WHERE NOT (r.rulename = '_RETURN' AND rel.relkind IN ('v', 'm'))
UNION ALL SELECT 'row security on ' || relname FROM rel WHERE relrowsecurity OR relforcerowsecurity
UNION ALL SELECT 'authorization_journal is not a table' WHERE NOT EXISTS (SELECT 1 FROM rel WHERE relname = 'authorization_journal' AND relkind = 'r')
UNION ALL SELECT pg_describe_object(d.classid, d.objid, d.objsubid) || ' uses ' || pg_describe_object(d.refclassid, d.refobjid, 0)
  FROM pg_depend d JOIN owned o ON o.classid = d.classid AND o.objid = d.objid
  WHERE d.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass, 'pg_type'::regclass)`;

/** pg_get_triggerdef's WHEN condition, without its parentheses (null: none). */
const whenOf = (def: string | null) => (def === null ? null : (/ FOR EACH ROW WHEN \((.*)\) EXECUTE (?:FUNCTION|PROCEDURE) /.exec(def)?.[1] ?? null));

/** Whether a trigger found is one of coffer's, exactly as coffer made it (enabled as by default: not ALWAYS or REPLICA). */
function isOwn(t: TriggerRow, functionAside = false): boolean {
  const own = OWN_TRIGGERS.get(t.name);
  return (
    own !== undefined &&
    t.table === own.table &&
    t.tgtype === own.tgtype &&
    t.enabled === 'O' &&
    t.attrs === '' &&
    t.args === own.args.map((a) => `${a}\\000`).join('') &&
    whenOf(t.def) === own.when &&
    t.fn === own.fn &&
    t.fn_here &&
    (functionAside || (t.fn_plain && t.src === own.src && t.lang === 'plpgsql'))
  );
}

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function look(db: Queryable, pin?: string): Promise<{ triggers: TriggerRow[]; other: string[] }> {
  // One round trip (the simple query protocol: no parameters).
  const results = (await db.query(`${pin === undefined ? '' : `SET LOCAL search_path TO ${quoted(pin)};\n`}${TRIGGERS_SQL};\n${OTHER_SQL}`)) as unknown as pg.QueryResult[];
  const [triggers, other] = results.slice(-2) as [pg.QueryResult<TriggerRow>, pg.QueryResult<{ problem: string }>];
  return { triggers: triggers.rows, other: other.rows.map((r) => r.problem) };
}

/**
 * What in `schema` (coffer's, as the store opened) could run someone else's code inside coffer's statements (empty:
 * nothing). Checked first in each guarded write's transaction, which it pins to `schema` alone (pg_catalog searched
 * first): a search_path that names another schema before pg_catalog, from the role's settings or set by code of a
 * writer's that ran earlier on the connection, could make this check, or coffer's write, call a writer's functions.
 */
export async function pgSchemaProblems(c: pg.PoolClient, schema: string): Promise<string[]> {
  const { triggers, other } = await look(c, schema);
  return [...triggers.filter((t) => !isOwn(t)).map((t) => `trigger ${t.name} on ${t.table}`), ...other];
}

/**
 * At open (after the journal's triggers are put back): drops every trigger and rule not coffer's, and puts back the
 * change feed's function and triggers where changed; returns their names. What else is found (a default calling a
 * function of someone's) is left for each guarded write to refuse.
 */
export async function dropForeignPgTriggers(pool: pg.Pool): Promise<string[]> {
  const { triggers } = await look(pool);
  const rules = (
    await pool.query<{ rule: string; table: string }>(
      `SELECT r.rulename AS rule, c.relname AS "table" FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
       WHERE c.relnamespace = ${SCHEMA} AND NOT (r.rulename = '_RETURN' AND c.relkind IN ('v', 'm'))`,
    )
  ).rows;
  const wrong = triggers.filter((t) => !isOwn(t));
  // The journal's own are put back already (restorePgJournalTriggers) but for their function's settings.
  const journal = (t: TriggerRow) => OWN_TRIGGERS.get(t.name)?.table === t.table && JOURNAL_TRIGGERS.some((j) => j.name === t.name);
  const unplain = [...new Set(triggers.filter((t) => OWN_TRIGGERS.get(t.name)?.fn === t.fn && t.fn_here && !t.fn_plain).map((t) => t.fn))];
  const feedFunctionChanged = triggers.some((t) => t.fn === FEED_FUNCTION.name && t.fn_here && (t.src !== FEED_FUNCTION.src || t.lang !== 'plpgsql'));
  // A feed trigger wrong only in its function keeps its place: the function is put back.
  const dropped = wrong.filter((t) => !journal(t) && !isOwn(t, true));
  if (dropped.length + rules.length + unplain.length === 0 && !feedFunctionChanged) return [];
  await transaction(pool, async (c) => {
    for (const t of dropped) await c.query(`DROP TRIGGER ${quoted(t.name)} ON ${quoted(t.table)}`);
    for (const r of rules) await c.query(`DROP RULE ${quoted(r.rule)} ON ${quoted(r.table)}`);
    if (feedFunctionChanged) await c.query(FEED_FUNCTION.sql);
    for (const fn of unplain) await c.query(`ALTER FUNCTION ${quoted(fn)}() RESET ALL SECURITY INVOKER`);
    // A feed trigger dropped as changed is made again as coffer made it.
    for (const t of dropped) {
      const feed = FEED_TRIGGERS.find((f) => f.name === t.name && f.table === t.table);
      if (feed) await c.query(feed.sql);
    }
  });
  return [...new Set([...dropped.map((t) => t.name), ...rules.map((r) => `rule ${r.rule} on ${r.table}`), ...(feedFunctionChanged ? [FEED_FUNCTION.name] : []), ...unplain])];
}
