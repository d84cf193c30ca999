import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { oauthErrors } from '../server/errors.js';
import { StoreConflictError, type PrincipalRow, type SignInCodeStore } from '../storage/store-types.js';
import { networkKey } from './sign-in-lockout.js';

// The device authorization grant (RFC 8628) as Entra ID runs it: a client
// gets a user code, a person enters it with their credentials at
// /devicelogin, and the client's polling then yields tokens. Pending codes
// live in the store for 15 minutes (store.signInCodes), so any server of a
// database can continue a sign-in another started, and a restart cancels
// none; only the device code's hash is stored.
//
// The device code names its user code, and an approval is stored with a
// keyed MAC over the user code and the approving user: a database writer
// who marks their own sign-in approved by someone else (or moves another
// sign-in's approval to theirs) gets nothing from polling.
//
// /devicelogin approves in two steps: the person signs in with the code, is
// shown which application started that sign-in, and only then confirms. The
// confirmation form carries a keyed MAC over the user code, the application
// and the user (`confirmation`), so the second step needs no password and
// approves only the sign-in the person was shown.

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

const FORMAT = 'dc1';
const canonical = (userCode: string) => userCode.trim().toUpperCase();

/** Who approved a sign-in: the user, and their password generation then (PrincipalRow.passwordGeneration). */
interface Signer {
  objectId: string;
  generation: number;
}

/** The user code a device code names (null: not one of ours). */
function namedUserCode(deviceCode: string): string | null {
  const parts = deviceCode.split('.');
  return parts.length === 3 && parts[0] === FORMAT && /^[A-Z]{9}$/.test(parts[1]!) ? parts[1]! : null;
}

/**
 * `hash`: how a device code is stored (CredentialHasher.tokenHash, keyed);
 * `approval`: the keyed MAC stored with an approval (same, over the user
 * code and the approving user's object id); `confirmation`: the keyed MAC
 * of /devicelogin's confirmation step (over the user code, the client id
 * and the user's object id).
 */
export function createDeviceCodes(
  store: SignInCodeStore,
  verificationUri: string,
  keyed: {
    hash: (deviceCode: string) => string;
    approval: (userCode: string, objectId: string) => string;
    confirmation: (userCode: string, clientId: string, objectId: string) => string;
  },
  now = () => Math.floor(Date.now() / 1000),
) {
  const { hash } = keyed;
  // An approval and a confirmation name the user and the password generation they signed in with (a password
  // reset before the redemption ends the sign-in), under a MAC for the user code.
  const approvalOf = (userCode: string, { objectId, generation }: Signer) => `${objectId}.${generation}.${keyed.approval(canonical(userCode), `${objectId}.${generation}`)}`;
  const confirmationOf = (userCode: string, clientId: string, { objectId, generation }: Signer) =>
    `${objectId}.${generation}.${keyed.confirmation(canonical(userCode), clientId, `${objectId}.${generation}`)}`;
  /** The signer that `given` (an approval or a confirmation) names, if it carries `made`'s MAC for them. */
  const signerIn = (given: string, made: (s: Signer) => string): Signer | null => {
    const [objectId, generation] = given.split('.');
    if (objectId === undefined || generation === undefined || !/^\d{1,9}$/.test(generation)) return null;
    const signer = { objectId, generation: Number(generation) };
    const expected = Buffer.from(made(signer));
    const stored = Buffer.from(given);
    return expected.length === stored.length && timingSafeEqual(expected, stored) ? signer : null;
  };
  const limits = { total: MAX_PENDING, perSource: MAX_PENDING_PER_SOURCE, perNetwork: MAX_PENDING_PER_NETWORK };
  return {
    async start(clientId: string, scope: string, source: string) {
      for (let attempt = 1; ; attempt++) {
        const userCode = Array.from({ length: 9 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
        const deviceCode = `${FORMAT}.${userCode}.${randomBytes(32).toString('base64url')}`;
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
    /** Marks a code approved by a user (signed in with their password's `generation`); false if the code is unknown or expired. */
    approve(userCode: string, objectId: string, generation: number): Promise<boolean> {
      return store.approveDevice(userCode.trim(), approvalOf(userCode, { objectId, generation }), now());
    },
    /** The client that started the pending sign-in with this user code; null if none is pending (unknown, expired or approved). */
    pending(userCode: string): Promise<{ clientId: string } | null> {
      return store.pendingDevice(userCode.trim(), now());
    },
    /** What /devicelogin's confirmation form carries once the user signed in with the code a client started. */
    confirmation: (userCode: string, clientId: string, user: Pick<PrincipalRow, 'objectId' | 'passwordGeneration'>) =>
      confirmationOf(userCode, clientId, { objectId: user.objectId, generation: user.passwordGeneration ?? 0 }),
    /**
     * Approves the pending sign-in the confirmation was made for: still pending, still the same client's, by
     * the user it names. Null (nothing approved) otherwise.
     */
    async approveConfirmed(userCode: string, confirmation: string): Promise<{ objectId: string; clientId: string } | null> {
      const pending = await store.pendingDevice(userCode.trim(), now());
      if (!pending) return null;
      const signer = signerIn(confirmation, (s) => confirmationOf(userCode, pending.clientId, s));
      if (!signer) return null;
      return (await store.approveDevice(userCode.trim(), approvalOf(userCode, signer), now())) ? { objectId: signer.objectId, clientId: pending.clientId } : null;
    },
    /** The approved sign-in for a device code, consumed once; throws the pending/expired errors. */
    async redeem(deviceCode: string, clientId: string): Promise<{ objectId: string; scope: string; passwordGeneration: number }> {
      const key = hash(deviceCode);
      const t = now();
      // Taken (in one statement) only once it has ended, approved or expired.
      const named = namedUserCode(deviceCode);
      const ended = named === null ? null : await store.takeDevice(key, clientId, t);
      if (ended) {
        if (ended.expiresAt < t || !ended.approvedBy) throw oauthErrors.expiredToken();
        // A row that is not the one the code names, or an approval without its MAC, was written into the database.
        const signer = canonical(ended.userCode) === named ? signerIn(ended.approvedBy, (s) => approvalOf(named!, s)) : null;
        if (signer === null) throw oauthErrors.invalidGrant(7000014, "AADSTS7000014: The provided value for the input parameter 'device_code' is not valid.");
        return { objectId: signer.objectId, scope: ended.scope, passwordGeneration: signer.generation };
      }
      // Still pending, or unknown to this client (never started, already redeemed, another client's): Entra ID's
      // answer to a device_code it does not hold for the client (an expired one is expired_token, above).
      if (!(await store.getDevice(key, clientId))) throw oauthErrors.invalidGrant(7000014, "AADSTS7000014: The provided value for the input parameter 'device_code' is not valid.");
      throw oauthErrors.authorizationPending();
    },
  };
}

export type DeviceCodes = ReturnType<typeof createDeviceCodes>;
