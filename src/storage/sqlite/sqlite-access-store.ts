import type Database from 'better-sqlite3';
import type { AuditedWrites } from './sqlite-audit-store.js';
import type { GroupStore, RoleAssignmentRow, RoleAssignmentStore, RoleDefinitionRow, RoleDefinitionStore } from '../store-types.js';
import { fromJson, nameKey, toJson, unique } from './sqlite-support.js';
import { refuseTwin, roleAssigned, roleAssignedSql, roleGone, roleParams, scopeGone, twinParams, twinSql } from '../assignment-checks.js';
import type { Guarded } from './sqlite-authorization-digest.js';

// Group memberships, custom role definitions and role assignments.

export interface AssignmentRecord {
  id: string;
  scope: string;
  role_definition_id: string;
  principal_id: string;
  principal_type: string;
  description: string | null;
  end_time: number | null;
  created_at: number;
  updated_at: number;
  created_by: string;
  mac: string | null;
}

export interface RoleRecord {
  id: string;
  role_name: string;
  description: string;
  permissions: string;
  assignable_scopes: string;
  created_at: number;
  updated_at: number;
  created_by: string;
  mac: string | null;
}

export const toAssignment = (r: AssignmentRecord): RoleAssignmentRow => ({
  id: r.id,
  scope: r.scope,
  roleDefinitionId: r.role_definition_id,
  principalId: r.principal_id,
  principalType: r.principal_type as RoleAssignmentRow['principalType'],
  description: r.description,
  endTime: r.end_time,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  createdBy: r.created_by,
  mac: r.mac,
});

export const toRole = (r: RoleRecord): RoleDefinitionRow => ({
  id: r.id,
  roleName: r.role_name,
  description: r.description,
  permissions: fromJson(r.permissions),
  assignableScopes: fromJson(r.assignable_scopes),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  createdBy: r.created_by,
  mac: r.mac,
});

interface MembershipRecord {
  group_id: string;
  member_id: string;
  mac: string | null;
}
const toMembership = (r: MembershipRecord) => ({ groupId: r.group_id, memberId: r.member_id, mac: r.mac });

export function sqliteGroupStore(db: Database.Database, audited: AuditedWrites, guarded: Guarded): GroupStore {
  const add = db.prepare<[string, string, string | null]>('INSERT OR IGNORE INTO group_members (group_id, member_id, mac) VALUES (?, ?, ?)');
  const remove = db.prepare<[string, string]>('DELETE FROM group_members WHERE group_id = ? AND member_id = ?');
  const members = db.prepare<[string], { member_id: string }>('SELECT member_id FROM group_members WHERE group_id = ? ORDER BY member_id');
  const ofGroup = db.prepare<[string], MembershipRecord>('SELECT group_id, member_id, mac FROM group_members WHERE group_id = ? ORDER BY member_id');
  const all = db.prepare<[], MembershipRecord>('SELECT group_id, member_id, mac FROM group_members');
  const seal = db.prepare<[string, string, string, string | null]>('UPDATE group_members SET mac = ? WHERE group_id = ? AND member_id = ? AND mac IS ?');
  return {
    addMember: async (g, m, audit, mac) => guarded(() => audited.run(audit, () => unique(`member ${m} of group ${g}`, () => add.run(g, m, mac ?? null).changes > 0))),
    removeMember: async (g, m, audit) => guarded(() => audited.run(audit, () => remove.run(g, m).changes > 0)),
    listMembers: async (g) => members.all(g).map((r) => r.member_id),
    membershipsOf: async (g) => ofGroup.all(g).map(toMembership),
    allMemberships: async () => all.all().map(toMembership),
    setMac: async (g, m, mac, expected = null) => guarded(() => seal.run(mac, g, m, expected).changes > 0),
  };
}

export function sqliteRoleDefinitionStore(db: Database.Database, audited: AuditedWrites, guarded: Guarded): RoleDefinitionStore {
  const upsert = db.prepare<[Record<string, unknown>]>(
    `INSERT INTO role_definitions (id, role_name, role_name_key, description, permissions, assignable_scopes, created_at, updated_at, created_by, mac)
     VALUES (@id, @roleName, @roleNameKey, @description, @permissions, @assignableScopes, @createdAt, @updatedAt, @createdBy, @mac)
     ON CONFLICT (id) DO UPDATE SET role_name = excluded.role_name, role_name_key = excluded.role_name_key, description = excluded.description,
       permissions = excluded.permissions, assignable_scopes = excluded.assignable_scopes, updated_at = excluded.updated_at, mac = excluded.mac`,
  );
  const sealRole = db.prepare<[string, string, string | null]>('UPDATE role_definitions SET mac = ? WHERE id = ? AND mac IS ?');
  const get = db.prepare<[string], RoleRecord>('SELECT * FROM role_definitions WHERE id = ?');
  const list = db.prepare<[], RoleRecord>('SELECT * FROM role_definitions ORDER BY role_name_key');
  const del = db.prepare<[string]>('DELETE FROM role_definitions WHERE id = ?');
  const assigned = db.prepare<[string, string], { one: number }>(roleAssignedSql(() => '?'));
  return {
    upsert: async (r, audit) => {
      const row = { ...r, id: r.id.toLowerCase(), roleNameKey: r.roleName.toLowerCase(), permissions: toJson(r.permissions), assignableScopes: toJson(r.assignableScopes), mac: r.mac ?? null };
      guarded(() => audited.run(audit, () => void unique(`role ${r.roleName}`, () => upsert.run(row))));
    },
    get: async (id) => {
      const r = get.get(id.toLowerCase());
      return r ? toRole(r) : null;
    },
    list: async () => list.all().map(toRole),
    delete: async (id, audit) =>
      guarded(() =>
        audited.run(audit, () => {
          if (assigned.get(...roleParams(id))) throw roleAssigned(id);
          return del.run(id.toLowerCase()).changes > 0;
        }),
      ),
    setMac: async (id, mac, expected = null) => guarded(() => sealRole.run(mac, id.toLowerCase(), expected).changes > 0),
  };
}

