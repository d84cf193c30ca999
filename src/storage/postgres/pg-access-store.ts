import type pg from 'pg';
import type { GroupStore, RoleAssignmentRow, RoleAssignmentStore, RoleDefinitionRow, RoleDefinitionStore } from '../store-types.js';
import { changes, fromJson, nameKey, one, rows, toJson, unique, type Queryable } from './pg-support.js';
import type { PgSealedWrites } from './pg-authorization-digest.js';
import { refuseTwin, roleAssigned, roleAssignedSql, roleGone, roleParams, scopeGone, twinParams, twinSql } from '../assignment-checks.js';

// Group memberships, custom role definitions and role assignments.

const ASSIGNMENT = `id, scope, role_definition_id AS "roleDefinitionId", principal_id AS "principalId", principal_type AS "principalType",
  description, end_time AS "endTime", created_at AS "createdAt", updated_at AS "updatedAt", created_by AS "createdBy", mac`;
const ROLE = `id, role_name AS "roleName", description, permissions, assignable_scopes AS "assignableScopes",
  created_at AS "createdAt", updated_at AS "updatedAt", created_by AS "createdBy", mac`;
const MEMBERSHIP = 'group_id AS "groupId", member_id AS "memberId", mac';

type RoleRecord = Omit<RoleDefinitionRow, 'permissions' | 'assignableScopes'> & { permissions: string; assignableScopes: string };
const toRole = (r: RoleRecord): RoleDefinitionRow => ({ ...r, permissions: fromJson(r.permissions), assignableScopes: fromJson(r.assignableScopes) });

// Every write of a sealed row goes through `sealed` (the authorization digest: pg-authorization-digest.ts).

