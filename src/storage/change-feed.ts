// Changes that the servers of a cluster commit to what every server keeps
// in memory (vault rows, the authorization index, custom roles, token
// signing keys, the credential pepper's settings row; and principals deleted,
// whose verified tokens every member drops). Only PostgreSQL has
// them: its triggers announce each change when it commits (see
// pg-change-feed.ts), to every member, the one that made it included (it
// applies it again, harmlessly).

export type ChangeTopic = 'vault' | 'assignment' | 'membership' | 'role' | 'signing-key' | 'setting' | 'principal';

export type StoreChange =
  | { topic: ChangeTopic; key: string }
  /** Changes were missed (too many arrived before anyone listened): everything cached must be read again. */
  | { topic: 'all'; key: '' };

export interface ChangeFeed {
  /**
   * Calls `listener` with every change announced from now on, after the ones
   * announced since the store opened (a cache built meanwhile may predate them).
   */
  subscribe(listener: (change: StoreChange) => void): void;
}

/** Changes held for the first subscriber, at most. Past it, one `all` stands for them. */
const BACKLOG_LIMIT = 10_000;

export function createChangeHub(): ChangeFeed & { emit(change: StoreChange): void } {
  const listeners: Array<(change: StoreChange) => void> = [];
  let backlog: StoreChange[] | null = [];
  return {
    emit(change) {
      if (backlog) {
        if (backlog.length < BACKLOG_LIMIT) backlog.push(change);
        else backlog = [{ topic: 'all', key: '' }];
        return;
      }
      for (const l of listeners) l(change);
    },
    subscribe(listener) {
      listeners.push(listener);
      const held = backlog;
      backlog = null;
      for (const c of held ?? []) listener(c);
    },
  };
}
