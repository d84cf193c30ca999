import { isIPv6 } from 'node:net';
import { unmapped } from '../net/client-address.js';
import type { FailureCount, SignInFailureStore } from '../storage/sign-in-failure-types.js';

// Smart lockout for people's sign-ins, as Entra ID does it: after 10 wrong
// passwords for one user name within 10 minutes, that name is locked for a
// minute, and every attempt while it is locked is refused without checking
// the password (so guessing costs the guesser time, not the server scrypt
// work). As in Entra ID, the name then "locks again after each subsequent
// failed sign-in attempt, for one minute at first and then longer": each
// lock of a run lasts twice the one before, up to an hour, and the run ends
// with a right password or a day without a counted failure (else a guesser
// would get ten more checks a minute, some 14,000 a day per name). A right
// password clears the count. As Entra ID, a name's last three
// wrong passwords are remembered (as fingerprints keyed with the credential
// pepper) and one of them tried again is not counted again: a client retrying
// a stale password does not lock its user out (the address's count, below,
// still counts every wrong password). Unknown names are counted like
// known ones, so the lockout does not reveal which names exist. A name's
// attempt is counted before its password is checked (attempt), so guesses
// sent together, from many addresses or through many cluster members, get no
// more than ten checks between them. A name has two such counts, as in Entra
// ID: one for the networks it signed in from lately, one for everywhere else
// (sign-in-familiar.ts; directory-service.ts picks the count).
//
// The same counter, keyed by the client's address, stops password spraying
// (one password tried against many names, which no name's count sees): 30
// wrong passwords from one address within 10 minutes refuse every password
// sign-in from it for 5 minutes (Entra ID's IP lockout), and longer in a run. Only wrong passwords
// count, and a right one does not clear an address's count (else one known
// account would reset it between guesses). The counts are in the store, so
// a restart keeps them and every server of a cluster shares them.

/** Entra ID's answer while a user name is locked (the token endpoint's error, and the sign-in pages' message). */
export const ACCOUNT_LOCKED = "AADSTS50053: You've tried to sign in too many times with an incorrect user ID or password. Try again in a minute.";
/** Entra ID's answer while the client's address is locked. */
export const SOURCE_LOCKED = 'AADSTS50053: Sign-in was blocked because it came from an IP address with malicious activity: too many failed sign-ins. Try again in a few minutes.';

/** coffer's answer while too many sign-ins wait (sign-in-backlog.ts). */
export const SIGN_INS_BUSY = 'Too many sign-ins are in progress; try again later.';

/** What a refused sign-in is told, by reason (the sign-in pages' message). */
export const LOCKED_MESSAGES = { locked: ACCOUNT_LOCKED, 'source-locked': SOURCE_LOCKED, busy: SIGN_INS_BUSY } as const;

export interface LockoutLimits {
  maxFailures: number;
  windowSeconds: number;
  /** The first lock of a run; each next one lasts twice as long, up to maxLockSeconds. */
  lockSeconds: number;
  maxLockSeconds: number;
  /** How long after its last lock ended a run is remembered (a failure then locks again at once). */
  runSeconds: number;
}

/** The wrong passwords a name remembers, so that a repeat is not counted again (Entra ID: three). */
const REMEMBERED_PASSWORDS = 3;

const DAY = 86_400;
export const LOCKOUT: Readonly<LockoutLimits> = { maxFailures: 10, windowSeconds: 600, lockSeconds: 60, maxLockSeconds: 3600, runSeconds: DAY };
export const SOURCE_LOCKOUT: Readonly<LockoutLimits> = { maxFailures: 30, windowSeconds: 600, lockSeconds: 300, maxLockSeconds: 3600, runSeconds: DAY };

export interface SignInLockout {
  /** Whether the key is locked now. */
  locked(key: string): Promise<boolean>;
  /**
   * Counts an attempt as a failure before its password is checked, in one
   * change of the count, and returns the count it stored; null if the key is
   * locked (nothing counted). A right password then clears the count
   * (succeeded, given what attempt returned). `fingerprint` (the password's,
   * keyed) is remembered; a password among the last three counted is not
   * counted again.
   */
  attempt(key: string, fingerprint?: string): Promise<FailureCount | null>;
  /** Counts a failure; returns the count stored. */
  failed(key: string): Promise<FailureCount | null>;
  /**
   * A right password after `attempt` (what attempt stored): clears the
   * count, but not a lock that other attempts set while this one's password
   * was checked (else each real sign-in would lift the guessers' lock).
   */
  succeeded(key: string, attempt: FailureCount): Promise<void>;
  /** Drops counts whose window and lock have ended (the periodic sweep). */
  forgetEnded(): Promise<number>;
}

