import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sourceKey } from '../identity/sign-in-lockout.js';
import { errors } from './errors.js';

// A request body is held whole in memory until its route has answered:
// fastify collects it into one Buffer, and parsing copies it again (a
// restore's 32 MiB of JSON become strings of the same size on the heap).
// Each route's limit bounds one body, not many at once: sixteen concurrent
// 32 MiB restores, or thousands of uploads that trickle in, would exhaust the
// heap and end the process. So every body's bytes are counted, as they
// arrive, against one budget for the whole server and given back when its
// response is done; a body that would go past it is refused with 429 and a
// Retry-After before more of it is read (the SDKs retry those). Requests
// without a verified token hold at most a quarter of it. No one caller may
// hold more than its share (CALLER_SHARE, ADDRESS_SHARE): the budget is taken
// before a route authorizes, so without shares a principal with no rights at
// all, or one client address, could hold the budget (or the anonymous
// quarter) with a few dozen bodies sent just fast enough, and every other
// caller would get 429 for as long as they last. A body that stops
// arriving (for `idleMs`), or from its tenth second on falls behind 8 KiB a
// second, is refused with 408, so that a client cannot hold its share (and a
// connection) for the whole request timeout with a byte now and then.

export interface BodyLimits {
  /** Bytes of request bodies held at once, over all requests. */
  budgetBytes: number;
  /** How long a body may pause between two chunks. */
  idleMs: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { budgetBytes: 48 * 1024 * 1024, idleMs: 30_000 };

/**
 * Requests that carry no verified token (the sign-in service's forms, or
 * anything sent to a route that needs none) hold at most this share of the
 * budget: trickling bodies to them cannot lock signed-in callers out.
 */
export const ANONYMOUS_SHARE = 1 / 4;
/**
 * One signed-in principal (tenant and object id) holds at most this share of
 * the budget, over all its requests: 12 MiB of the default 48, some fifty
 * bodies of the usual 256 KiB limit at once, so no principal is held back in
 * normal use, and four of them are needed to fill the budget.
 */
export const CALLER_SHARE = 1 / 4;
/**
 * One client address (an IPv6 address by its /64, as the sign-in lockout
 * counts it) holds at most this share of the budget over its requests without
 * a token: a sixteenth of the anonymous quarter (768 KiB of the default 48
 * MiB), hundreds of sign-in forms of a few KiB at once (behind a reverse proxy
 * every client shares one address), while sixteen addresses are needed to
 * fill the quarter.
 */
export const ADDRESS_SHARE = ANONYMOUS_SHARE / 16;
/**
 * From BODY_GRACE_MS on, a body must keep up with MIN_BODY_RATE bytes a
 * second counted from then (so a sender in bursts, or one slow to start,
 * is not cut off), or it is refused with 408: a byte now and then keeps no
 * share of the budget (or a connection) for the whole request timeout.
 */
export const BODY_GRACE_MS = 10_000;
export const MIN_BODY_RATE = 8 * 1024;

export interface BodyBudget {
  /**
   * Takes `bytes` for a body of `caller` (a principal, or an anonymous client's
   * address) that already holds `own` bytes, if they fit: in the budget, in
   * the anonymous quarter if `anonymous`, and in the caller's share. A body
   * may go past the share while it is the only one of its caller's holding
   * any bytes: the share bounds many bodies at once, not one large body that
   * its route allows (a 32 MiB restore, a form on a small budget).
   */
  take(bytes: number, caller: string, anonymous: boolean, own: number): boolean;
  give(bytes: number, caller: string, anonymous: boolean): void;
  held(): number;
  /** Callers holding bytes now (none once every body is answered). */
  callers(): number;
}

export function createBodyBudget(limitBytes: number): BodyBudget {
  const anonymousLimit = Math.floor(limitBytes * ANONYMOUS_SHARE);
  const callerLimit = Math.floor(limitBytes * CALLER_SHARE);
  const addressLimit = Math.floor(limitBytes * ADDRESS_SHARE);
  let held = 0;
  let heldAnonymous = 0;
  // Bytes held by each caller; a caller is deleted when it holds none, so the map is as large as the bodies in flight.
  const byCaller = new Map<string, number>();
  return {
    take(bytes, caller, anonymous, own) {
      if (held + bytes > limitBytes || (anonymous && heldAnonymous + bytes > anonymousLimit)) return false;
      const mine = byCaller.get(caller) ?? 0;
      if (mine + bytes > (anonymous ? addressLimit : callerLimit) && mine !== own) return false;
      held += bytes;
      if (anonymous) heldAnonymous += bytes;
      byCaller.set(caller, mine + bytes);
      return true;
    },
    give(bytes, caller, anonymous) {
      held = Math.max(0, held - bytes);
      if (anonymous) heldAnonymous = Math.max(0, heldAnonymous - bytes);
      const left = (byCaller.get(caller) ?? 0) - bytes;
      if (left > 0) byCaller.set(caller, left);
      else byCaller.delete(caller);
    },
    held: () => held,
    callers: () => byCaller.size,
  };
}

/** Passes a body through, taking its bytes from `budget`; `settled` gives them back (once) and lets the rest go by. */
class MeteredBody extends Transform {
  private taken = 0;
  private readonly startedAt = Date.now();
  private lastChunkAt = this.startedAt;
  private timer: NodeJS.Timeout | null = null;
  private returned = false;

