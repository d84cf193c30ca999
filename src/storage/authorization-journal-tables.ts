import type { DigestKind } from '../authorization/authorization-digest.js';

// The tables of sealed rows the authorization digest's journal follows, for
// both stores' triggers (sqlite-authorization-journal.ts,
// pg-authorization-journal.ts): per table, the digest's kind and the JSON
// field of each column the seal covers (a certificate as hex), so that one
// fold (authorization-digest.ts) reads the entries of either.

export interface JournalTable {
  table: string;
  kind: DigestKind;
  covered: Record<string, string>;
}

/** A vault's seal covers its deletion state (since schema version 18): a vault made live again outside coffer changes the digest. */
export const VAULTS: JournalTable = {
  table: 'vaults',
  kind: 'vaults',
  covered: {
    id: 'id',
    name: 'name',
    subscriptionId: 'subscription_id',
    resourceGroup: 'resource_group',
    properties: 'properties',
    deletedAt: 'deleted_at',
    scheduledPurgeAt: 'scheduled_purge_at',
  },
};

export const JOURNAL_TABLES: readonly JournalTable[] = [
  {
    table: 'role_assignments',
    kind: 'role assignments',
    covered: { id: 'id', scope: 'scope', roleDefinitionId: 'role_definition_id', principalId: 'principal_id', principalType: 'principal_type', endTime: 'end_time' },
  },
  { table: 'role_definitions', kind: 'custom roles', covered: { id: 'id', roleName: 'role_name', permissions: 'permissions', assignableScopes: 'assignable_scopes' } },
  { table: 'group_members', kind: 'group memberships', covered: { groupId: 'group_id', memberId: 'member_id' } },
  { table: 'key_credentials', kind: 'key credentials', covered: { keyId: 'key_id', objectId: 'object_id', certificate: 'certificate', startAt: 'start_at', endAt: 'end_at' } },
  VAULTS,
  { table: 'federated_credentials', kind: 'federated credentials', covered: { id: 'id', objectId: 'object_id', issuer: 'issuer', subject: 'subject', audiences: 'audiences' } },
];

/** The tables as schema version 17 journaled them: a vault without its deletion state (its seal did not cover it then). */
export const JOURNAL_TABLES_V17: readonly JournalTable[] = JOURNAL_TABLES.map((t) =>
  t === VAULTS ? { ...t, covered: Object.fromEntries(Object.entries(t.covered).filter(([f]) => f !== 'deletedAt' && f !== 'scheduledPurgeAt')) } : t,
);
