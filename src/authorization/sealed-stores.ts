import { createHash } from 'node:crypto';
import type { FederatedCredentialRow, GroupStore, KeyCredentialRow, PrincipalStore, RoleAssignmentRow, RoleAssignmentStore, RoleDefinitionRow, RoleDefinitionStore, Store, VaultRow, VaultStore } from '../storage/store-types.js';
import { createWriteGate } from '../server/one-at-a-time.js';
import { keysChanged, sameKeyIds } from '../storage/store-support.js';
import type { AuthorizationSeal } from './authorization-seal.js';
import type { RowsAsChecked } from './authorization-digest.js';

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
export type OnRefused = (what: { kind: 'role assignment' | 'custom role' | 'group membership' | 'vault' | 'key credential' | 'federated credential'; id: string; sealed: boolean }) => void;

/** What the log says of a refused row. */
export function refusedAdvice(r: Parameters<OnRefused>[0]): string {
  const what = r.sealed ? 'does not match its seal' : 'carries no seal';
  const undo =
    r.kind === 'vault'
      ? 'its data plane, check-access and every change to it answer 500 until its row is put back from a database backup (or it is deleted and purged)'
      : r.kind === 'key credential'
        ? 'it authenticates nothing and is listed nowhere: remove the row from the database, and add the certificate again through Graph if it belongs'
        : r.kind === 'federated credential'
        ? 'it authenticates nothing and is listed nowhere: remove the row from the database, and create the federated credential again through Graph if it belongs'
        : r.kind === 'group membership'
        ? 'remove the row from the database, and add the member again through the API if it belongs'
        : r.kind === 'custom role'
          ? 'it grants nothing: remove the row from the database; to create it again through the API, delete the role assignments of it first'
          : 'it grants nothing: remove the row from the database, and create the role assignment again through the API if it belongs';
  return `a ${r.kind} in the database ${what}: it was written outside coffer; ${undo}`;
}

/** How many refusals are remembered so that each is logged once. */
const LOGGED_LIMIT = 10_000;

/**
 * The seal the stores use, swapped by a renewal (authorization-key.ts). A
 * sealed write runs as `writing`, a renewal as `renewing`: the renewal waits
 * for writes under way and holds new ones until it has sealed every row
 * again, so that no row is stored under the generation it drops. While it
 * runs, rows of either generation match.
 */
export interface SealHolder {
  current(): AuthorizationSeal;
  writing<T>(task: (seal: AuthorizationSeal) => Promise<T>): Promise<T>;
  /**
   * Runs `task` with no sealed write under way; if it returns true, `next()`
   * is the seal from then on. Meanwhile rows sealed by `next()` match too.
   */
  renewing(next: () => AuthorizationSeal | null, task: () => Promise<boolean>): Promise<boolean>;
  /** Whether `mac` is the row's (`expected` computes it under a seal). */
  matches(mac: string | null | undefined, expected: (seal: AuthorizationSeal) => string): boolean;
}

export function createSealHolder(initial: AuthorizationSeal): SealHolder {
  let seal = initial;
  let next: () => AuthorizationSeal | null = () => null;
  const gate = createWriteGate();
  return {
    current: () => seal,
    // The seal is read once the write may run: after a renewal under way, the renewed one.
    writing: (task) => gate.writing(() => task(seal)),
    renewing: (nextOf, task) =>
      gate.exclusive(async () => {
        next = nextOf;
        let renewed = false;
        try {
          renewed = await task();
          const to = nextOf();
          if (renewed && to) seal = to;
          return renewed;
        } finally {
          // Cut short after the next generation was stored, rows already sealed under it keep matching (a start
          // finishes the renewal); otherwise only the current one matches.
          const stored = nextOf();
          next = renewed || stored === null ? () => null : () => stored;
        }
      }),
    matches(mac, expected) {
      if (seal.intact(mac, expected(seal))) return true;
      const to = next();
      return to !== null && to.intact(mac, expected(to));
    },
  };
}

/** Remembers what was refused, so that each refusal is logged once. */
function refuser(onRefused: OnRefused) {
  const logged = new Set<string>();
  return (kind: Parameters<OnRefused>[0]['kind'], id: string, mac: string | null | undefined) => {
    const key = `${kind}\u0000${id}\u0000${mac ?? ''}`;
    if (!logged.has(key)) {
      if (logged.size >= LOGGED_LIMIT) logged.clear();
      logged.add(key);
      onRefused({ kind, id, sealed: typeof mac === 'string' });
    }
    return false;
  };
}

const hex = (algorithm: string, der: Buffer) => createHash(algorithm).update(der).digest('hex').toUpperCase();

