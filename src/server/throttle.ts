import { errors } from './errors.js';

// Azure Key Vault's service limits, per vault: secret creates and all other
// transactions are counted separately in fixed windows. A refused request
// does not count, so clients that back off as told get through.

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

export function createThrottle(limits: ThrottleLimits) {
  const windows = new Map<string, Window>();
  const windowMs = limits.windowSeconds * 1000;
  return {
    /** Counts the request or throws 429 with Retry-After. */
    admit(vaultId: string, isSecretCreate: boolean, now = Date.now()): void {
      let w = windows.get(vaultId);
      if (!w || now - w.start >= windowMs) {
        w = { start: now, creates: 0, other: 0 };
        windows.set(vaultId, w);
      }
      const over = isSecretCreate ? w.creates >= limits.secretCreates : w.other >= limits.other;
      if (over) throw errors.throttled(Math.max(1, Math.ceil((w.start + windowMs - now) / 1000)));
      if (isSecretCreate) w.creates++;
      else w.other++;
    },
  };
}

export type Throttle = ReturnType<typeof createThrottle>;
