// A store whose connection to its database can break and be renewed while
// the server runs (PostgreSQL's server lock: pg-lock-renewal.ts). The server
// watches it: at a break it stops serving from what it holds in memory, and
// with the connection back it checks and reloads that before serving again.

export interface StoreOutageWatcher {
  /** The connection broke: changes may be missed from now on. Called synchronously at the break. */
  interrupted(err: Error): void;
  /** The connection is back: check and reload. Throw ResumeRefused to stop for good; any other error is retried. */
  resume(): Promise<void>;
}

export interface StoreSession {
  watch(watcher: StoreOutageWatcher): void;
  /** Ends the connection as if it broke (the server missed a change it was told of). */
  interrupt(err: Error): void;
}

/** What the server holds no longer matches the database: it must not serve it any more. */
export class ResumeRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResumeRefused';
  }
}
