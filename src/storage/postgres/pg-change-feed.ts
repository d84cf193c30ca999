import type { ChangeTopic, StoreChange } from '../change-feed.js';

// How a cluster's servers hear of each other's changes (see change-feed.ts).
// Row triggers on the cached tables call pg_notify in the changing
// transaction, so an announcement is sent if and only if the change commits,
// in commit order, to every server LISTENing then. A server hears its own
// changes too and applies them again: it already did, and reading the store
// again is idempotent, but a write whose commit succeeded while its call
// failed (the connection lost after COMMIT) left its memory behind, and this
// is the only way it learns. A server that stops listening (its connection
// broke) cannot know what it missed, so it stops serving until it listens
// again, and then reads everything again: see pg-lock-renewal.ts.

export const CHANGE_CHANNEL = 'coffer_changes';

const TOPICS = new Set<string>(['vault', 'assignment', 'membership', 'role', 'signing-key', 'setting', 'principal'] satisfies ChangeTopic[]);

/** An announcement's change; null for text it does not know (a newer server's topic). */
export function parseAnnouncement(payload: string): StoreChange | null {
  const space = payload.indexOf(' ');
  const topic = payload.slice(0, space);
  if (space < 0 || !TOPICS.has(topic)) return null;
  return { topic: topic as ChangeTopic, key: payload.slice(space + 1) };
}

/** The announcing function's body, exactly as pg_proc.prosrc keeps it (pg-schema-check.ts compares it). */
const ANNOUNCE_BODY = `
    DECLARE
      r jsonb;
      k text;
      was text;
    BEGIN
      IF TG_OP = 'DELETE' THEN r := to_jsonb(OLD); ELSE r := to_jsonb(NEW); END IF;
      k := r ->> TG_ARGV[1];
      IF TG_NARGS > 2 THEN k := k || '/' || (r ->> TG_ARGV[2]); END IF;
      PERFORM pg_notify('${CHANGE_CHANNEL}', TG_ARGV[0] || ' ' || k);
      -- No key column is ever updated today; if one were, the old key's cache entry changes too.
      IF TG_OP = 'UPDATE' THEN
        r := to_jsonb(OLD);
        was := r ->> TG_ARGV[1];
        IF TG_NARGS > 2 THEN was := was || '/' || (r ->> TG_ARGV[2]); END IF;
        IF was IS DISTINCT FROM k THEN PERFORM pg_notify('${CHANGE_CHANNEL}', TG_ARGV[0] || ' ' || was); END IF;
      END IF;
      RETURN NULL;
    END `;
const ANNOUNCE_FUNCTION = 'coffer_announce_change';

/** One of the change feed's triggers: what pg-schema-check.ts holds the schema's to, and the statement that makes it. */
export interface FeedTrigger {
  name: string;
  table: string;
  /** pg_trigger.tgtype: FOR EACH ROW (1), INSERT (4), DELETE (8), UPDATE (16); AFTER (no BEFORE bit). */
  tgtype: number;
  args: string[];
  /** The WHEN condition as pg_get_triggerdef writes it. */
  when: string | null;
  sql: string;
}

// Schema version 5. EXECUTE PROCEDURE (not FUNCTION) for PostgreSQL before 11.
const rowTrigger = (table: string, topic: ChangeTopic, ...keyColumns: string[]): FeedTrigger => ({
  name: `coffer_${table}_changed`,
  table,
  tgtype: 1 | 4 | 8 | 16,
  args: [topic, ...keyColumns],
  when: null,
  sql: `CREATE TRIGGER coffer_${table}_changed AFTER INSERT OR UPDATE OR DELETE ON ${table}
    FOR EACH ROW EXECUTE PROCEDURE coffer_announce_change(${[topic, ...keyColumns].map((a) => `'${a}'`).join(', ')});`,
});
const ROW_TRIGGERS = [
  rowTrigger('vaults', 'vault', 'id'),
  rowTrigger('role_assignments', 'assignment', 'id'),
  rowTrigger('group_members', 'membership', 'group_id', 'member_id'),
  rowTrigger('role_definitions', 'role', 'id'),
  rowTrigger('signing_keys', 'signing-key', 'kid'),
];

export const CHANGE_FEED_MIGRATION = {
  version: 5,
  sql: `
    CREATE FUNCTION coffer_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$${ANNOUNCE_BODY}$$;
    ${ROW_TRIGGERS.map((t) => t.sql).join('\n    ')}
  `,
};

const SETTINGS_TRIGGERS: FeedTrigger[] = [
  {
    name: 'coffer_settings_inserted',
    table: 'settings',
    tgtype: 1 | 4,
    args: ['setting', 'key'],
    when: "(new.key = 'credentialPepper'::text)",
    sql: `CREATE TRIGGER coffer_settings_inserted AFTER INSERT ON settings
      FOR EACH ROW WHEN (NEW.key = 'credentialPepper') EXECUTE PROCEDURE coffer_announce_change('setting', 'key');`,
  },
  {
    name: 'coffer_settings_changed',
    table: 'settings',
    tgtype: 1 | 16,
    args: ['setting', 'key'],
    when: "((new.key = 'credentialPepper'::text) AND (old.value IS DISTINCT FROM new.value))",
    sql: `CREATE TRIGGER coffer_settings_changed AFTER UPDATE ON settings
      FOR EACH ROW WHEN (NEW.key = 'credentialPepper' AND OLD.value IS DISTINCT FROM NEW.value) EXECUTE PROCEDURE coffer_announce_change('setting', 'key');`,
  },
];

/**
 * Schema version 12: the settings rows servers keep in memory are announced
 * too: only the credential pepper's (the key is identity/credential-pepper-
 * row.ts's CREDENTIAL_PEPPER_SETTING; each member reads another's renewal at
 * once, not at its next minute's read). Inserts, and updates that change the
 * value; coffer never deletes the row (a member that finds it gone keeps the
 * generations it holds).
 */
export const SETTINGS_FEED_MIGRATION = {
  version: 12,
  sql: `
    ${SETTINGS_TRIGGERS.map((t) => t.sql).join('\n    ')}
  `,
};

const PRINCIPALS_TRIGGER: FeedTrigger = {
  name: 'coffer_principals_deleted',
  table: 'principals',
  tgtype: 1 | 8,
  args: ['principal', 'object_id'],
  when: null,
  sql: `CREATE TRIGGER coffer_principals_deleted AFTER DELETE ON principals
      FOR EACH ROW EXECUTE PROCEDURE coffer_announce_change('principal', 'object_id');`,
};

/**
 * Schema version 15: a principal deleted from the directory is announced, so
 * that every member drops the tokens it verified for it at once (the member
 * that deleted it does so itself). Without it, another member kept accepting
 * them until it looked the principal up again, up to 60 s later
 * (PRINCIPAL_RECHECK_SECONDS).
 */
export const PRINCIPALS_FEED_MIGRATION = {
  version: 15,
  sql: `
    ${PRINCIPALS_TRIGGER.sql}
  `,
};

/** The change feed's triggers, as the migrations above made them (each calls ANNOUNCE_FUNCTION). */
export const FEED_TRIGGERS: readonly FeedTrigger[] = [...ROW_TRIGGERS, ...SETTINGS_TRIGGERS, PRINCIPALS_TRIGGER];

/** The announcing function as the change feed's triggers call it: its name, body and the statement that puts it back. */
export const FEED_FUNCTION = {
  name: ANNOUNCE_FUNCTION,
  src: ANNOUNCE_BODY,
  sql: `CREATE OR REPLACE FUNCTION ${ANNOUNCE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$${ANNOUNCE_BODY}$$`,
};
