import { randomBytes } from 'node:crypto';

// A refresh token names the sign-in it continues: its user and its family.
// It is stored as a keyed hash (the credential pepper) over the token and
// the client it was issued to, and a redeemed row must carry the user and
// family the token names. So a database writer who moves a row to another
// user, family or client (to be issued that user's tokens with a refresh
// token of their own) finds it refused: a row matching a token that names
// the other user would need a hash only the pepper makes.

const FORMAT = 'rt1';
const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FAMILY_ID = /^[0-9a-f]{32}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export interface RefreshTokenClaims {
  objectId: string;
  familyId: string;
}

/** A new refresh token for the user's sign-in `familyId` (32 hex digits): 256 random bits after what it names. */
export const mintRefreshToken = (claims: RefreshTokenClaims): string => `${FORMAT}.${claims.objectId}.${claims.familyId}.${randomBytes(32).toString('base64url')}`;

/** What a presented token names; null for anything not made by mintRefreshToken (older tokens included). */
export function refreshTokenClaims(token: string): RefreshTokenClaims | null {
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== FORMAT) return null;
  const [, objectId, familyId, secret] = parts as [string, string, string, string];
  return OBJECT_ID.test(objectId) && FAMILY_ID.test(familyId) && SECRET.test(secret) ? { objectId, familyId } : null;
}

/** What is hashed to store or find a token: the client it was issued to, and the token. */
export const refreshTokenHashInput = (clientId: string, token: string): string => `${clientId.toLowerCase()}\u0000${token}`;

/** Whether a stored row is the one the token names. */
export const rowMatches = (row: RefreshTokenClaims, claims: RefreshTokenClaims): boolean =>
  row.objectId.toLowerCase() === claims.objectId.toLowerCase() && row.familyId === claims.familyId;