/**
 * The principals' store with its key credentials (and federated credentials) sealed: each is sealed as it
 * is written, and one whose seal does not match is left out of every read (it
 * authenticates nothing and is listed nowhere), logged once. Thumbprints are
 * read from the certificate's bytes, which the seal covers, never from their
 * own columns.
 */
export function sealKeyCredentials(
  principals: PrincipalStore,
  holder: SealHolder,
  onRefused: OnRefused,
  /** Whether a key (or federated) credential is one the authorization digest sealed (authorization-digest.ts); it authenticates no one otherwise. */
  digestHolds: (row: KeyCredentialRow) => boolean = () => true,
  federatedDigestHolds: (row: FederatedCredentialRow) => boolean = () => true,
): PrincipalStore {
  const refuse = refuser(onRefused);
  const intact = (r: KeyCredentialRow): KeyCredentialRow[] =>
    holder.matches(r.mac, (s) => s.keyCredential(r)) || refuse('key credential', `${r.objectId}/${r.keyId}`, r.mac)
      ? [{ ...r, thumbprintSha1: hex('sha1', r.certificate), thumbprintSha256: hex('sha256', r.certificate) }]
      : [];
  const fedIntact = (r: FederatedCredentialRow): boolean => holder.matches(r.mac, (s) => s.federatedCredential(r)) || refuse('federated credential', `${r.objectId}/${r.id}`, r.mac);
  return {
    ...principals,
    // Federated credentials as key credentials: sealed as written, left out of every read where the seal fails.
    // Read at every sign-in with an external token, and by Graph: one put back while the server runs is left out here.
    listFederatedCredentials: async (objectId) => (await principals.listFederatedCredentials(objectId)).filter(fedIntact).filter(federatedDigestHolds),
    allFederatedCredentials: async () => (await principals.allFederatedCredentials()).filter(fedIntact),
    addFederatedCredential: (row, max, audit) => holder.writing((seal) => principals.addFederatedCredential({ ...row, mac: seal.federatedCredential(row) }, max, audit)),
    updateFederatedCredential: (row, was, audit) => holder.writing((seal) => principals.updateFederatedCredential({ ...row, mac: seal.federatedCredential(row) }, was, audit)),
    insert: (row, audit, firstSecret, firstKeys) =>
      firstKeys?.length
        ? holder.writing((seal) => principals.insert(row, audit, firstSecret, firstKeys.map((r) => ({ ...r, mac: seal.keyCredential(r) }))))
        : principals.insert(row, audit, firstSecret),
    // Read at every token request that presents an assertion: a certificate put back while the server runs is caught here.
    listKeyCredentials: async (objectId) => (await principals.listKeyCredentials(objectId)).flatMap(intact).filter(digestHolds),
    allKeyCredentials: async () => (await principals.allKeyCredentials()).flatMap(intact),
    changeKeyCredentials: (objectId, change, audit) =>
      holder.writing(async (seal) => {
        const add = change.add.map((r) => ({ ...r, mac: seal.keyCredential(r) }));
        if (!change.expected) return principals.changeKeyCredentials(objectId, { add, remove: change.remove }, audit);
        // `expected` was read through this store (rows that fail their seal left out). The store compares with
        // every stored row, so it is given all of them as they are now, once the ones that count are checked to
        // be those still: a change between the two reads is one of those, or one the store's check catches.
        const stored = await principals.listKeyCredentials(objectId);
        if (!sameKeyIds(stored.flatMap(intact).map((r) => r.keyId), change.expected)) throw keysChanged(objectId);
        return principals.changeKeyCredentials(objectId, { add, remove: change.remove, expected: stored.map((r) => r.keyId) }, audit);
      }),
  };
}

