import type { Logger } from 'pino';
import type { AuditKeySource } from '../audit/audit-key.js';
import { recordAuditKeyGeneration } from '../audit/audit-key.js';
import type { BackupKeys } from '../crypto/backup-key.js';
import type { Keyring } from '../crypto/keyring.js';
import { rotateKeyringFile, RotationRefusedError } from '../crypto/master-key-rotation.js';
import type { VaultKeys } from '../crypto/vault-keys.js';
import { recordCredentialPepper } from '../identity/credential-pepper.js';
import type { CredentialHasher } from '../identity/password-hash.js';
import type { TokenService } from '../identity/token-service.js';
import type { Store } from '../storage/store-types.js';
import type { VaultService } from '../vaults/vault-service.js';
import type { AdminOperations } from './admin-routes.js';
import type { Sealing } from './authorization-sealing.js';
import { errors } from './errors.js';

// The deployment administrator's key rotations (POST /coffer/admin/...): a master key rotation moves every
// holder of the keyring to the new one and records what the data dir keeps of it.

export function createAdminOperations(deps: {
  /** A cluster's other members would not have the new key this one writes to its own key file. */
  cluster: boolean;
  /** The master key came from the environment: the key file is not where it lives. */
  masterKeyFromEnv: boolean;
  keyringFile: string;
  auditKeyFile: string;
  pepperFile: string;
  store: Store;
  vaultKeys: VaultKeys;
  backupKeys: BackupKeys;
  auditKeys: AuditKeySource;
  tokens: TokenService;
  vaults: Pick<VaultService, 'forgetAll'>;
  hasher: CredentialHasher;
  sealing: Pick<Sealing, 'renew' | 'record'>;
  /** Told each keyring the rotation switches to, and read for the one to record the pepper under. */
  keyring: { use(keyring: Keyring): void; current(): Keyring };
  log: Pick<Logger, 'info'>;
}): AdminOperations {
  const { store, vaultKeys, backupKeys, auditKeys, tokens, log } = deps;
  let rotations: Promise<void> = Promise.resolve();
  return {
    async rotateMasterKey() {
      if (deps.cluster) throw errors.masterKeyRotationInCluster();
      if (deps.masterKeyFromEnv) throw errors.masterKeyRotationFromEnv();
      // One rotation at a time: two overlapping ones rewrap from stale lists and could retire a key still in use.
      const rotate = () =>
        rotateKeyringFile(deps.keyringFile, store, {
          keyring: (k) => (deps.keyring.use(k), vaultKeys.useKeyring(k), backupKeys.useKeyring(k), auditKeys.useKeyring(k), tokens.useKeyring(k)),
          renewed: (id, generation, raw) => vaultKeys.renewed(id, generation, raw),
          hasher: deps.hasher,
          renewAuthorization: (k) => deps.sealing.renew(k),
          rewrapped: () => deps.vaults.forgetAll(),
        });
      const run = rotations.then(() => vaultKeys.rotating(rotate));
      rotations = run.then(() => undefined, () => undefined);
      const result = await run.catch((err: unknown) => {
        throw err instanceof RotationRefusedError ? errors.masterKeyRotationRefused(err.message) : err;
      });
      recordAuditKeyGeneration(deps.auditKeyFile, await auditKeys.current());
      await recordCredentialPepper(store.settings, deps.keyring.current(), deps.pepperFile);
      deps.sealing.record();
      log.info({ primaryId: result.primaryId, retired: result.retired }, 'master key rotated');
      return result;
    },
    async rotateSigningKey() {
      const result = await tokens.rotateSigningKey();
      log.info(result, 'token signing key rotated');
      return result;
    },
  };
}