export function sqliteRoleAssignmentStore(db: Database.Database, audited: AuditedWrites, guarded: Guarded): RoleAssignmentStore {
  const insert = db.prepare<[Record<string, unknown>]>(
    `INSERT INTO role_assignments (id, scope, role_definition_id, principal_id, principal_type, description, end_time, created_at, updated_at, created_by, mac)
     VALUES (@id, @scope, @roleDefinitionId, @principalId, @principalType, @description, @endTime, @createdAt, @updatedAt, @createdBy, @mac)`,
  );
  const twins = db.prepare<[string, string, string, string, string], AssignmentRecord>(twinSql('*', () => '?'));
  const roleStored = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM role_definitions WHERE id = ?');
  const groupStored = db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM resource_groups WHERE subscription_id = ? AND name_key = ?');
  const vaultStored = db.prepare<[string, string, string], { one: number }>('SELECT 1 AS one FROM vaults WHERE subscription_id = ? AND resource_group_key = ? AND name_key = ?');
  const sealAssignment = db.prepare<[string, string, string | null]>('UPDATE role_assignments SET mac = ? WHERE id = ? AND mac IS ?');
  const get = db.prepare<[string], AssignmentRecord>('SELECT * FROM role_assignments WHERE id = ?');
  const list = db.prepare<[], AssignmentRecord>('SELECT * FROM role_assignments ORDER BY created_at, id');
  const del = db.prepare<[string]>('DELETE FROM role_assignments WHERE id = ?');
  const update = db.prepare<[Record<string, unknown>], AssignmentRecord>(
    `UPDATE role_assignments SET description = @description, end_time = @endTime, updated_at = @updatedAt, mac = @mac
     WHERE id = @id AND mac IS @expected RETURNING *`,
  );
  const expired = db.prepare<[number], AssignmentRecord>('DELETE FROM role_assignments WHERE end_time IS NOT NULL AND end_time <= ? RETURNING *');
  const ofPrincipal = db.prepare<[string]>('DELETE FROM role_assignments WHERE principal_id = ?');
  const anyExpired = db.prepare<[number], { one: number }>('SELECT 1 AS one FROM role_assignments WHERE end_time IS NOT NULL AND end_time <= ? LIMIT 1');
  return {
    insert: async (r, audit, checks = {}) =>
      guarded(() =>
        audited.run(audit, () => {
          refuseTwin(r, twins.all(...twinParams(r)).map(toAssignment), checks.twinCounts);
          if (checks.customRole && !roleStored.get(roleParams(r.roleDefinitionId)[0])) throw roleGone(r);
          const at = checks.scope;
          if (at && !groupStored.get(at.subscriptionId, nameKey(at.resourceGroup))) throw scopeGone(r);
          if (at?.vault !== undefined && !vaultStored.get(at.subscriptionId, nameKey(at.resourceGroup), nameKey(at.vault))) throw scopeGone(r);
          unique(`role assignment ${r.id}`, () => insert.run({ ...r, id: r.id.toLowerCase(), principalId: r.principalId.toLowerCase(), mac: r.mac ?? null }));
        }),
      ),
    get: async (id) => {
      const r = get.get(id.toLowerCase());
      return r ? toAssignment(r) : null;
    },
    list: async () => list.all().map(toAssignment),
    delete: async (id, audit) => guarded(() => audited.run(audit, () => del.run(id.toLowerCase()).changes > 0)),
    update: async (stored, c, audit) =>
      guarded(() => audited.run(audit, () => {
        const r = update.get({ id: stored.id.toLowerCase(), expected: stored.mac ?? null, description: c.description, endTime: c.endTime, updatedAt: c.updatedAt, mac: c.mac ?? null });
        return r ? toAssignment(r) : null;
      })),
    // The sweep asks every minute or so: the digest's transaction only when there is something to delete.
    deleteExpired: async (now) => (anyExpired.get(now) ? guarded(() => expired.all(now).map(toAssignment)) : []),
    deleteForPrincipal: async (id) => guarded(() => ofPrincipal.run(id.toLowerCase()).changes),
    setMac: async (id, mac, expected = null) => guarded(() => sealAssignment.run(mac, id.toLowerCase(), expected).changes > 0),
  };
}
