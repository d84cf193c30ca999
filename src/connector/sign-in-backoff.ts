import { ConnectorError } from './vault-reader.js';

// A database may block an account after a few failed sign-ins (MariaDB's
// max_password_errors, MySQL's FAILED_LOGIN_ATTEMPTS, PAM lockouts). So a
// secret version whose password the database refused is tried again at
// the next refresh, then after 1, 3, 7, ... refreshes (the wait doubles with
// each refusal in a row, to about an hour at most): a wrong version costs a
// few failed sign-ins an hour, not one per refresh. Another version is tried
// at once: storing the right password is the fix, and takes effect at the
// next refresh.

const MAX_WAIT_SECONDS = 3600;
const MAX_DOUBLINGS = 20;
/** Versions whose waits are kept: the latest and the one a connection falls back to, with room to spare. */
const MAX_VERSIONS = 8;

export interface SignInBackoff {
  /** The refusal to report instead of signing in with `version` this refresh, or null: try it. */
  waiting(version: string): ConnectorError | null;
  /** `version` was refused; returns the error to report (saying when it is tried again, if not at the next refresh). */
  refused(version: string, err: ConnectorError): ConnectorError;
  /** A sign-in with `version` worked: its wait ends. */
  succeeded(version: string): void;
}

export function createSignInBackoff(refreshSeconds: number, now: () => number = Date.now): SignInBackoff {
  const maxSkips = Math.max(0, Math.floor(MAX_WAIT_SECONDS / refreshSeconds) - 1);
  // Each version waits on its own: a connection that falls back to the version that last worked
  // (integration-runner.ts) must not reset the wait of the refused newer one, nor the other way round.
  const waits = new Map<string, { failures: number; skipsLeft: number; error: ConnectorError }>();
  return {
    waiting(version) {
      const last = waits.get(version);
      if (!last || last.skipsLeft === 0) return null;
      last.skipsLeft--;
      return last.error;
    },
    refused(version, err) {
      const failures = (waits.get(version)?.failures ?? 0) + 1;
      const skips = Math.min(2 ** Math.min(failures - 1, MAX_DOUBLINGS) - 1, maxSkips);
      // Said once per refusal and kept while waiting, so the status and the log do not change at every refresh.
      const next = new Date(now() + (skips + 1) * refreshSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const error = skips === 0 ? err : new ConnectorError(err.kind, `${err.message} (refused ${failures} times in a row: tried again at about ${next})`, err.passwordRefused);
      waits.delete(version);
      waits.set(version, { failures, skipsLeft: skips, error });
      if (waits.size > MAX_VERSIONS) waits.delete(waits.keys().next().value!);
      return error;
    },
    succeeded(version) {
      waits.delete(version);
    },
  };
}
