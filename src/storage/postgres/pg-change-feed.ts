import { randomUUID } from 'node:crypto';
import type { ChangeTopic, StoreChange } from '../change-feed.js';

// How a cluster's servers hear of each other's changes (see change-feed.ts).
// Row triggers on the cached tables call pg_notify in the changing
// transaction, so an announcement is sent if and only if the change commits,
// in commit order, to every server LISTENing then. Each pooled connection
// names its server (the `coffer.origin` setting) and announcements carry it:
// a server skips its own. A server that stops listening (its connection
// broke) cannot know what it missed, and stops: see pg-server-lock.ts.

export const CHANGE_CHANNEL = 'coffer_changes';

/** This process's name in announcements. */
export const ORIGIN = randomUUID();

/** Run on every pooled connection before its first query. */
export const SET_ORIGIN = `SET coffer.origin = '${ORIGIN}'`;

const TOPICS = new Set<string>(['vault', 'assignment', 'membership', 'role', 'signing-key'] satisfies ChangeTopic[]);

/** An announcement's change; null for this server's own, and for text it does not know (a newer server's topic). */
export function parseAnnouncement(payload: string): StoreChange | null {
  const [origin, topic, key] = payload.split(' ', 3);
  if (origin === ORIGIN || topic === undefined || key === undefined || !TOPICS.has(topic)) return null;
  return { topic: topic as ChangeTopic, key };
}

// Schema version 5. EXECUTE PROCEDURE (not FUNCTION) for PostgreSQL before 11.
const trigger = (table: string, topic: ChangeTopic, ...keyColumns: string[]) =>
  `CREATE TRIGGER coffer_${table}_changed AFTER INSERT OR UPDATE OR DELETE ON ${table}
    FOR EACH ROW EXECUTE PROCEDURE coffer_announce_change(${[topic, ...keyColumns].map((a) => `'${a}'`).join(', ')});`;

export const CHANGE_FEED_MIGRATION = {
  version: 5,
  sql: `
    CREATE FUNCTION coffer_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      r jsonb;
      k text;
    BEGIN
      IF TG_OP = 'DELETE' THEN r := to_jsonb(OLD); ELSE r := to_jsonb(NEW); END IF;
      k := r ->> TG_ARGV[1];
      IF TG_NARGS > 2 THEN k := k || '/' || (r ->> TG_ARGV[2]); END IF;
      PERFORM pg_notify('${CHANGE_CHANNEL}', coalesce(current_setting('coffer.origin', true), '-') || ' ' || TG_ARGV[0] || ' ' || k);
      RETURN NULL;
    END $$;
    ${trigger('vaults', 'vault', 'id')}
    ${trigger('role_assignments', 'assignment', 'id')}
    ${trigger('group_members', 'membership', 'group_id', 'member_id')}
    ${trigger('role_definitions', 'role', 'id')}
    ${trigger('signing_keys', 'signing-key', 'kid')}
  `,
};
