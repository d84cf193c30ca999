// Smart lockout for people's sign-ins, as Entra ID does it: after 10 wrong
// passwords for one user name within 10 minutes, that name is locked for a
// minute, and every attempt while it is locked is refused without checking
// the password (so guessing costs the guesser time, not the server scrypt
// work). A right password clears the count. Unknown names are counted like
// known ones, so the lockout does not reveal which names exist. State is in
// memory: a restart clears it.

/** Entra ID's answer while a user name is locked (the token endpoint's error, and the sign-in pages' message). */
export const ACCOUNT_LOCKED = "AADSTS50053: You've tried to sign in too many times with an incorrect user ID or password. Try again in a minute.";

export interface LockoutLimits {
  maxFailures: number;
  windowSeconds: number;
  lockSeconds: number;
  /** User names tracked at most; the oldest makes room. */
  maxTracked: number;
}

export const LOCKOUT: Readonly<LockoutLimits> = { maxFailures: 10, windowSeconds: 600, lockSeconds: 60, maxTracked: 10_000 };

interface Failures {
  count: number;
  firstAt: number;
  lockedUntil: number;
}

export interface SignInLockout {
  /** Whether the name is locked now. */
  locked(name: string): boolean;
  failed(name: string): void;
  succeeded(name: string): void;
}

export function createSignInLockout(now = () => Math.floor(Date.now() / 1000), limits: Readonly<LockoutLimits> = LOCKOUT): SignInLockout {
  const byName = new Map<string, Failures>();
  const key = (name: string) => name.trim().toLowerCase();

  function current(k: string): Failures | undefined {
    const f = byName.get(k);
    if (!f) return undefined;
    const t = now();
    if (f.lockedUntil <= t && t - f.firstAt >= limits.windowSeconds) {
      byName.delete(k);
      return undefined;
    }
    return f;
  }

  return {
    locked: (name) => (current(key(name))?.lockedUntil ?? 0) > now(),
    failed(name) {
      const k = key(name);
      const t = now();
      let f = current(k);
      if (!f) {
        // A bounded map: the oldest entry (Map keeps insertion order) makes room.
        if (byName.size >= limits.maxTracked) byName.delete(byName.keys().next().value!);
        f = { count: 0, firstAt: t, lockedUntil: 0 };
        byName.set(k, f);
      }
      f.count++;
      if (f.count >= limits.maxFailures) {
        f.lockedUntil = t + limits.lockSeconds;
        // The next window starts when the lock ends.
        f.count = 0;
        f.firstAt = f.lockedUntil;
      }
    },
    succeeded: (name) => void byName.delete(key(name)),
  };
}
