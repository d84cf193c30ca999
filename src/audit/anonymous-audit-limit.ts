import type { AuditEntry } from './audit-types.js';

// Requests without a valid token cost nothing to send, and each refused one
// used to become a durable audit record: a flood from one network filled the
// trail (and its fsyncs) without limit. Per network (an IPv4 /24 or IPv6
// /48) and window, the first `perNetwork` such refusals are recorded one by
// one as before; the rest are only counted, and one summary record per
// network says how many were left out, from when to when. The refusals
// themselves are answered as always.

export interface AnonymousAuditLimits {
  /** Records per network per window; 0 records every request. */
  perNetwork: number;
  windowSeconds: number;
}

interface NetworkWindow {
  start: number;
  recorded: number;
  suppressed: number;
  lastStatus: number;
  lastAt: number;
}

/** Networks tracked at once; past it, new networks share one window (and one summary). */
const MAX_NETWORKS = 10_000;
const OVERFLOW = 'other networks';

export function createAnonymousAuditLimit(limits: AnonymousAuditLimits) {
  const windows = new Map<string, NetworkWindow>();
  // Summaries of windows that ended when their network's next request came, until drained.
  let ended: AuditEntry[] = [];
  const windowMs = limits.windowSeconds * 1000;

  function summary(network: string, w: NetworkWindow): AuditEntry {
    const from = new Date(w.start).toISOString();
    const to = new Date(w.lastAt).toISOString();
    return {
      vault: null,
      secret: null,
      principal: null,
      event: {
        time: new Date().toISOString(),
        resourceId: '/COFFER/AUDIT',
        operationName: 'AnonymousRequestsNotRecorded',
        operationVersion: null,
        category: 'AuditEvent',
        resultType: 'Failure',
        resultSignature: 'Summary',
        resultDescription: `${w.suppressed} refused requests without a valid token from ${network} between ${from} and ${to} were not recorded one by one (at most ${limits.perNetwork} per network every ${limits.windowSeconds} s are).`,
        durationMs: 0,
        callerIpAddress: network,
        correlationId: `${network}@${from}`,
        identity: { claim: { oid: null, upn: null, appid: null } },
        properties: { clientInfo: null, requestUri: '', id: null, httpStatusCode: w.lastStatus, isRbacAuthorized: false, isAccessPolicyMatch: false, appliedAssignmentId: null },
      },
    };
  }

  return {
    /** Whether this anonymous refusal gets its own record; if not, it is counted for the network's summary. */
    admit(network: string, status: number, now = Date.now()): boolean {
      if (limits.perNetwork === 0) return true;
      const key = windows.has(network) || windows.size < MAX_NETWORKS ? network : OVERFLOW;
      let w = windows.get(key);
      if (w && now - w.start >= windowMs) {
        if (w.suppressed > 0) ended.push(summary(key, w));
        w = undefined;
      }
      if (!w) windows.set(key, (w = { start: now, recorded: 0, suppressed: 0, lastStatus: status, lastAt: now }));
      if (w.recorded < limits.perNetwork) {
        w.recorded++;
        return true;
      }
      w.suppressed++;
      w.lastStatus = status;
      w.lastAt = now;
      return false;
    },

    /** The summaries of windows that have ended (all of them with `all`), which are then forgotten. */
    drain(all = false, now = Date.now()): AuditEntry[] {
      const out = ended;
      ended = [];
      for (const [network, w] of windows) {
        if (!all && now - w.start < windowMs) continue;
        windows.delete(network);
        if (w.suppressed > 0) out.push(summary(network, w));
      }
      return out;
    },
  };
}

export type AnonymousAuditLimit = ReturnType<typeof createAnonymousAuditLimit>;
