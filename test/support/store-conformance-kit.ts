import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { ChainKey } from '../../src/audit/audit-chain.js';
import { loadAuditKey } from '../../src/audit/audit-key.js';
import { createKeyring, type Keyring } from '../../src/crypto/keyring.js';
import { StoreConflictError, type AuditRecord, type Page, type PrincipalRow, type RoleAssignmentRow, type SecretVersionRow, type Store, type VaultRow } from '../../src/storage/store-types.js';

// The storage contract as executable checks, written against the Store
// interface only. Every implementation (SQLite now, PostgreSQL next) runs this
// same suite. Each test gets a fresh, empty store, so counts are exact.
// Where the interface leaves an order unspecified, results are compared sorted.

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

type NewVersion = Omit<SecretVersionRow, 'seq'>;

/** Keys a store's audit chain as a server does at start (a fresh master key): no record is stored before this. */
export async function keyAuditChain(store: Store, keyring: Keyring = createKeyring(randomBytes(32))): Promise<ChainKey> {
  const key = await loadAuditKey(store, keyring);
  store.audit.useKey(key);
  return key;
}

/** Stores a vault into its resource group, creating the group first (a vault goes only into an existing group). */
export async function insertVault(store: Store, v: VaultRow): Promise<VaultRow> {
  await store.resourceGroups.create({ subscriptionId: v.subscriptionId, name: v.resourceGroup, location: v.location, tags: {} });
  if (!(await store.vaults.insert(v))) throw new Error(`vault ${v.name} was not stored`);
  return v;
}

export const hex32 = (): string => randomBytes(16).toString('hex');
export const byKey = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

export function vaultRow(overrides: Partial<VaultRow> = {}): VaultRow {
  return {
    id: randomUUID(),
    name: `v-${randomBytes(4).toString('hex')}`,
    subscriptionId: 'sub-1',
    resourceGroup: 'rg-1',
    location: 'local',
    tags: { env: 'test' },
    properties: { enableSoftDelete: true, softDeleteRetentionInDays: 7, sku: { family: 'A', name: 'standard' } },
    createdBy: 'creator@example.test',
    createdByType: 'User',
    modifiedBy: null,
    modifiedByType: null,
    createdAt: 1000,
    updatedAt: 1000,
    deletedAt: null,
    scheduledPurgeAt: null,
    dekWrapped: randomBytes(60),
    masterKeyId: 'mk-1',
    dekGeneration: 0,
    mac: `a1.0.vault-${randomBytes(6).toString('hex')}`,
    ...overrides,
  };
}

export function versionRow(vaultId: string, name: string, overrides: Partial<NewVersion> = {}): NewVersion {
  return {
    vaultId,
    name,
    version: hex32(),
    ciphertext: randomBytes(48),
    contentType: null,
    tags: null,
    enabled: true,
    nbf: null,
    exp: null,
    created: 2000,
    updated: 2000,
    ...overrides,
  };
}

/** An audit record as the audit log stores it. */
export const auditRecord = (operation: string, time = '2026-01-01T00:00:00.000Z'): AuditRecord => ({
  time,
  vault: 'kv',
  secret: 's',
  principal: 'p',
  operation,
  resultType: 'Success',
  httpStatus: 200,
  record: JSON.stringify({ operationName: operation }),
});

export const assignmentRow = (overrides: Partial<RoleAssignmentRow> = {}): RoleAssignmentRow => ({
  id: randomUUID(),
  scope: '/subscriptions/s/resourceGroups/rg',
  roleDefinitionId: randomUUID(),
  principalId: randomUUID(),
  principalType: 'ServicePrincipal',
  description: null,
  endTime: null,
  createdAt: 1,
  updatedAt: 1,
  createdBy: 'admin',
  mac: `a1.0.assignment-${randomBytes(6).toString('hex')}`,
  ...overrides,
});

export const principal = (overrides: Partial<PrincipalRow>): PrincipalRow => ({
  objectId: randomUUID(),
  kind: 'ServicePrincipal',
  displayName: 'p',
  appId: null,
  upn: null,
  passwordHash: null,
  mailNickname: null,
  createdAt: 1,
  passwordGeneration: 0,
  ...overrides,
});

export const isConflict = (reason: StoreConflictError['reason']) => (err: unknown) => {
  assert.ok(err instanceof StoreConflictError, `expected StoreConflictError, got ${String(err)}`);
  assert.equal(err.reason, reason);
  return true;
};

/** Follows `next` to the end, checking that no page is empty or oversized. */
export async function collect<T>(fetch: (after: string | null) => Promise<Page<T>>, limit: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let after: string | null = null;
  let pages = 0;
  do {
    const page: Page<T> = await fetch(after);
    pages++;
    assert.ok(page.items.length <= limit, `page of ${page.items.length} exceeds limit ${limit}`);
    if (page.next !== null) assert.ok(page.items.length > 0, 'a page with a continuation must not be empty');
    items.push(...page.items);
    after = page.next;
    assert.ok(pages < 1000, 'paging does not terminate');
  } while (after !== null);
  return { items, pages };
}
