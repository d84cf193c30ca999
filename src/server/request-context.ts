import type { Caller } from '../identity/identity-types.js';
import type { VaultRow } from '../storage/store-types.js';
import type { Decision } from '../authorization/authorizer.js';

// Per-request state the hooks attach before a route runs.
declare module 'fastify' {
  interface FastifyRequest {
    /** Vault named by the Host header, when the request is for a vault host. */
    vaultName: string | null;
    vault: VaultRow | null;
    caller: Caller | null;
    /** How the authorizer allowed the request (for the audit record). */
    decision: Decision | null;
    /** The secret a request acts on when its path does not name it (a restore), for the audit record. */
    auditSecret: string | null;
    auditStarted: number;
  }
}

export function requireCaller(req: { caller: Caller | null }): Caller {
  if (!req.caller) throw new Error('route reached without an authenticated caller');
  return req.caller;
}

export function requireVault(req: { vault: VaultRow | null }): VaultRow {
  if (!req.vault) throw new Error('route reached without a resolved vault');
  return req.vault;
}