export function sealStores(
  store: SealedParts,
  holder: SealHolder,
  onRefused: OnRefused,
  /** Whether the stored vault rows are those the authorization digest sealed (authorization-digest.ts): a vault is trusted only then. */
  vaultHolds: (row: VaultRow) => boolean = () => true,
  /** The assignments and memberships as the start's check of the digest read them: the access index's first load takes them instead of reading and checking every row again. */
  asChecked?: RowsAsChecked,
): SealedStores {
  const refuse = refuser(onRefused);
  const assignmentOk = (r: RoleAssignmentRow) => holder.matches(r.mac, (s) => s.assignment(r)) || refuse('role assignment', r.id, r.mac);
  const definitionOk = (r: RoleDefinitionRow) => holder.matches(r.mac, (s) => s.definition(r)) || refuse('custom role', r.id, r.mac);
  const vaultOk = (r: VaultRow) => (holder.matches(r.mac, (s) => s.vault(r)) || refuse('vault', r.id, r.mac)) && vaultHolds(r);
  const membershipOk = (r: { groupId: string; memberId: string; mac: string | null }) =>
    holder.matches(r.mac, (s) => s.membership(r.groupId, r.memberId)) || refuse('group membership', `${r.groupId}/${r.memberId}`, r.mac);

  const roleAssignments: RoleAssignmentStore = {
    ...store.roleAssignments,
    // A stored twin that fails its seal grants nothing, and does not stand in the way (it is logged where it is read).
    insert: (row, audit, checks) =>
      holder.writing((seal) =>
        store.roleAssignments.insert({ ...row, mac: seal.assignment(row) }, audit, { ...checks, twinCounts: (twin) => holder.matches(twin.mac, (s) => s.assignment(twin)) }),
      ),
    // Sealed from the row the caller read and checked (`stored`, whose seal the store compares), never one read again here.
    update: async (stored, change, audit) =>
      assignmentOk(stored) ? holder.writing((seal) => store.roleAssignments.update(stored, { ...change, mac: seal.assignment({ ...stored, endTime: change.endTime }) }, audit)) : null,
    get: async (id) => {
      const row = await store.roleAssignments.get(id);
      return row && assignmentOk(row) ? row : null;
    },
    list: async () => {
      const checked = await asChecked?.take('assignments');
      // A row that did not match at the check is refused (and logged) here, as one read now would be.
      return checked ? checked.rows.filter((r, i) => checked.match[i] || assignmentOk(r)) : (await store.roleAssignments.list()).filter(assignmentOk);
    },
  };
  const roleDefinitions: RoleDefinitionStore = {
    ...store.roleDefinitions,
    upsert: (row, audit) => holder.writing((seal) => store.roleDefinitions.upsert({ ...row, mac: seal.definition(row) }, audit)),
    get: async (id) => {
      const row = await store.roleDefinitions.get(id);
      return row && definitionOk(row) ? row : null;
    },
    list: async () => (await store.roleDefinitions.list()).filter(definitionOk),
  };
  const groups: GroupStore = {
    ...store.groups,
    addMember: (g, m, audit) => holder.writing((seal) => store.groups.addMember(g, m, audit, seal.membership(g, m))),
    listMembers: async (g) => (await store.groups.membershipsOf(g)).filter(membershipOk).map((r) => r.memberId),
    membershipsOf: async (g) => (await store.groups.membershipsOf(g)).filter(membershipOk),
    allMemberships: async () => {
      const checked = await asChecked?.take('memberships');
      return checked ? checked.rows.filter((r, i) => checked.match[i] || membershipOk(r)) : (await store.groups.allMemberships()).filter(membershipOk);
    },
  };
  const vaults: VaultStore = {
    ...store.vaults,
    insert: (row, audit) => holder.writing((seal) => store.vaults.insert({ ...row, mac: seal.vault(row) }, audit)),
    async update(id, patch, audit, unless) {
      const properties = patch.properties;
      if (properties === undefined) return store.vaults.update(id, patch, audit, unless);
      // Name, subscription and group never change: those of the row the caller read and checked (`unless`) are
      // sealed with the new properties, never a row read again here, which a database writer could have changed.
      if (!unless) throw new Error(`vault ${id}: its properties are changed only from the row read and checked (unless)`);
      return holder.writing((seal) => store.vaults.update(id, { ...patch, mac: seal.vault({ ...unless, properties }) }, audit, unless));
    },
    // The seal covers the deletion state: sealed again from the row the caller read, if it matches its seal (and the
    // digest holds it). One that does not is deleted as it is (its seal left broken: it grants nothing, live or not).
    markDeleted: (id, deletedAt, scheduledPurgeAt, audit, change) =>
      holder.writing((seal) => {
        const read = change?.was;
        const sealed = read && vaultOk(read) ? { was: read, mac: seal.vault({ ...read, deletedAt, scheduledPurgeAt }) } : undefined;
        return store.vaults.markDeleted(id, deletedAt, scheduledPurgeAt, audit, sealed);
      }),
    recover: (id, at, audit, change) =>
      holder.writing((seal) => {
        const read = change?.was;
        const sealed = read && vaultOk(read) ? { was: read, mac: seal.vault({ ...read, deletedAt: null, scheduledPurgeAt: null }) } : undefined;
        return store.vaults.recover(id, at, audit, sealed);
      }),
  };
  return {
    roleAssignments,
    roleDefinitions,
    groups,
    vaults,
    // Asked as a vault is looked up (once per row read): a vault's row put back while the server runs is caught here.
    vaultIntact: vaultOk,
  };
}
