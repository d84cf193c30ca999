import { errors } from './errors.js';

// Azure Key Vault's service limits, per vault: secret creates and all other
// transactions are counted separately in fixed windows. A refused request
// does not count, so clients that back off as told get through.
//
// Two allowances, so that a principal without rights on a vault cannot use up
// the vault's allowance for everyone else: each caller has its own at each
// vault, counted for every request it sends there (refused ones included), and
// the vault's shared one counts only requests the caller was authorized for.

export interface ThrottleLimits {
  windowSeconds: number;
  secretCreates: number;
  other: number;
}

interface Window {
  start: number;
  creates: number;
  other: number;
}

/** Windows kept before the ended ones are dropped (one per vault, and per caller and vault). */
const PRUNE_AT = 10_000;

export function createThrottle(limits: ThrottleLimits) {
  const windows = new Map<string, Window>();
  const windowMs = limits.windowSeconds * 1000;

  function admit(key: string, isSecretCreate: boolean, now: number): void {
    let w = windows.get(key);
    if (!w || now - w.start >= windowMs) {
      if (!w && windows.size >= PRUNE_AT) {
        for (const [k, old] of windows) if (now - old.start >= windowMs) windows.delete(k);
      }
      w = { start: now, creates: 0, other: 0 };
      windows.set(key, w);
    }
    const over = isSecretCreate ? w.creates >= limits.secretCreates : w.other >= limits.other;
    if (over) throw errors.throttled(Math.max(1, Math.ceil((w.start + windowMs - now) / 1000)));
    if (isSecretCreate) w.creates++;
    else w.other++;
  }

  return {
    /** Counts an authenticated request against its caller's own allowance at the vault, or throws 429 with Retry-After. */
    admitCaller(vaultId: string, callerId: string, isSecretCreate: boolean, now = Date.now()): void {
      admit(`${vaultId}|${callerId}`, isSecretCreate, now);
    },
    /** Counts an authorized request against the vault's shared allowance, or throws 429 with Retry-After. */
    admitVault(vaultId: string, isSecretCreate: boolean, now = Date.now()): void {
      admit(vaultId, isSecretCreate, now);
    },
    /** How many windows are held (for tests of the pruning). */
    size: () => windows.size,
  };
}

export type Throttle = ReturnType<typeof createThrottle>;
