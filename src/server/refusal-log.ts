// The warnings for connections refused over a limit (connection-limits.ts),
// at most one line per address per minute: a client retrying in a loop would
// otherwise write a line per attempt. The first refusal from an address is
// logged at once; the ones after it in the same minute are counted, and the
// count is logged when the minute is over. A line names the address and the
// limit only, never anything the client sent (nothing was read).

export interface WarnLog {
  warn(obj: object, msg: string): void;
}

export interface RefusalLog {
  refused(address: string, limit: string): void;
  stop(): void;
}

/** Addresses followed at once; refusals from others past it are counted in one line a minute without an address. */
const MAX_ADDRESSES = 1000;

interface Followed {
  limit: string;
  /** Refused since this address's last line. */
  unlogged: number;
  /** Whether a line was written for it in the current minute. */
  loggedThisWindow: boolean;
}

export function createRefusalLog(log: WarnLog, windowMs = 60_000): RefusalLog {
  const followed = new Map<string, Followed>();
  let unfollowed = 0;

  // Each minute: an address refused again since its line gets a line with the count (and is followed one more
  // minute); one quiet for a whole minute is forgotten, so the map holds only addresses refused lately.
  const timer = setInterval(() => {
    for (const [address, f] of followed) {
      if (f.unlogged > 0) {
        log.warn({ address, limit: f.limit, refused: f.unlogged }, 'refused connections over a connection limit in the last minute');
        f.unlogged = 0;
        f.loggedThisWindow = true;
      } else if (f.loggedThisWindow) f.loggedThisWindow = false;
      else followed.delete(address);
    }
    if (unfollowed > 0) log.warn({ refused: unfollowed }, 'refused connections over a connection limit in the last minute from addresses not logged one by one');
    unfollowed = 0;
  }, windowMs);
  timer.unref();

  return {
    refused(address, limit) {
      const f = followed.get(address);
      if (f === undefined) {
        if (followed.size >= MAX_ADDRESSES) {
          unfollowed++;
          return;
        }
        followed.set(address, { limit, unlogged: 0, loggedThisWindow: true });
        log.warn({ address, limit }, 'refused a connection over a connection limit');
      } else if (!f.loggedThisWindow) {
        // Its previous minute ended with nothing left to count (unlogged is 0 here).
        f.limit = limit;
        f.loggedThisWindow = true;
        log.warn({ address, limit }, 'refused a connection over a connection limit');
      } else {
        f.limit = limit;
        f.unlogged++;
      }
    },
    stop() {
      clearInterval(timer);
    },
  };
}