/**
 * A lockout over counts kept in the store, under `prefix` + the key (one
 * table holds names' and addresses' counts).
 */
export function createSignInLockout(
  store: SignInFailureStore,
  prefix: string,
  now = () => Math.floor(Date.now() / 1000),
  limits: Readonly<LockoutLimits> = LOCKOUT,
): SignInLockout {
  const key = (name: string) => prefix + name.trim().toLowerCase();
  /** The count as it stands at t: none once its window (or its run of locks) and any lock have ended. */
  const live = (f: FailureCount | null, t: number) =>
    f && (f.lockedUntil > t || t - f.firstAt < (f.locks > 0 ? limits.runSeconds : limits.windowSeconds)) ? f : null;
  /** A live count (or none) with one more failure at t, remembering its password's fingerprint if given. */
  const counted = (current: FailureCount | null, t: number, fingerprint?: string): FailureCount => {
    const f = current ?? { count: 0, firstAt: t, lockedUntil: 0, locks: 0, recent: [] };
    const count = f.count + 1;
    const recent = fingerprint === undefined ? f.recent : [fingerprint, ...f.recent].slice(0, REMEMBERED_PASSWORDS);
    // Locked (at the limit, or at once in a run of locks), each lock of a run twice as long: the next window starts when it ends.
    if (count >= limits.maxFailures || f.locks > 0) {
      const until = t + Math.min(limits.lockSeconds * 2 ** Math.min(f.locks, 30), limits.maxLockSeconds);
      return { count: 0, firstAt: until, lockedUntil: until, locks: f.locks + 1, recent };
    }
    return { ...f, count, recent };
  };
  return {
    locked: async (name) => {
      const t = now();
      return (live(await store.get(key(name)), t)?.lockedUntil ?? 0) > t;
    },
    async attempt(name, fingerprint) {
      const t = now();
      let mine: FailureCount | null = null;
      await store.change(key(name), (stored) => {
        const f = live(stored, t);
        if ((f?.lockedUntil ?? 0) > t) return stored;
        // A wrong password tried again: checked as any other, not counted again.
        mine = f !== null && fingerprint !== undefined && f.recent.includes(fingerprint) ? f : counted(f, t, fingerprint);
        return mine;
      });
      return mine;
    },
    async failed(name) {
      const t = now();
      return store.change(key(name), (stored) => counted(live(stored, t), t));
    },
    async succeeded(name, mine) {
      const t = now();
      await store.change(key(name), (stored) => {
        const f = live(stored, t);
        // A lock stands unless it is the one this attempt set (the attempt that reached the limit).
        const lockedByOthers = f !== null && f.lockedUntil > t && f.lockedUntil !== mine.lockedUntil;
        return lockedByOthers ? stored : null;
      });
    },
    forgetEnded: () => {
      const t = now();
      return store.deleteEnded(prefix, t, t - limits.windowSeconds, t - limits.runSeconds);
    },
  };
}

/**
 * The key an address is counted under: an IPv4 address as it is (also when
 * written IPv4-mapped, as a dual-stack socket reports it), an IPv6 address by
 * its /64, which a single host is commonly given whole.
 */
export function sourceKey(address: string): string {
  const plain = unmapped(address);
  if (plain !== address) return plain;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address;
  const [head = '', tail] = bare.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const full = [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return `${full.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/**
 * The network a source key (from sourceKey) belongs to: an IPv4 /24 or an
 * IPv6 /48, the block a single customer is commonly given. A limit per
 * source alone is cheap to get around for whoever holds a /48, which
 * holds 65,536 /64s.
 */
export function networkKey(source: string): string {
  const v6 = /^([0-9a-f]+:[0-9a-f]+:[0-9a-f]+):[0-9a-f]+::\/64$/.exec(source);
  if (v6) return `${v6[1]}::/48`;
  const v4 = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$/.exec(source);
  if (v4) return `${v4[1]}.0/24`;
  return source;
}