export function pgGroupStore(pool: pg.Pool, sealed: PgSealedWrites): GroupStore {
  const { audited, run } = sealed;
  return {
    addMember: (g, m, audit, mac) =>
      audited(audit, (db) =>
        unique(`member ${m} of group ${g}`, async () => (await changes(db, 'INSERT INTO group_members (group_id, member_id, mac) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [g, m, mac ?? null])) > 0),
      ),
    removeMember: (g, m, audit) => audited(audit, async (db) => (await changes(db, 'DELETE FROM group_members WHERE group_id = $1 AND member_id = $2', [g, m])) > 0),
    listMembers: async (g) => (await rows<{ m: string }>(pool, 'SELECT member_id AS m FROM group_members WHERE group_id = $1 ORDER BY member_id', [g])).map((r) => r.m),
    membershipsOf: (g) => rows(pool, `SELECT ${MEMBERSHIP} FROM group_members WHERE group_id = $1 ORDER BY member_id`, [g]),
    allMemberships: () => rows(pool, `SELECT ${MEMBERSHIP} FROM group_members`),
    setMac: async (g, m, mac, expected = null) =>
      0 < (await run((db) => changes(db, 'UPDATE group_members SET mac = $1 WHERE group_id = $2 AND member_id = $3 AND mac IS NOT DISTINCT FROM $4', [mac, g, m, expected]))),
  };
}

const GRANT_LOCK = 0x636f_6761;
const ROLE_LOCK = 0x636f_6772;
const TWINS = twinSql(ASSIGNMENT, (n) => `$${n}`);
const ROLE_ASSIGNED = roleAssignedSql((n) => `$${n}`);
/** The group's row, held until the transaction ends: its deletion waits for the assignment being stored. */
const GROUP_HELD = 'SELECT 1 AS one FROM resource_groups WHERE subscription_id = $1 AND name_key = $2 FOR SHARE';
const VAULT_HELD = 'SELECT 1 AS one FROM vaults WHERE subscription_id = $1 AND resource_group_key = $2 AND name_key = $3 FOR SHARE';
const lockRole = (db: Queryable, id: string) => db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ROLE_LOCK, roleParams(id)[0]]);

export function pgRoleDefinitionStore(pool: pg.Pool, sealed: PgSealedWrites): RoleDefinitionStore {
  const { audited, run } = sealed;
  return {
    async upsert(r, audit) {
      await audited(audit, (db) =>
        unique(`role ${r.roleName}`, () =>
          db.query(
            `INSERT INTO role_definitions (id, role_name, role_name_key, description, permissions, assignable_scopes, created_at, updated_at, created_by, mac)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET role_name = excluded.role_name, role_name_key = excluded.role_name_key, description = excluded.description,
               permissions = excluded.permissions, assignable_scopes = excluded.assignable_scopes, updated_at = excluded.updated_at, mac = excluded.mac`,
            [r.id.toLowerCase(), r.roleName, r.roleName.toLowerCase(), r.description, toJson(r.permissions), toJson(r.assignableScopes), r.createdAt, r.updatedAt, r.createdBy, r.mac ?? null],
          ),
        ),
      );
    },
    async get(id) {
      const r = await one<RoleRecord>(pool, `SELECT ${ROLE} FROM role_definitions WHERE id = $1`, [id.toLowerCase()]);
      return r ? toRole(r) : null;
    },
    list: async () => (await rows<RoleRecord>(pool, `SELECT ${ROLE} FROM role_definitions ORDER BY role_name_key`)).map(toRole),
    delete: (id, audit) =>
      audited(
        audit,
        async (db) => {
          // In turn with the assignments of the role (pgRoleAssignmentStore's insert), on every cluster member.
          await lockRole(db, id);
          if (await one(db, ROLE_ASSIGNED, roleParams(id))) throw roleAssigned(id);
          return (await changes(db, 'DELETE FROM role_definitions WHERE id = $1', [id.toLowerCase()])) > 0;
        },
        true,
      ),
    setMac: async (id, mac, expected = null) =>
      0 < (await run((db) => changes(db, 'UPDATE role_definitions SET mac = $1 WHERE id = $2 AND mac IS NOT DISTINCT FROM $3', [mac, id.toLowerCase(), expected]))),
  };
}

export function pgRoleAssignmentStore(pool: pg.Pool, sealed: PgSealedWrites): RoleAssignmentStore {
  const { audited, run } = sealed;
  return {
    async insert(r, audit, checks = {}) {
      await audited(audit, async (db) => {
        const twin = twinParams(r);
        // One grant at a time across the cluster, so that its twin search and insert cannot interleave with another's.
        await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [GRANT_LOCK, twin.slice(0, 3).join(' ')]);
        refuseTwin(r, await rows<RoleAssignmentRow>(db, TWINS, twin), checks.twinCounts);
        if (checks.customRole) {
          await lockRole(db, r.roleDefinitionId);
          if (!(await one(db, 'SELECT 1 AS one FROM role_definitions WHERE id = $1', [roleParams(r.roleDefinitionId)[0]]))) throw roleGone(r);
        }
        const at = checks.scope;
        if (at && !(await one(db, GROUP_HELD, [at.subscriptionId, nameKey(at.resourceGroup)]))) throw scopeGone(r);
        if (at?.vault !== undefined && !(await one(db, VAULT_HELD, [at.subscriptionId, nameKey(at.resourceGroup), nameKey(at.vault)]))) throw scopeGone(r);
        return unique(`role assignment ${r.id}`, () =>
          db.query(
            `INSERT INTO role_assignments (id, scope, role_definition_id, principal_id, principal_type, description, end_time, created_at, updated_at, created_by, mac)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
            [r.id.toLowerCase(), r.scope, r.roleDefinitionId, r.principalId.toLowerCase(), r.principalType, r.description, r.endTime, r.createdAt, r.updatedAt, r.createdBy, r.mac ?? null],
          ),
        );
      }, true);
    },
    get: (id) => one<RoleAssignmentRow>(pool, `SELECT ${ASSIGNMENT} FROM role_assignments WHERE id = $1`, [id.toLowerCase()]),
    list: () => rows<RoleAssignmentRow>(pool, `SELECT ${ASSIGNMENT} FROM role_assignments ORDER BY created_at, id`),
    delete: (id, audit) => audited(audit, async (db) => (await changes(db, 'DELETE FROM role_assignments WHERE id = $1', [id.toLowerCase()])) > 0),
    update: (stored, c, audit) =>
      audited(audit, (db) =>
        one<RoleAssignmentRow>(
          db,
          `UPDATE role_assignments SET description = $1, end_time = $2, updated_at = $3, mac = $4
           WHERE id = $5 AND mac IS NOT DISTINCT FROM $6 RETURNING ${ASSIGNMENT}`,
          [c.description, c.endTime, c.updatedAt, c.mac ?? null, stored.id.toLowerCase(), stored.mac ?? null],
        ),
      ),
    deleteExpired: (now) => run((db) => rows<RoleAssignmentRow>(db, `DELETE FROM role_assignments WHERE end_time IS NOT NULL AND end_time <= $1 RETURNING ${ASSIGNMENT}`, [now])),
    deleteForPrincipal: (id) => run((db) => changes(db, 'DELETE FROM role_assignments WHERE principal_id = $1', [id.toLowerCase()])),
    setMac: async (id, mac, expected = null) =>
      0 < (await run((db) => changes(db, 'UPDATE role_assignments SET mac = $1 WHERE id = $2 AND mac IS NOT DISTINCT FROM $3', [mac, id.toLowerCase(), expected]))),
  };
}
