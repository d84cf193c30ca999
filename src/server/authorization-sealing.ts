import { join } from 'node:path';
import type { Logger } from 'pino';
import { openAuthorizationSeal, renewAuthorizationKey } from '../authorization/authorization-binding.js';
import { AUTHORIZATION_KEY_FILE, recordAuthorizationKey } from '../authorization/authorization-key.js';
import { createSealHolder, refusedAdvice, sealStores, type SealedStores } from '../authorization/sealed-stores.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store-types.js';

// The server's authorization seal (authorization/authorization-seal.ts): the
// key opened (made, bound or its renewal finished on the way), the stores the
// services use, and what a master key rotation calls.

export interface Sealing {
  stores: SealedStores;
  /** Renews the key, holding this server's sealed writes meanwhile (a master key rotation's hook). */
  renew(keyring: Keyring): Promise<boolean>;
  /** Records the current key in the data dir (after a rotation renewed it). */
  record(): void;
}

export async function startSealing(store: Store, keyring: Keyring, dataDir: string, log: Pick<Logger, 'warn' | 'info' | 'error'>): Promise<Sealing> {
  const file = join(dataDir, AUTHORIZATION_KEY_FILE);
  const { seal, bound, resealed } = await openAuthorizationSeal(store, keyring, file);
  if (bound) log.warn({ rows: bound }, 'sealed the role assignments, custom roles, group memberships and vaults stored before this build sealed them, trusting them as found');
  if (resealed !== null) log.warn({ rows: resealed }, 'finished the authorization key renewal a stop had cut short');
  const holder = createSealHolder(seal);
  return {
    stores: sealStores(store, holder, (r) => log.error({ kind: r.kind, id: r.id }, refusedAdvice(r))),
    renew: (k) => renewAuthorizationKey(store, k, holder),
    record: () => recordAuthorizationKey(file, holder.current(), true),
  };
}
