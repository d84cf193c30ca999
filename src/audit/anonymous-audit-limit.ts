import { createRefusalAuditLimit, summaryEvent, type RefusalAuditLimit } from './refusal-audit-limit.js';

// Refusals of requests without a valid token (refusal-audit-limit.ts): per
// network (an IPv4 /24 or IPv6 /48) and minute, the first `perNetwork` are
// recorded one by one, and at most TOTAL_NETWORK_SHARES networks' worth over
// all networks, so that an attacker with many networks (an IPv6 /32 holds
// 65,536 /48s) cannot fill the trail either.

export interface AnonymousAuditLimits {
  /** Records per network per window; 0 records every request. */
  perNetwork: number;
  windowSeconds: number;
}

/** Networks' shares recorded one by one per window over all networks. */
export const TOTAL_NETWORK_SHARES = 10;

export function createAnonymousAuditLimit(limits: AnonymousAuditLimits): RefusalAuditLimit {
  return createRefusalAuditLimit({
    perKey: limits.perNetwork,
    total: limits.perNetwork * TOTAL_NETWORK_SHARES,
    windowSeconds: limits.windowSeconds,
    overflowKey: 'other networks',
    summary: (network, w, from, to) => ({
      vault: null,
      secret: null,
      principal: null,
      event: summaryEvent(
        'AnonymousRequestsNotRecorded',
        `${w.suppressed} refused requests without a valid token from ${network} between ${from} and ${to} were not recorded one by one (at most ${limits.perNetwork} per network, and ${limits.perNetwork * TOTAL_NETWORK_SHARES} in all, every ${limits.windowSeconds} s are).`,
        w,
        `${network}@${from}`,
        network,
      ),
    }),
  });
}

export type AnonymousAuditLimit = RefusalAuditLimit;
