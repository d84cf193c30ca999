// The store's part of sign-in lockout (identity/sign-in-lockout.ts): failed
// sign-ins counted per key (a user name, a client address), shared by every
// server of the database, so that a cluster's balancer does not give a
// guesser one allowance per member.

export interface FailureCount {
  /** Failures in the window that began at firstAt. */
  count: number;
  /** Never 0 in a stored row: PostgreSQL's store marks a row it is creating so. */
  firstAt: number;
  /** Until when (unix seconds) the key is locked; 0 when it never was in this window. */
  lockedUntil: number;
  /**
   * How many times the key was locked without a right password or a quiet
   * window between: the next lock comes at the next failure and lasts
   * longer (identity/sign-in-lockout.ts).
   */
  locks: number;
  /**
   * Keyed fingerprints of the last wrong passwords counted for a user name
   * (newest first, at most three; none for an address), so that a client
   * retrying one stale password is counted once, as Entra ID does. A name's
   * familiar networks (identity/sign-in-familiar.ts) are a row of their own
   * whose `recent` holds the networks, with count and lock 0.
   */
  recent: string[];
}

/** `recent` as the stores keep it, in one text column (fingerprints hold no comma). */
export const splitRecent = (text: string): string[] => (text === '' ? [] : text.split(','));

export interface SignInFailureStore {
  get(key: string): Promise<FailureCount | null>;
  /**
   * Stores change(current) for the key (null removes it) in one transaction
   * that no other change of the key overlaps, and returns it.
   */
  change(key: string, change: (current: FailureCount | null) => FailureCount | null): Promise<FailureCount | null>;
  delete(key: string): Promise<void>;
  /**
   * Removes the counts of keys starting with `prefix` whose lock has ended by
   * `now` and whose window began at or before `windowStart` (or, for a count
   * in a run of locks, at or before `runStart`); returns how many.
   */
  deleteEnded(prefix: string, now: number, windowStart: number, runStart?: number): Promise<number>;
}
