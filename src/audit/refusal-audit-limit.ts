import type { AuditEntry, AuditEvent } from './audit-types.js';

// Some refusals cost the sender nothing and say nothing new after the first
// few: requests without a valid token, and requests refused as throttled.
// Each used to become a durable audit record, so a flood filled the trail
// (and its fsyncs) as fast as the server could answer. Per key (a network,
// or a caller at a vault) and window, the first `perKey` are recorded one by
// one; past that, or past `total` over all keys in the window, they are only
// counted, and one summary record per key says how many were left out, from
// when to when. The refusals themselves are answered as always.

export interface RefusalWindow {
  start: number;
  recorded: number;
  suppressed: number;
  lastStatus: number;
  lastAt: number;
  /** The last left-out refusal's caller and address (null for anonymous refusals). */
  lastCaller: AuditEvent['identity']['claim'] | null;
  lastAddress: string;
}

export interface RefusalAuditLimitOptions {
  /** Refusals recorded one by one per key per window; 0 records every one. */
  perKey: number;
  /** Refusals recorded one by one per window over all keys. */
  total: number;
  windowSeconds: number;
  /** The key that new keys share once MAX_KEYS are tracked. */
  overflowKey: string;
  /** The record of a window's left-out refusals (`from` and `to` as ISO times). */
  summary(key: string, w: RefusalWindow, from: string, to: string): AuditEntry;
}

/** Keys tracked at once; past it, new keys share one window (and one summary). */
const MAX_KEYS = 10_000;

export function createRefusalAuditLimit(o: RefusalAuditLimitOptions) {
  const windows = new Map<string, RefusalWindow>();
  // Summaries of windows that ended when their key's next refusal came, until drained.
  let ended: AuditEntry[] = [];
  const windowMs = o.windowSeconds * 1000;
  let totalStart = 0;
  let totalRecorded = 0;

  const summarise = (key: string, w: RefusalWindow) => o.summary(key, w, new Date(w.start).toISOString(), new Date(w.lastAt).toISOString());

  return {
    /** Whether this refusal gets its own record; if not, it is counted for its key's summary. */
    admit(key: string, status: number, now = Date.now(), caller: RefusalWindow['lastCaller'] = null, address = ''): boolean {
      if (o.perKey === 0) return true;
      const k = windows.has(key) || windows.size < MAX_KEYS ? key : o.overflowKey;
      let w = windows.get(k);
      if (w && now - w.start >= windowMs) {
        if (w.suppressed > 0) ended.push(summarise(k, w));
        w = undefined;
      }
      if (!w) windows.set(k, (w = { start: now, recorded: 0, suppressed: 0, lastStatus: status, lastAt: now, lastCaller: caller, lastAddress: address }));
      if (now - totalStart >= windowMs) {
        totalStart = now;
        totalRecorded = 0;
      }
      if (w.recorded < o.perKey && totalRecorded < o.total) {
        w.recorded++;
        totalRecorded++;
        return true;
      }
      w.suppressed++;
      w.lastStatus = status;
      w.lastAt = now;
      w.lastCaller = caller;
      w.lastAddress = address;
      return false;
    },

    /** The summaries of windows that have ended (all of them with `all`), which are then forgotten. */
    drain(all = false, now = Date.now()): AuditEntry[] {
      const out = ended;
      ended = [];
      for (const [key, w] of windows) {
        if (!all && now - w.start < windowMs) continue;
        windows.delete(key);
        if (w.suppressed > 0) out.push(summarise(key, w));
      }
      return out;
    },
  };
}

export type RefusalAuditLimit = ReturnType<typeof createRefusalAuditLimit>;

/** A summary record's event: a failure of `operationName` with no request of its own behind it. */
export function summaryEvent(operationName: string, description: string, w: RefusalWindow, correlationId: string, callerIpAddress: string): AuditEvent {
  return {
    time: new Date().toISOString(),
    resourceId: '/COFFER/AUDIT',
    operationName,
    operationVersion: null,
    category: 'AuditEvent',
    resultType: 'Failure',
    resultSignature: 'Summary',
    resultDescription: description,
    durationMs: 0,
    callerIpAddress,
    correlationId,
    identity: { claim: w.lastCaller ?? { oid: null, upn: null, appid: null } },
    properties: { clientInfo: null, requestUri: '', id: null, httpStatusCode: w.lastStatus, isRbacAuthorized: false, isAccessPolicyMatch: false, appliedAssignmentId: null },
  };
}
