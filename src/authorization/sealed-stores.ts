import type { GroupStore, RoleAssignmentRow, RoleAssignmentStore, RoleDefinitionRow, RoleDefinitionStore, Store, VaultRow, VaultStore } from '../storage/store-types.js';
import type { AuthorizationSeal } from './authorization-seal.js';

// The stores of authorization data as the server uses them: every write
// seals its row (authorization-seal.ts), and every read of assignments,
// custom roles and memberships leaves out a row whose seal does not match
// (logged once each, as an error): it grants nothing. A vault is still read
// whatever its seal (its management needs it); the data plane asks
// `vaultIntact` before it trusts the vault's access policies and network rules.

export type SealedParts = Pick<Store, 'roleAssignments' | 'roleDefinitions' | 'groups' | 'vaults'>;

export interface SealedStores extends SealedParts {
  vaultIntact(row: VaultRow): boolean;
}

/** What was refused, for the log (never a value: ids and scopes only). */
export type OnRefused = (what: { kind: 'role assignment' | 'custom role' | 'group membership' | 'vault'; id: string; sealed: boolean }) => void;

/** What the log says of a refused row. */
export function refusedAdvice(r: Parameters<OnRefused>[0]): string {
  const what = r.sealed ? 'does not match its seal' : 'carries no seal';
  const undo =
    r.kind === 'vault'
      ? 'its data plane answers 500 and changes made from its properties are refused, until its whole definition is put again (ARM createOrUpdate, a PUT such as `az rest --method put`) after checking its access policies and network rules'
      : r.kind === 'group membership'
        ? 'remove the row from the database, and add the member again through the API if it belongs'
        : `it grants nothing: remove the row from the database, and create the ${r.kind} again through the API if it belongs`;
  return `a ${r.kind} in the database ${what}: it was written outside coffer; ${undo}`;
}

/** How many refusals are remembered so that each is logged once. */
const LOGGED_LIMIT = 10_000;

export function sealStores(store: SealedParts, seal: AuthorizationSeal, onRefused: OnRefused): SealedStores {
  const logged = new Set<string>();
  const refuse = (kind: Parameters<OnRefused>[0]['kind'], id: string, mac: string | null | undefined) => {
    const key = `${kind}\u0000${id}\u0000${mac ?? ''}`;
    if (!logged.has(key)) {
      if (logged.size >= LOGGED_LIMIT) logged.clear();
      logged.add(key);
      onRefused({ kind, id, sealed: typeof mac === 'string' });
    }
    return false;
  };
  const assignmentOk = (r: RoleAssignmentRow) => seal.intact(r.mac, seal.assignment(r)) || refuse('role assignment', r.id, r.mac);
  const definitionOk = (r: RoleDefinitionRow) => seal.intact(r.mac, seal.definition(r)) || refuse('custom role', r.id, r.mac);
  const membershipOk = (r: { groupId: string; memberId: string; mac: string | null }) =>
    seal.intact(r.mac, seal.membership(r.groupId, r.memberId)) || refuse('group membership', `${r.groupId}/${r.memberId}`, r.mac);

  const roleAssignments: RoleAssignmentStore = {
    ...store.roleAssignments,
    insert: (row, audit) => store.roleAssignments.insert({ ...row, mac: seal.assignment(row) }, audit),
    get: async (id) => {
      const row = await store.roleAssignments.get(id);
      return row && assignmentOk(row) ? row : null;
    },
    list: async () => (await store.roleAssignments.list()).filter(assignmentOk),
  };
  const roleDefinitions: RoleDefinitionStore = {
    ...store.roleDefinitions,
    upsert: (row, audit) => store.roleDefinitions.upsert({ ...row, mac: seal.definition(row) }, audit),
    get: async (id) => {
      const row = await store.roleDefinitions.get(id);
      return row && definitionOk(row) ? row : null;
    },
    list: async () => (await store.roleDefinitions.list()).filter(definitionOk),
  };
  const groups: GroupStore = {
    ...store.groups,
    addMember: (g, m, audit) => store.groups.addMember(g, m, audit, seal.membership(g, m)),
    listMembers: async (g) => (await store.groups.membershipsOf(g)).filter(membershipOk).map((r) => r.memberId),
    membershipsOf: async (g) => (await store.groups.membershipsOf(g)).filter(membershipOk),
    allMemberships: async () => (await store.groups.allMemberships()).filter(membershipOk),
  };
  const vaults: VaultStore = {
    ...store.vaults,
    insert: (row, audit) => store.vaults.insert({ ...row, mac: seal.vault(row) }, audit),
    async update(id, patch, audit, unless) {
      if (patch.properties === undefined) return store.vaults.update(id, patch, audit, unless);
      // Name, subscription and group never change: the stored row's are those the new properties are sealed with.
      const row = await store.vaults.getById(id);
      if (!row) return false;
      return store.vaults.update(id, { ...patch, mac: seal.vault({ ...row, properties: patch.properties }) }, audit, unless);
    },
  };
  return {
    roleAssignments,
    roleDefinitions,
    groups,
    vaults,
    vaultIntact: (row) => seal.intact(row.mac, seal.vault(row)) || refuse('vault', row.id, row.mac),
  };
}