  constructor(
    private readonly source: NodeJS.ReadableStream,
    private readonly budget: BodyBudget,
    private readonly caller: string,
    private readonly anonymous: boolean,
    private readonly idleMs: number,
  ) {
    super();
    this.schedule(Math.min(idleMs, BODY_GRACE_MS));
  }

  private schedule(ms: number) {
    this.timer = setTimeout(() => this.check(), ms);
    this.timer.unref();
  }

  /** Whether the body still comes: not paused past idleMs, and past the grace period keeping up with MIN_BODY_RATE. */
  private check() {
    const now = Date.now();
    const elapsed = now - this.startedAt;
    if (now - this.lastChunkAt >= this.idleMs || (elapsed >= BODY_GRACE_MS && this.taken < (MIN_BODY_RATE * (elapsed - BODY_GRACE_MS)) / 1000)) {
      this.timer = null;
      this.destroy(errors.bodyNotReceived());
      return;
    }
    this.schedule(Math.min(1000, this.idleMs - (now - this.lastChunkAt)));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    // After the answer (a route that did not read its body): dropped, and nothing more is taken.
    if (this.returned) return done();
    if (!this.budget.take(chunk.length, this.caller, this.anonymous, this.taken)) return done(refusedForBudget());
    this.taken += chunk.length;
    this.lastChunkAt = Date.now();
    done(null, chunk);
  }

  override _flush(done: TransformCallback) {
    this.disarm();
    done();
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void) {
    this.disarm();
    done(err);
  }

  private disarm() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * The response is done (or its connection gone): the body's bytes go back
   * to the budget, and what is left of it is read and dropped by Node, so the
   * connection can carry the next request.
   */
  settled() {
    if (this.returned) return;
    this.returned = true;
    this.disarm();
    this.budget.give(this.taken, this.caller, this.anonymous);
    this.source.unpipe(this);
    this.source.resume();
  }
}

/**
 * A body refused as over its route's limit is read and dropped up to this size as declared (not held: only
 * the time to receive it), so that its sender reads the 413. A larger one, or one without a length, has its
 * connection closed after the answer, as fastify does.
 */
export const DRAIN_OVERSIZED_BYTES = 8 * 1024 * 1024;
const drainable = (length: string | undefined) => length !== undefined && /^\d{1,9}$/.test(length) && Number(length) <= DRAIN_OVERSIZED_BYTES;

/** The 429s of bodies refused for the budget (installBodyBudget keeps their connections open). */
const budgetRefusals = new WeakSet<Error>();
function refusedForBudget(): Error {
  const err = errors.bodyBudgetExhausted();
  budgetRefusals.add(err);
  return err;
}

/** Meters every request body (installed once, before any route). */
export function installBodyBudget(app: FastifyInstance, limits: BodyLimits = DEFAULT_BODY_LIMITS): BodyBudget {
  const budget = createBodyBudget(limits.budgetBytes);
  // Callback style: no promise per request, most of which (GETs) have no body.
  app.addHook('preParsing', (req, reply, payload, done) => {
    // Fastify reads no body of a GET or HEAD (Node drops it after the answer); a request without one (no length,
    // or 0, and not chunked) has nothing to meter or wait for.
    const length = req.headers['content-length'];
    if (req.method === 'GET' || req.method === 'HEAD' || (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0'))) {
      return done(null, payload);
    }
    // Every route that needs a token has verified it by now (its onRequest hook): without one, the anonymous share,
    // and the address's. A principal's key holds no ':' or '.', so it never meets an address's.
    const caller = req.caller;
    const key = caller === null ? sourceKey(req.ip ?? '') : `${caller.tenantId}/${caller.objectId}`;
    const metered = new MeteredBody(payload, budget, key, caller === null, limits.idleMs);
    // Fastify listens for errors only while it reads the body; one raised after (the idle timer) must not go unheard.
    metered.on('error', () => {});
    reply.raw.once('close', () => metered.settled());
    payload.once('error', (err) => metered.destroy(err));
    done(null, payload.pipe(metered));
  });
  // fastify closes the connection after any error while it reads a body (the client may send more). A client
  // still sending then meets a closed socket, whose reset can reach it before the 429 does: it sees a
  // connection error, not the answer to retry on. A body refused for the budget is at most its route's limit,
  // so the rest of it is read and dropped (settled) and the connection carries on, as the answer says. So is a
  // body over its route's limit (413) up to DRAIN_OVERSIZED_BYTES as declared: a client that sends a whole
  // body before it reads (fetch does) got a reset instead of the 413 when the machine was busy.
  app.addHook('onError', (req, reply, err, done) => {
    if (budgetRefusals.has(err) || (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && drainable(req.headers['content-length']))) reply.removeHeader('connection');
    done();
  });
  return budget;
}
