// Password sign-ins waiting for their turn (one at a time per address, then a
// password hash slot: password-hash.ts) each hold their request and its body
// meanwhile. Without a bound, a flood of sign-ins from many addresses, each
// sending too few to be locked out, queues without end until the heap is
// exhausted. Past these bounds a sign-in is refused at once ("try again
// later"), before any lookup or count: the whole backlog, and one network's
// share of it, so that one network cannot take every place.

/** Sign-ins waiting or running at once: at 2 hashes at a time (about 50–100 ms each), some seconds of work. */
export const MAX_PENDING_SIGN_INS = 128;
/** One network's share (an IPv4 /24, an IPv6 /64: sign-in-lockout.ts's networkKey). */
export const MAX_PENDING_SIGN_INS_PER_NETWORK = 16;

export interface SignInBacklog {
  /** Takes a place for a sign-in from `network`; false (nothing taken) when the backlog or its share is full. */
  enter(network: string): boolean;
  leave(network: string): void;
  readonly size: number;
}

export function createSignInBacklog(max = MAX_PENDING_SIGN_INS, perNetwork = MAX_PENDING_SIGN_INS_PER_NETWORK): SignInBacklog {
  const byNetwork = new Map<string, number>();
  let size = 0;
  return {
    enter(network) {
      const mine = byNetwork.get(network) ?? 0;
      if (size >= max || mine >= perNetwork) return false;
      byNetwork.set(network, mine + 1);
      size++;
      return true;
    },
    leave(network) {
      const mine = byNetwork.get(network) ?? 0;
      if (mine <= 1) byNetwork.delete(network);
      else byNetwork.set(network, mine - 1);
      size--;
    },
    get size() {
      return size;
    },
  };
}
