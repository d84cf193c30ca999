// A vault that answered 429 with Retry-After is not asked again, by any of
// the connector's integrations, until that time has passed: Key Vault
// throttles a caller per vault, and every request made meanwhile counts
// against it again. Without Retry-After, the next refresh asks as usual.

/** The longest wait taken from a Retry-After: a wrong header must not stop the connector for good. */
export const MAX_THROTTLE_WAIT_SECONDS = 600;

/** Retry-After's seconds (delta-seconds, or an HTTP date), at most MAX_THROTTLE_WAIT_SECONDS; undefined when absent or unreadable. */
export function retryAfterSeconds(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  const seconds = /^\d+$/.test(trimmed) ? Number(trimmed) : (Date.parse(trimmed) - now) / 1000;
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return Math.min(Math.ceil(seconds), MAX_THROTTLE_WAIT_SECONDS);
}

export function createVaultThrottle() {
  const until = new Map<string, number>();
  return {
    /** When the vault may be asked again (epoch ms), or undefined when it may be asked now. */
    waitUntil(vault: string, now = Date.now()): number | undefined {
      const at = until.get(vault.toLowerCase());
      if (at === undefined || at <= now) {
        until.delete(vault.toLowerCase());
        return undefined;
      }
      return at;
    },
    /** The vault answered 429 and asked for `seconds` of quiet. */
    throttled(vault: string, seconds: number, now = Date.now()): void {
      until.set(vault.toLowerCase(), now + seconds * 1000);
    },
  };
}
