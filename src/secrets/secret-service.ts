import type { AuditRecord, DeletedSecretInfo, SecretStore, SecretSummary, SecretVersionMeta, SecretVersionRow, VaultRow } from '../storage/store-types.js';
import { StoreConflictError } from '../storage/store-types.js';
import { IntegrityError, open, seal, sealedGeneration, secretAad } from '../crypto/envelope.js';
import { UnsealableKeyError } from '../crypto/vault-key-wrap.js';
import { pooledRandomHex } from '../crypto/random-pool.js';
import type { VaultKeys } from '../crypto/vault-keys.js';
import { errors } from '../server/errors.js';
import { vaultPolicy } from '../vaults/vault-types.js';
import { createKeyedQueue } from '../server/one-at-a-time.js';
import type { BackupKeys } from '../crypto/backup-key.js';
import { backupBytes, MAX_BACKUP_BYTES, MAX_BACKUP_VERSIONS, openBackup, sealBackup, unpackBackup } from './secret-backup.js';
import type { SetSecretInput, UpdateSecretInput } from './secret-validation.js';

// The secrets domain: versions, soft delete, recovery, backup. Values are
// sealed with the vault's data key and bound to vault, name and version.

export interface SecretWithValue {
  meta: SecretVersionMeta;
  value: string;
}

export interface DeletedSecret {
  meta: SecretVersionMeta;
  deleted: DeletedSecretInfo;
}

/** A secret just deleted: `deleted` is null when the vault has no soft delete and the secret is gone for good. */
export interface DeleteResult {
  meta: SecretVersionMeta;
  deleted: DeletedSecretInfo | null;
}

export interface SecretPage<T> {
  items: T[];
  next: string | null;
}

export interface SecretService {
  // `audit`, when given, is stored with the change in one transaction (SecretStore's `audit` arguments).
  set(vault: VaultRow, name: string, input: SetSecretInput, audit?: AuditRecord): Promise<SecretWithValue>;
  get(vault: VaultRow, name: string, version: string | null): Promise<SecretWithValue>;
  /** A live secret's latest version, without its value (Resource Manager's view of a secret). */
  properties(vault: VaultRow, name: string): Promise<SecretSummary>;
  list(vault: VaultRow, limit: number, after: string | null): Promise<SecretPage<SecretSummary>>;
  listVersions(vault: VaultRow, name: string, limit: number, after: string | null): Promise<SecretPage<SecretVersionMeta>>;
  update(vault: VaultRow, name: string, version: string | null, input: UpdateSecretInput, audit?: AuditRecord): Promise<SecretVersionMeta>;
  delete(vault: VaultRow, name: string, audit?: AuditRecord): Promise<DeleteResult>;
  getDeleted(vault: VaultRow, name: string): Promise<DeletedSecret>;
  listDeleted(vault: VaultRow, limit: number, after: string | null): Promise<SecretPage<DeletedSecret>>;
  recover(vault: VaultRow, name: string, audit?: AuditRecord): Promise<SecretVersionMeta>;
  purge(vault: VaultRow, name: string, audit?: AuditRecord): Promise<void>;
  backup(vault: VaultRow, name: string): Promise<string>;
  /** `audit` makes the record once the blob has named its secret. */
  restore(vault: VaultRow, blob: string, audit?: (name: string) => AuditRecord): Promise<SecretVersionMeta>;
  /** Purges soft-deleted secrets past their retention; returns how many. */
  sweep(now: number): Promise<number>;
}

const DAY = 24 * 3600;

/** Version ids are 16 random bytes as 32 hex digits, as in Azure. */
const newVersion = (): string => pooledRandomHex(16);

