import type { FailureCount, SignInFailureStore } from '../storage/sign-in-failure-types.js';

// Smart lockout's familiar locations, as Entra ID keeps them: wrong passwords
// from where a user has signed in before are counted apart from those sent
// from anywhere else, so that guessers elsewhere who lock the user's name do
// not lock the user out where they work. A location is a network (an IPv4
// /24, an IPv6 /48: sign-in-lockout's networkKey) where the name signed in
// with its right password within the last 30 days; a name keeps its ten most
// recent.
//
// A name's networks are one row of the lockout's own table
// (SignInFailureStore, shared by a cluster's servers and swept with the
// counts), under `familiar:` and the name: `recent` holds each network with
// the time of its last sign-in there, newest first, and `firstAt` the newest
// of those times; count and lock stay 0. Only a right password makes a
// network familiar, so a guesser can neither add one nor refresh one. A new
// password, or the user's deletion, forgets them: whoever signed in with the
// old password keeps no familiar network, and a new user given the name
// inherits none.

/** How long a network stays familiar after the name's last sign-in from it. */
export const FAMILIAR_SECONDS = 30 * 24 * 3600;
/** The networks a name keeps (its most recent). */
export const FAMILIAR_LIMIT = 10;
/** A sign-in from a familiar network writes its time again only once this much older (one write a day, not one per sign-in). */
const REFRESH_SECONDS = 24 * 3600;
const PREFIX = 'familiar:';

export interface FamiliarLocations {
  isFamiliar(name: string, network: string): Promise<boolean>;
  /** The name signed in with its right password from the network. */
  remember(name: string, network: string): Promise<void>;
  /** Forgets every network of the name (its password changed, or it was deleted). */
  forget(name: string): Promise<void>;
  /** Drops the names whose last sign-in is older than FAMILIAR_SECONDS (the periodic sweep); returns how many. */
  forgetOld(): Promise<number>;
}

interface Visit {
  network: string;
  at: number;
}

// A network key holds no '@' or ',' (an address and a prefix length), so "network@time" entries split cleanly.
const toVisits = (row: FailureCount | null): Visit[] =>
  (row?.recent ?? []).map((entry) => {
    const at = entry.lastIndexOf('@');
    return { network: entry.slice(0, at), at: Number(entry.slice(at + 1)) };
  });

export function createFamiliarLocations(store: SignInFailureStore, now = () => Math.floor(Date.now() / 1000)): FamiliarLocations {
  const key = (name: string) => PREFIX + name.trim().toLowerCase();
  const lastVisit = async (name: string, network: string, t: number) =>
    toVisits(await store.get(key(name))).find((v) => v.network === network && t - v.at < FAMILIAR_SECONDS) ?? null;
  return {
    isFamiliar: async (name, network) => (await lastVisit(name, network, now())) !== null,
    async remember(name, network) {
      const t = now();
      const last = await lastVisit(name, network, t);
      if (last !== null && t - last.at < REFRESH_SECONDS) return;
      await store.change(key(name), (stored) => {
        const others = toVisits(stored).filter((v) => v.network !== network && t - v.at < FAMILIAR_SECONDS);
        const visits = [{ network, at: t }, ...others].slice(0, FAMILIAR_LIMIT);
        return { count: 0, firstAt: t, lockedUntil: 0, locks: 0, recent: visits.map((v) => `${v.network}@${v.at}`) };
      });
    },
    forget: (name) => store.delete(key(name)),
    forgetOld: () => {
      const t = now();
      return store.deleteEnded(PREFIX, t, t - FAMILIAR_SECONDS);
    },
  };
}
