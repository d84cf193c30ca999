import type { SignInFailureStore } from '../storage/sign-in-failure-types.js';

// Smart lockout's familiar locations, as Entra ID keeps them: wrong passwords
// from where a user has signed in before are counted apart from those sent
// from anywhere else, so that guessers elsewhere who lock the user's name do
// not lock the user out where they work. A location is a network (an IPv4
// /24, an IPv6 /48: sign-in-lockout's networkKey) where the name signed in with its right
// password within the last 30 days.
//
// Each is kept as a row of the lockout's own table (SignInFailureStore,
// shared by a cluster's servers and swept with the counts), keyed by name and
// network, whose `firstAt` is the latest sign-in there; its count and lock
// stay 0. Only a right password makes a location familiar, so a guesser can
// neither add one nor refresh one. The rows outlive a deleted user until the
// sweep: a new user given the same name inherits which count its networks'
// wrong passwords go to, and nothing else.

/** How long a network stays familiar after the name's last sign-in from it. */
export const FAMILIAR_SECONDS = 30 * 24 * 3600;
/** A sign-in from a familiar network writes its time again only once this much older (one write a day, not one per sign-in). */
const REFRESH_SECONDS = 24 * 3600;
const PREFIX = 'familiar:';

export interface FamiliarLocations {
  isFamiliar(name: string, network: string): Promise<boolean>;
  /** The name signed in with its right password from the network. */
  remember(name: string, network: string): Promise<void>;
  /** Drops the networks whose last sign-in is older than FAMILIAR_SECONDS (the periodic sweep); returns how many. */
  forgetOld(): Promise<number>;
}

export function createFamiliarLocations(store: SignInFailureStore, now = () => Math.floor(Date.now() / 1000)): FamiliarLocations {
  // A network key holds no '|', so the last '|' parts them whatever the name holds: no two pairs share a key.
  const key = (name: string, network: string) => `${PREFIX}${name.trim().toLowerCase()}|${network}`;
  const lastSignIn = async (name: string, network: string) => (await store.get(key(name, network)))?.firstAt ?? null;
  return {
    async isFamiliar(name, network) {
      const last = await lastSignIn(name, network);
      return last !== null && now() - last < FAMILIAR_SECONDS;
    },
    async remember(name, network) {
      const t = now();
      await store.change(key(name, network), (stored) => (stored !== null && t - stored.firstAt < REFRESH_SECONDS ? stored : { count: 0, firstAt: t, lockedUntil: 0, recent: [] }));
    },
    forgetOld: () => {
      const t = now();
      return store.deleteEnded(PREFIX, t, t - FAMILIAR_SECONDS);
    },
  };
}
