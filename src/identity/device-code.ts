import { randomBytes, randomInt } from 'node:crypto';
import { oauthErrors } from '../server/errors.js';
import { StoreConflictError, type SignInCodeStore } from '../storage/store-types.js';
import { networkKey } from './sign-in-lockout.js';

// The device authorization grant (RFC 8628) as Entra ID runs it: a client
// gets a user code, a person enters it with their credentials at
// /devicelogin, and the client's polling then yields tokens. Pending codes
// live in the store for 15 minutes (store.signInCodes), so any server of a
// database can continue a sign-in another started, and a restart cancels
// none; only the device code's hash is stored.

const LIFETIME_SECONDS = 900;
const INTERVAL_SECONDS = 2;
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const MAX_PENDING = 10_000;
/** Pending sign-ins one source (an IP address) may hold: starting one needs no credentials, so no source may take them all. */
export const MAX_PENDING_PER_SOURCE = 20;
/** And one network (an IPv4 /24, an IPv6 /48): filling every slot takes 50 networks, not 500 /64s of one /48. */
export const MAX_PENDING_PER_NETWORK = 200;
/** New codes drawn when a user code is taken (1 in 20^9 per pending sign-in): more never happens by chance. */
const ATTEMPTS = 3;

/** `hash`: how a device code is stored (CredentialHasher.tokenHash, keyed). */
export function createDeviceCodes(store: SignInCodeStore, verificationUri: string, hash: (deviceCode: string) => string, now = () => Math.floor(Date.now() / 1000)) {
  const limits = { total: MAX_PENDING, perSource: MAX_PENDING_PER_SOURCE, perNetwork: MAX_PENDING_PER_NETWORK };
  return {
    async start(clientId: string, scope: string, source: string) {
      for (let attempt = 1; ; attempt++) {
        const deviceCode = randomBytes(32).toString('base64url');
        const userCode = Array.from({ length: 9 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
        const t = now();
        const row = { deviceCodeHash: hash(deviceCode), userCode, clientId, scope, source, network: networkKey(source), expiresAt: t + LIFETIME_SECONDS, approvedBy: null };
        let stored: boolean;
        try {
          stored = await store.startDevice(row, limits, t);
        } catch (err) {
          if (err instanceof StoreConflictError && attempt < ATTEMPTS) continue;
          throw err;
        }
        if (!stored) throw oauthErrors.invalidRequest(null, 'Too many sign-ins are in progress; try again later.');
        return {
          device_code: deviceCode,
          user_code: userCode,
          verification_uri: verificationUri,
          expires_in: LIFETIME_SECONDS,
          interval: INTERVAL_SECONDS,
          message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
        };
      }
    },
    /** Marks a code approved by a user; false if the code is unknown or expired. */
    approve(userCode: string, objectId: string): Promise<boolean> {
      return store.approveDevice(userCode.trim(), objectId, now());
    },
    /** The approved sign-in for a device code, consumed once; throws the pending/expired errors. */
    async redeem(deviceCode: string, clientId: string): Promise<{ objectId: string; scope: string }> {
      const key = hash(deviceCode);
      const t = now();
      // Taken (in one statement) only once it has ended, approved or expired.
      const ended = await store.takeDevice(key, clientId, t);
      if (ended) {
        if (ended.expiresAt < t || !ended.approvedBy) throw oauthErrors.expiredToken();
        return { objectId: ended.approvedBy, scope: ended.scope };
      }
      // Still pending, or unknown to this client (never started, already redeemed, another client's): Entra ID's
      // answer to a device_code it does not hold for the client (an expired one is expired_token, above).
      if (!(await store.getDevice(key, clientId))) throw oauthErrors.invalidGrant(7000014, "AADSTS7000014: The provided value for the input parameter 'device_code' is not valid.");
      throw oauthErrors.authorizationPending();
    },
  };
}

export type DeviceCodes = ReturnType<typeof createDeviceCodes>;
