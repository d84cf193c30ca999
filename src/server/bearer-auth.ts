import type { Caller } from '../identity/identity-types.js';
import { TokenVerifyError, type TokenService } from '../identity/token-service.js';
import { errors } from './errors.js';
import type { Urls } from './urls.js';

// Bearer authentication for the two planes. Both verify the same way; they
// differ in accepted audiences and in how Azure words the 401.

function bearerOf(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

export function createBearerAuth(deps: { tokens: TokenService; urls: Urls; tenantId: string }) {
  const { tokens, urls, tenantId } = deps;
  const challenge = `Bearer authorization="${urls.tenantAuthority(tenantId)}", resource="${urls.vaultResource}"`;
  const expectedIssuer = urls.issuer(tenantId);

  const dataPlaneMessage: Record<TokenVerifyError['reason'], string> = {
    malformed: 'AKV10000: Request is missing a Bearer or PoP token.',
    signature: 'AKV10031: Token signature is invalid.',
    expired: 'AKV10004: Token is expired.',
    'not-yet-valid': 'AKV10005: Token is not yet valid.',
    audience: `AKV10022: Invalid audience. Expected ${urls.vaultResource}.`,
    issuer: `AKV10032: Invalid issuer. Expected one of ${expectedIssuer}.`,
    // Not a Key Vault message: Azure's tokens outlive their principal (README, Differences from Azure).
    revoked: 'The token was issued to a principal that is no longer in the directory.',
  };

  return {
    challenge,
    /** Key Vault data plane: 401 carries the challenge the SDKs follow. */
    async dataPlane(authorization: string | undefined): Promise<Caller> {
      const token = bearerOf(authorization);
      if (!token) throw errors.unauthorized(dataPlaneMessage.malformed, challenge);
      try {
        return await tokens.verify(token, urls.vaultAudiences);
      } catch (err) {
        if (!(err instanceof TokenVerifyError)) throw err;
        // Key Vault names the audience a token was issued for (ours signed it, so it is not the caller's free text).
        const message = err.reason === 'audience' && err.found !== undefined ? `AKV10022: Invalid audience. Expected ${urls.vaultResource}, found: ${err.found}.` : dataPlaneMessage[err.reason];
        throw errors.unauthorized(message, challenge);
      }
    },
    /** Management plane (ARM). */
    async management(authorization: string | undefined): Promise<Caller> {
      const token = bearerOf(authorization);
      if (!token) throw errors.authorizationHeaderMissing(urls.tenantAuthority(tenantId));
      try {
        return await tokens.verify(token, urls.managementAudiences);
      } catch (err) {
        if (!(err instanceof TokenVerifyError)) throw err;
        const [code, message] = {
          malformed: ['InvalidAuthenticationToken', 'The access token is invalid.'],
          signature: ['InvalidAuthenticationToken', 'The access token is invalid.'],
          expired: ['ExpiredAuthenticationToken', 'The access token has expired.'],
          'not-yet-valid': ['InvalidAuthenticationToken', 'The access token is not yet valid.'],
          audience: ['InvalidAuthenticationTokenAudience', `The access token has been obtained for wrong audience or resource. It should exactly match with one of the allowed audiences '${urls.managementAudiences.join("','")}'.`],
          revoked: ['InvalidAuthenticationToken', 'The access token is invalid: the principal it was issued to is no longer in the directory.'],
          issuer: ['InvalidAuthenticationTokenTenant', `The access token is from the wrong issuer. It must match the tenant '${expectedIssuer}' associated with this subscription.`],
        }[err.reason] as [string, string];
        throw errors.invalidManagementToken(code, message, urls.tenantAuthority(tenantId));
      }
    },
  };
}

export type BearerAuth = ReturnType<typeof createBearerAuth>;
