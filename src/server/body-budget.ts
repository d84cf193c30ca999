import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { errors } from './errors.js';

// A request body is held whole in memory until its route has answered:
// fastify collects it into one Buffer, and parsing copies it again (a
// restore's 32 MiB of JSON become strings of the same size on the heap).
// Each route's limit bounds one body, not many at once: sixteen concurrent
// 32 MiB restores, or thousands of uploads that trickle in, would exhaust the
// heap and end the process. So every body's bytes are counted, as they
// arrive, against one budget for the whole server and given back when its
// response is done; a body that would go past it is refused with 429 and a
// Retry-After before more of it is read (the SDKs retry those). A body that
// stops arriving is refused with 408 after `idleMs`, so that a client cannot
// hold its share (and a connection) for the whole request timeout.

export interface BodyLimits {
  /** Bytes of request bodies held at once, over all requests. */
  budgetBytes: number;
  /** How long a body may pause between two chunks. */
  idleMs: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { budgetBytes: 48 * 1024 * 1024, idleMs: 30_000 };

export interface BodyBudget {
  /** Takes `bytes` if they fit. */
  take(bytes: number): boolean;
  give(bytes: number): void;
  held(): number;
}

export function createBodyBudget(limitBytes: number): BodyBudget {
  let held = 0;
  return {
    take(bytes) {
      if (held + bytes > limitBytes) return false;
      held += bytes;
      return true;
    },
    give(bytes) {
      held = Math.max(0, held - bytes);
    },
    held: () => held,
  };
}

/** Passes a body through, taking its bytes from `budget`; `settled` gives them back (once). */
class MeteredBody extends Transform {
  private taken = 0;
  private timer: NodeJS.Timeout | null = null;
  private returned = false;

  constructor(
    private readonly budget: BodyBudget,
    private readonly idleMs: number,
  ) {
    super();
    this.arm();
  }

  private arm() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.destroy(errors.bodyNotReceived()), this.idleMs);
    this.timer.unref();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    if (!this.budget.take(chunk.length)) return done(errors.bodyBudgetExhausted());
    this.taken += chunk.length;
    this.arm();
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

  /** The body's bytes go back to the budget: its response is done (or its connection gone). */
  settled() {
    if (this.returned) return;
    this.returned = true;
    this.disarm();
    this.budget.give(this.taken);
  }
}

/** Meters every request body (installed once, before any route). */
export function installBodyBudget(app: FastifyInstance, limits: BodyLimits = DEFAULT_BODY_LIMITS): BodyBudget {
  const budget = createBodyBudget(limits.budgetBytes);
  // Callback style: no promise per request, most of which (GETs) have no body.
  app.addHook('preParsing', (req, reply, payload, done) => {
    // A request without a body (no length, or 0, and not chunked) has nothing to meter or wait for.
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return done(null, payload);
    const metered = new MeteredBody(budget, limits.idleMs);
    // Fastify listens for errors only while it reads the body; one raised after (the idle timer) must not go unheard.
    metered.on('error', () => {});
    reply.raw.once('close', () => metered.settled());
    payload.once('error', (err) => metered.destroy(err));
    done(null, payload.pipe(metered));
  });
  return budget;
}
