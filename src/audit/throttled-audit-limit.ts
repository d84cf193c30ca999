import { createRefusalAuditLimit, summaryEvent, type RefusalAuditLimit } from './refusal-audit-limit.js';

// Requests refused as throttled (429) by a signed-in caller (refusal-audit-
// limit.ts): a caller past its allowance can send as many more as the server
// answers, each of which was a durable record. Per caller and vault (the
// allowance's own key) and minute, the first `perCaller` are recorded one by
// one, and at most TOTAL_CALLER_SHARES callers' worth in all; the rest are
// counted into one summary per caller and vault.

export interface ThrottledAuditLimits {
  /** Records per caller and vault per window; 0 records every refusal. */
  perCaller: number;
  windowSeconds: number;
}

/** Callers' shares recorded one by one per window over all callers. */
export const TOTAL_CALLER_SHARES = 10;

const OVERFLOW = '|other callers';

/** The key of a caller's throttled refusals at a vault (or outside any vault: null). */
export const throttledKey = (vault: string | null, tenantId: string, objectId: string) => `${vault ?? ''}|${tenantId}/${objectId}`;

export function createThrottledAuditLimit(limits: ThrottledAuditLimits): RefusalAuditLimit {
  return createRefusalAuditLimit({
    perKey: limits.perCaller,
    total: limits.perCaller * TOTAL_CALLER_SHARES,
    windowSeconds: limits.windowSeconds,
    overflowKey: OVERFLOW,
    summary: (key, w, from, to) => {
      const [vault, caller] = key.split('|') as [string, string];
      // The callers past MAX_KEYS share one window: no one of them is its caller.
      const overflow = key === OVERFLOW;
      const seen = overflow ? { ...w, lastCaller: null } : w;
      const who = overflow ? caller : (w.lastCaller?.upn ?? w.lastCaller?.appid ?? caller);
      const where = vault ? `at vault ${vault}` : 'outside any vault';
      return {
        vault: vault || null,
        secret: null,
        principal: seen.lastCaller?.oid ?? null,
        event: summaryEvent(
          'ThrottledRequestsNotRecorded',
          `${w.suppressed} requests of ${who} ${where} refused as throttled between ${from} and ${to} were not recorded one by one (at most ${limits.perCaller} per caller and vault, and ${limits.perCaller * TOTAL_CALLER_SHARES} in all, every ${limits.windowSeconds} s are).`,
          seen,
          `${key}@${from}`,
          w.lastAddress,
        ),
      };
    },
  });
}