export function createSecretService(deps: {
  secrets: SecretStore;
  vaultKeys: VaultKeys;
  backupKeys: Pick<BackupKeys, 'sealing' | 'opening'>;
  deploymentId: string;
  now?: () => number;
}): SecretService {
  const { secrets, vaultKeys } = deps;
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));

  // Keys are at hand (no await) but for a generation not yet read from the store.
  async function sealValue(vault: VaultRow, name: string, version: string, value: string): Promise<Buffer> {
    let found;
    try {
      found = vaultKeys.sealingKey(vault);
      if (found instanceof Promise) found = await found;
    } catch (err) {
      if (err instanceof UnsealableKeyError) throw errors.keyNotInUse(`data key of vault ${vault.name}`);
      if (err instanceof IntegrityError) throw errors.integrity(`the data key of vault ${vault.name}`, err);
      throw err;
    }
    return seal(found.key, Buffer.from(value, 'utf8'), secretAad(vault.id, name.toLowerCase(), version), found.generation);
  }

  /**
   * `name` is the secret the request asked for, never the row's own name column: a row moved under another
   * secret in the database (its name left as it was, or the other's latest pointer aimed at it) must fail
   * to open rather than serve its value under the other's name.
   */
  async function openValue(vault: VaultRow, name: string, row: SecretVersionRow): Promise<string> {
    try {
      const found = vaultKeys.openingKey(vault, sealedGeneration(row.ciphertext));
      const key = found instanceof Promise ? await found : found;
      return open(key, row.ciphertext, secretAad(vault.id, name.toLowerCase(), row.version)).toString('utf8');
    } catch (err) {
      if (err instanceof IntegrityError) throw errors.integrity(`secret ${name}/${row.version}`, err);
      throw err;
    }
  }

  /** Seals and stores with no master key rotation in between (VaultKeys.writing). */
  const sealedWrite = <T>(task: () => Promise<T>): Promise<T> => vaultKeys.writing(task);

  const strip = ({ ciphertext: _c, ...meta }: SecretVersionRow): SecretVersionMeta => meta;

  async function liveSummary(vault: VaultRow, name: string): Promise<SecretSummary> {
    const s = await secrets.getSummary(vault.id, name);
    if (!s || s.deleted) throw errors.secretNotFound(name);
    return s;
  }

  async function deletedSummary(vault: VaultRow, name: string): Promise<DeletedSecret> {
    const s = await secrets.getSummary(vault.id, name);
    if (!s || !s.deleted) throw errors.deletedSecretNotFound(name);
    const { deleted, ...meta } = s;
    return { meta, deleted };
  }

  function requireSoftDelete(vault: VaultRow, name: string) {
    if (!vaultPolicy(vault).softDelete) throw errors.purgeNotAllowed(name);
  }

  // Backups and restores build or open blobs of up to MAX_BACKUP_BYTES (several copies of it on the heap
  // at once): one at a time, so that concurrent ones cannot exhaust the server's heap together.
  const inTurn = createKeyedQueue();
  const oneBlobAtATime = <T>(task: () => Promise<T>): Promise<T> => inTurn('blob', task);

  return {
    async set(vault, name, input, audit) {
      const version = newVersion();
      const t = now();
      try {
        const row = await sealedWrite(async () => secrets.insertVersion({
          vaultId: vault.id,
          name,
          version,
          ciphertext: await sealValue(vault, name, version, input.value),
          contentType: input.contentType,
          tags: input.tags,
          enabled: input.attributes.enabled ?? true,
          nbf: input.attributes.nbf ?? null,
          exp: input.attributes.exp ?? null,
          created: t,
          updated: t,
        }, audit));
        return { meta: strip(row), value: input.value };
      } catch (err) {
        if (err instanceof StoreConflictError && err.reason === 'deleted') throw errors.deletedButRecoverable(name);
        throw err;
      }
    },
    async get(vault, name, version) {
      const row = await secrets.getVersion(vault.id, name, version);
      if (!row) throw errors.secretNotFound(version ? `${name}/${version}` : name);
      // Azure lets nbf/exp pass on get (for tests and recovery) but not `enabled: false`.
      if (!row.enabled) throw errors.secretDisabled('get');
      return { meta: strip(row), value: await openValue(vault, name, row) };
    },
    properties: (vault, name) => liveSummary(vault, name),
    list: (vault, limit, after) => secrets.list(vault.id, limit, after),
    async listVersions(vault, name, limit, after) {
      // Azure lists no versions, rather than a 404, for a secret that does not exist (or is deleted).
      const s = await secrets.getSummary(vault.id, name);
      if (!s || s.deleted) return { items: [], next: null };
      return secrets.listVersions(vault.id, name, limit, after);
    },
    async update(vault, name, version, input, audit) {
      const target = version ?? (await liveSummary(vault, name)).version;
      const patch = { ...input.attributes, updated: now() } as Parameters<SecretStore['updateVersion']>[3];
      if (input.contentType !== undefined) patch.contentType = input.contentType;
      if (input.tags !== undefined) patch.tags = input.tags;
      const updated = await secrets.updateVersion(vault.id, name, target, patch, audit);
      if (!updated) throw errors.secretNotFound(version ? `${name}/${version}` : name);
      return updated;
    },
    async delete(vault, name, audit) {
      const summary = await liveSummary(vault, name);
      const policy = vaultPolicy(vault);
      const t = now();
      const info = { deletedAt: t, scheduledPurgeAt: t + policy.retentionDays * DAY };
      const { deleted: _d, ...meta } = summary;
      // A delete that lost a race to another finds nothing left to delete.
      if (!policy.softDelete) {
        if (!(await secrets.purge(vault.id, name, false, audit))) throw errors.secretNotFound(name);
        return { meta, deleted: null };
      }
      if (!(await secrets.markDeleted(vault.id, name, info, audit))) throw errors.secretNotFound(name);
      return { meta, deleted: info };
    },
    getDeleted: deletedSummary,
    async listDeleted(vault, limit, after) {
      const page = await secrets.listDeleted(vault.id, limit, after);
      return {
        next: page.next,
        items: page.items.map(({ deleted, ...meta }) => ({ meta, deleted: deleted! })),
      };
    },
    async recover(vault, name, audit) {
      const { meta } = await deletedSummary(vault, name);
      if (!(await secrets.recover(vault.id, name, audit))) throw errors.deletedSecretNotFound(name);
      return meta;
    },
    async purge(vault, name, audit) {
      requireSoftDelete(vault, name);
      await deletedSummary(vault, name);
      if (vaultPolicy(vault).purgeProtection) throw errors.purgeProtected(vault.name, vault.location);
      // Only if it is still deleted: a recover that landed since the check above keeps its secret.
      if (!(await secrets.purge(vault.id, name, true, audit))) throw errors.deletedSecretNotFound(name);
    },
    backup: (vault, name) =>
      oneBlobAtATime(async () => {
        await liveSummary(vault, name);
        // One past the most a backup takes: a secret with thousands of versions is refused without reading them all.
        const rows = await secrets.allVersions(vault.id, name, MAX_BACKUP_VERSIONS + 1);
        // Deleted between the two reads.
        if (rows.length === 0) throw errors.secretNotFound(name);
        if (rows.length > MAX_BACKUP_VERSIONS) {
          throw errors.badParameter(`Secret ${name} has more than ${MAX_BACKUP_VERSIONS} versions and cannot be backed up.`);
        }
        let bytes = 0;
        const versions = [];
        for (const r of rows) {
          const v = { version: r.version, value: await openValue(vault, name, r), contentType: r.contentType, tags: r.tags, enabled: r.enabled, nbf: r.nbf, exp: r.exp, created: r.created, updated: r.updated };
          bytes += backupBytes(v);
          if (bytes > MAX_BACKUP_BYTES) throw errors.badParameter(`Secret ${name} is too large to back up: its versions hold more than ${MAX_BACKUP_BYTES / 1024 / 1024} MiB.`);
          versions.push(v);
        }
        const content = { format: 1 as const, name: rows[0]!.name, versions };
        // As a write: no rotation between reading the backup key and sealing (one renewing it would leave this blob under the old key).
        return sealedWrite(async () => {
          const { generation, key } = await deps.backupKeys.sealing().catch((err: unknown) => {
            if (err instanceof UnsealableKeyError) throw errors.keyNotInUse('backup key');
            throw err instanceof IntegrityError ? errors.integrity('the backup key', err) : err;
          });
          return sealBackup(key, generation, deps.deploymentId, content);
        });
      }),
    restore: (vault, blob, audit) => oneBlobAtATime(() => restoreBlob(vault, blob, audit)),
    sweep: (t) => secrets.purgeExpired(t),
  };

  async function restoreBlob(vault: VaultRow, blob: string, audit?: (name: string) => AuditRecord) {
    const { sealed, generation } = unpackBackup(blob);
    const key = await deps.backupKeys.opening(generation).catch((err: unknown) => {
      throw err instanceof IntegrityError ? errors.integrity(`the backup key of generation ${generation}`, err) : err;
    });
    const content = openBackup(key, deps.deploymentId, sealed);
    const name = content.name;
    const rowsSealed = async () => Promise.all(content.versions.map(async (v) => ({
      vaultId: vault.id,
      name,
      version: v.version,
      ciphertext: await sealValue(vault, name, v.version, v.value),
      contentType: v.contentType,
      tags: v.tags,
      enabled: v.enabled,
      nbf: v.nbf,
      exp: v.exp,
      created: v.created,
      updated: v.updated,
    })));
    try {
      await sealedWrite(async () => secrets.restore(vault.id, name, await rowsSealed(), audit?.(name)));
    } catch (err) {
      if (err instanceof StoreConflictError) {
        throw err.reason === 'deleted' ? errors.deletedButRecoverable(name) : errors.secretAlreadyExists(name);
      }
      throw err;
    }
    return liveSummary(vault, name).then(({ deleted: _d, ...meta }) => meta);
  }
}
