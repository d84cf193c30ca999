import { createHash, randomBytes, randomInt } from 'node:crypto';
import { oauthErrors } from '../server/errors.js';

// The device authorization grant (RFC 8628) as Entra ID runs it: a client
// gets a user code, a person enters it with their credentials at
// /devicelogin, and the client's polling then yields tokens. Pending codes
// live in memory for 15 minutes (a restart cancels sign-ins in progress).

const LIFETIME_SECONDS = 900;
const INTERVAL_SECONDS = 2;
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const MAX_PENDING = 10_000;

interface Pending {
  userCode: string;
  clientId: string;
  scope: string;
  expiresAt: number;
  approvedBy: string | null;
}

const hash = (s: string) => createHash('sha256').update(s).digest('base64url');
const now = () => Math.floor(Date.now() / 1000);

export function createDeviceCodes(verificationUri: string) {
  const byDevice = new Map<string, Pending>();
  const byUser = new Map<string, string>();

  function prune() {
    const t = now();
    for (const [key, p] of byDevice) {
      if (p.expiresAt < t) {
        byDevice.delete(key);
        byUser.delete(p.userCode);
      }
    }
  }

  return {
    start(clientId: string, scope: string) {
      prune();
      if (byDevice.size >= MAX_PENDING) throw oauthErrors.invalidRequest(null, 'Too many sign-ins are in progress; try again later.');
      const deviceCode = randomBytes(32).toString('base64url');
      const userCode = Array.from({ length: 9 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
      byDevice.set(hash(deviceCode), { userCode, clientId, scope, expiresAt: now() + LIFETIME_SECONDS, approvedBy: null });
      byUser.set(userCode, hash(deviceCode));
      return {
        device_code: deviceCode,
        user_code: userCode,
        verification_uri: verificationUri,
        expires_in: LIFETIME_SECONDS,
        interval: INTERVAL_SECONDS,
        message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
      };
    },
    /** Marks a code approved by a user; false if the code is unknown or expired. */
    approve(userCode: string, objectId: string): boolean {
      prune();
      const key = byUser.get(userCode.trim().toUpperCase());
      const pending = key ? byDevice.get(key) : undefined;
      if (!pending) return false;
      pending.approvedBy = objectId;
      return true;
    },
    /** The approved sign-in for a device code, consumed once; throws the pending/expired errors. */
    redeem(deviceCode: string, clientId: string): { objectId: string; scope: string } {
      const key = hash(deviceCode);
      const pending = byDevice.get(key);
      if (!pending || pending.clientId !== clientId) throw oauthErrors.invalidGrant(70019, 'AADSTS70019: Verification code expired.');
      if (pending.expiresAt < now()) {
        byDevice.delete(key);
        throw oauthErrors.expiredToken();
      }
      if (!pending.approvedBy) throw oauthErrors.authorizationPending();
      byDevice.delete(key);
      byUser.delete(pending.userCode);
      return { objectId: pending.approvedBy, scope: pending.scope };
    },
  };
}

export type DeviceCodes = ReturnType<typeof createDeviceCodes>;
