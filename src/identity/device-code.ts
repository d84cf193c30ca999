import { createHash, randomBytes, randomInt } from 'node:crypto';
import { oauthErrors } from '../server/errors.js';
import { networkKey } from './sign-in-lockout.js';

// The device authorization grant (RFC 8628) as Entra ID runs it: a client
// gets a user code, a person enters it with their credentials at
// /devicelogin, and the client's polling then yields tokens. Pending codes
// live in memory for 15 minutes (a restart cancels sign-ins in progress).

const LIFETIME_SECONDS = 900;
const INTERVAL_SECONDS = 2;
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const MAX_PENDING = 10_000;
/** Pending sign-ins one source (an IP address) may hold: starting one needs no credentials, so no source may take them all. */
export const MAX_PENDING_PER_SOURCE = 20;
/** And one network (an IPv4 /24, an IPv6 /48): filling every slot takes 50 networks, not 500 /64s of one /48. */
export const MAX_PENDING_PER_NETWORK = 200;

interface Pending {
  userCode: string;
  clientId: string;
  scope: string;
  expiresAt: number;
  approvedBy: string | null;
  source: string;
}

const hash = (s: string) => createHash('sha256').update(s).digest('base64url');

export function createDeviceCodes(verificationUri: string, now = () => Math.floor(Date.now() / 1000)) {
  const byDevice = new Map<string, Pending>();
  const byUser = new Map<string, string>();
  const perSource = new Map<string, number>();
  const perNetwork = new Map<string, number>();

  const count = (m: Map<string, number>, k: string, by: number) => {
    const n = (m.get(k) ?? 0) + by;
    if (n > 0) m.set(k, n);
    else m.delete(k);
  };

  /** Every way out of the maps goes through here, so that they stay in step. */
  function remove(key: string, p: Pending) {
    byDevice.delete(key);
    byUser.delete(p.userCode);
    count(perSource, p.source, -1);
    count(perNetwork, networkKey(p.source), -1);
  }

  function prune() {
    const t = now();
    for (const [key, p] of byDevice) if (p.expiresAt < t) remove(key, p);
  }

  return {
    start(clientId: string, scope: string, source: string) {
      prune();
      const network = networkKey(source);
      if (
        byDevice.size >= MAX_PENDING ||
        (perSource.get(source) ?? 0) >= MAX_PENDING_PER_SOURCE ||
        (perNetwork.get(network) ?? 0) >= MAX_PENDING_PER_NETWORK
      ) {
        throw oauthErrors.invalidRequest(null, 'Too many sign-ins are in progress; try again later.');
      }
      const deviceCode = randomBytes(32).toString('base64url');
      const userCode = Array.from({ length: 9 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
      byDevice.set(hash(deviceCode), { userCode, clientId, scope, expiresAt: now() + LIFETIME_SECONDS, approvedBy: null, source });
      byUser.set(userCode, hash(deviceCode));
      count(perSource, source, 1);
      count(perNetwork, network, 1);
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
        remove(key, pending);
        throw oauthErrors.expiredToken();
      }
      if (!pending.approvedBy) throw oauthErrors.authorizationPending();
      remove(key, pending);
      return { objectId: pending.approvedBy, scope: pending.scope };
    },
    /** Pending sign-ins held (for tests: the maps must not keep what expired). */
    size: () => ({ devices: byDevice.size, userCodes: byUser.size, sources: perSource.size, networks: perNetwork.size }),
  };
}

export type DeviceCodes = ReturnType<typeof createDeviceCodes>;
