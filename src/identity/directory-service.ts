import { randomUUID } from 'node:crypto';
import type { AuditRecord, ClientSecretRow, KeyCredentialRow, PrincipalRow, PrincipalStore, SignInFailureStore } from '../storage/store-types.js';
import { planKeyCredentials } from './key-credentials.js';
import { newClientSecret, type CredentialHasher } from './password-hash.js';
import { derivedMailNickname } from './graph-filter.js';
import { MAX_PASSWORD_LENGTH, meetsComplexity } from './password-policy.js';
import { errors } from '../server/errors.js';
import { StoreConflictError } from '../storage/store-errors.js';
import { createFamiliarLocations } from './sign-in-familiar.js';
import { createSignInLockout, networkKey, sourceKey, SOURCE_LOCKOUT, type LockoutLimits } from './sign-in-lockout.js';
import { createSignInBacklog } from './sign-in-backlog.js';
import { createKeyedQueue } from '../server/one-at-a-time.js';

// Users, service principals and their credentials. Only hashes are stored;
// a client secret's clear text exists once, in the answer to its creation.

export interface NewCredential {
  keyId: string;
  secret: string;
  endAt: number;
}

/** Entra ID's password policy (password-policy.ts), for every password coffer stores for a user. */
function checkPassword(password: string): void {
  if (password.length > MAX_PASSWORD_LENGTH) throw errors.graphBadRequest(`passwordProfile.password must be at most ${MAX_PASSWORD_LENGTH} characters.`);
  if (!meetsComplexity(password)) throw errors.passwordTooWeak();
}

export interface DirectoryService {
  // `audit`, when given, is stored with the change in one transaction (PrincipalStore's `audit` arguments).
  /** The principal and its first client secret are stored together. */
  createServicePrincipal(
    input: { displayName: string; appId?: string; objectId?: string; secret?: string; years?: number },
    audit?: AuditRecord,
  ): Promise<{ principal: PrincipalRow; credential: NewCredential }>;
  /**
   * A service principal without a client secret yet: an application registered through Graph's /applications,
   * with the certificate credentials of a Graph `keyCredentials` list, if given, stored with it.
   */
  createApplication(displayName: string, audit?: AuditRecord, keyCredentials?: unknown): Promise<PrincipalRow>;
  createUser(input: { upn: string; displayName: string; password: string; objectId?: string }, audit?: AuditRecord): Promise<PrincipalRow>;
  /** Without a mail nickname (Graph requires one), one is derived from the display name. */
  createGroup(input: { displayName: string; mailNickname?: string; objectId?: string }, audit?: AuditRecord): Promise<PrincipalRow>;
  /** A new password for a user; their refresh tokens are revoked with it, as Entra ID does at a reset. */
  setUserPassword(objectId: string, password: string, audit?: AuditRecord): Promise<void>;
  /** Principals whose display name, UPN, appId or object id contains the text. */
  search(text: string, limit: number): Promise<PrincipalRow[]>;
  addClientSecret(objectId: string, input: { secret?: string; years?: number; displayName?: string }, audit?: AuditRecord): Promise<NewCredential>;
  /** Replaces every client secret of the principal with a fresh one. */
  resetClientSecret(objectId: string, years?: number): Promise<NewCredential>;
  removeClientSecret(objectId: string, keyId: string, audit?: AuditRecord): Promise<boolean>;
  /** The principal's certificate credentials whose seal matches (the others authenticate nothing). */
  listKeyCredentials(objectId: string): Promise<KeyCredentialRow[]>;
  /** Makes the principal's certificate credentials those of a Graph `keyCredentials` list (key-credentials.ts). */
  setKeyCredentials(objectId: string, keyCredentials: unknown, audit?: AuditRecord): Promise<void>;
  /** Metadata of the principal's client secrets (hashes stay inside). */
  listClientSecrets(objectId: string): Promise<Array<Omit<ClientSecretRow, 'secretHash'>>>;
  /** The service principal if the secret is one of its current ones. */
  authenticateClient(appId: string, secret: string, now: number): Promise<ClientAuthResult>;
  /** Drops lockout counts whose window and lock have ended (the periodic sweep). */
  forgetEndedLockouts(): Promise<number>;
  /** A person's sign-in from a client address, under smart lockout and IP lockout (sign-in-lockout.ts). */
  authenticateUser(upn: string, password: string, source: string): Promise<UserAuthResult>;
  get(objectId: string): Promise<PrincipalRow | null>;
  /** A user by user principal name (in any case). */
  getByUpn(upn: string): Promise<PrincipalRow | null>;
  getByAppId(appId: string): Promise<PrincipalRow | null>;
  list(): Promise<PrincipalRow[]>;
  delete(objectId: string, audit?: AuditRecord): Promise<boolean>;
  /** Applications' federated identity credentials, as stored (those whose seal fails left out of every read). */
  readonly federated: Pick<PrincipalStore, 'listFederatedCredentials' | 'addFederatedCredential' | 'updateFederatedCredential' | 'removeFederatedCredential'>;
}

export type UserAuthResult = { ok: true; user: PrincipalRow } | { ok: false; reason: 'invalid' | 'locked' | 'source-locked' | 'busy' };

export type ClientAuthResult =
  | { ok: true; principal: PrincipalRow }
  | { ok: false; reason: 'unknown-client' | 'bad-secret' | 'expired-secret' };

const YEAR = 365 * 24 * 3600;
/**
 * Entra ID's limits: a name of at most 64 and a domain of at most 48 characters (113 in all), one @; the name of
 * ASCII letters, digits and ' . - _ ! # ^ ~ only (no accented or look-alike letters), without a period at either
 * end or two in a row.
 */
const UPN_RE = /^(?!\.)(?![^@]*\.\.)[A-Za-z0-9'._!#^~-]{1,64}(?<!\.)@(?=[A-Za-z0-9.-]{1,48}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const MAX_UPN_LENGTH = 64 + 1 + 48;

/**
 * A write of key credentials, its store conflicts answered as Graph would: a keyId another credential has
 * (400), or credentials another request changed since this one read them (409: the client reads them again).
 */
async function keyCredentialWrite(write: Promise<void>): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (!(err instanceof StoreConflictError)) throw err;
    if (err.reason === 'changed') throw errors.graphConflict('The key credentials were changed by another request since they were read. Read them again, then retry.');
    if (err.message.startsWith('key credential ')) throw errors.keyCredentialInvalid('keyCredential.keyId is already in use: leave it out, and a new one is given.');
    throw err;
  }
}

/** A lock set by a wrong password: of the user name tried, or of the client's address (sign-in-lockout.ts). */
export interface SignInLock {
  kind: 'name' | 'address';
  /** The user name the wrong password was for. */
  name: string;
  /** The client's address. */
  from: string;
  /** Until when (unix seconds). */
  until: number;
  /** Which lock of its run (1: the first). */
  run: number;
}

export function createDirectoryService(deps: {
  principals: PrincipalStore;
  failures: SignInFailureStore;
  hasher: CredentialHasher;
  /** Reads the credential pepper's generations again: a stored hash names a newer one (another cluster member renewed it). */
  reloadPepper?: () => Promise<void>;
  now?: () => number;
  sourceLimits?: Readonly<LockoutLimits>;
  /** Told of each lock a wrong password sets (for the server's log: sign-ins are not in the audit trail). */
  onLocked?: (lock: SignInLock) => void;
}): DirectoryService {
  // Entra ID's separate counts for a name's familiar and unfamiliar locations (sign-in-familiar.ts).
  const lockout = createSignInLockout(deps.failures, 'name:', deps.now);
  const familiarLockout = createSignInLockout(deps.failures, 'name-familiar:', deps.now);
  const familiar = createFamiliarLocations(deps.failures, deps.now);
  const sourceLockout = createSignInLockout(deps.failures, 'source:', deps.now, deps.sourceLimits ?? SOURCE_LOCKOUT);
  const oneAtATime = createKeyedQueue();
  const backlog = createSignInBacklog();
  const { principals, hasher } = deps;
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));

  /** A user's password checked, in its address's turn: the address's lockout, then the name's, then the hash. */
  async function signInChecked(upn: string, password: string, from: string, network: string): Promise<UserAuthResult> {
    if (await sourceLockout.locked(from)) return { ok: false, reason: 'source-locked' };
    // A name longer than any user's is nobody's: not looked up, and not kept by the per-name lockout,
    // whose memory would otherwise grow with the names' length.
    const possible = upn.length <= MAX_UPN_LENGTH;
    const names = possible && (await familiar.isFamiliar(upn, network)) ? familiarLockout : lockout;
    // Read first, so that attempts while the name is locked write nothing; then counted before the check.
    const counted = possible && !(await names.locked(upn)) ? await names.attempt(upn, hasher.fingerprint(upn, password)) : null;
    if (possible && !counted) return { ok: false, reason: 'locked' };
    const user = possible ? await principals.getByUpn(upn) : null;
    if (user?.passwordHash && hasher.ahead(user.passwordHash)) await deps.reloadPepper?.();
    // An unknown user spends the same time as a real check, so that it is not revealed.
    const right = await hasher.verifyPassword(password, user?.passwordHash ?? DUMMY_HASH, { objectId: user?.objectId ?? '' });
    if (!user || !user.passwordHash || !right) {
      // The name was counted by its attempt. The address's count is taken one sign-in at a time (above).
      const source = await sourceLockout.failed(from);
      const t = now();
      if (counted && counted.lockedUntil > t) deps.onLocked?.({ kind: 'name', name: upn, from, until: counted.lockedUntil, run: counted.locks });
      if (source && source.lockedUntil > t && source.count === 0) deps.onLocked?.({ kind: 'address', name: upn, from, until: source.lockedUntil, run: source.locks });
      return { ok: false, reason: 'invalid' };
    }
    // The address's count stays: a guesser who knows one password must not clear it.
    if (counted) await names.succeeded(upn, counted);
    await familiar.remember(upn, network);
    return { ok: true, user };
  }

  /** A new client secret: its row (hash only) and its clear text. */
  function newSecret(objectId: string, input: { secret?: string; years?: number; displayName?: string }) {
    const secret = input.secret ?? newClientSecret();
    const start = now();
    const keyId = randomUUID();
    const row: ClientSecretRow = {
      keyId,
      objectId,
      secretHash: hasher.hashClientSecret(secret, { objectId, keyId }),
      hint: secret.slice(0, 3),
      displayName: input.displayName ?? null,
      startAt: start,
      endAt: start + Math.round((input.years ?? 1) * YEAR),
    };
    return { row, credential: { keyId: row.keyId, secret, endAt: row.endAt } };
  }

  async function addClientSecret(objectId: string, input: { secret?: string; years?: number; displayName?: string }, audit?: AuditRecord) {
    const { row, credential } = newSecret(objectId, input);
    await principals.addClientSecret(row, audit);
    return credential;
  }

  async function requirePrincipal(objectId: string): Promise<PrincipalRow> {
    const p = await principals.get(objectId);
    if (!p) throw errors.graphResourceNotFound(objectId);
    return p;
  }

  return {
    async createServicePrincipal(input, audit) {
      const principal: PrincipalRow = {
        objectId: input.objectId ?? randomUUID(),
        kind: 'ServicePrincipal',
        displayName: input.displayName,
        appId: input.appId ?? randomUUID(),
        upn: null,
        passwordHash: null,
        mailNickname: null,
        createdAt: now(),
      };
      const { row, credential } = newSecret(principal.objectId, { secret: input.secret, years: input.years, displayName: 'rbac' });
      await principals.insert(principal, audit, row);
      return { principal, credential };
    },
    async createApplication(displayName, audit, keyCredentials) {
      const principal: PrincipalRow = { objectId: randomUUID(), kind: 'ServicePrincipal', displayName, appId: randomUUID(), upn: null, passwordHash: null, mailNickname: null, createdAt: now() };
      const keys = keyCredentials === undefined || keyCredentials === null ? [] : planKeyCredentials(keyCredentials, [], principal.objectId).add;
      await keyCredentialWrite(principals.insert(principal, audit, undefined, keys));
      return principal;
    },
    async createUser(input, audit) {
      if (!UPN_RE.test(input.upn)) throw errors.invalidUserPrincipalName();
      if (input.displayName.trim() === '' || input.displayName.length > 256) throw errors.graphBadRequest('displayName must be 1 to 256 characters.');
      checkPassword(input.password);
      if (await principals.getByUpn(input.upn)) throw errors.userPrincipalNameExists();
      const objectId = input.objectId ?? randomUUID();
      const row: PrincipalRow = {
        objectId,
        kind: 'User',
        displayName: input.displayName,
        appId: null,
        upn: input.upn,
        passwordHash: await hasher.hashPassword(input.password, { objectId }),
        mailNickname: null,
        createdAt: now(),
      };
      try {
        await principals.insert(row, audit);
      } catch (err) {
        // A user of the name created by another request while the password was hashed (the store's unique name).
        if (err instanceof StoreConflictError && err.reason === 'exists' && (await principals.getByUpn(input.upn))) throw errors.userPrincipalNameExists();
        throw err;
      }
      return row;
    },
    async setUserPassword(objectId, password, audit) {
      checkPassword(password);
      // The hash is replaced only if it is still the one read: a reset racing another is tried again, not lost.
      for (let attempt = 0; attempt < 3; attempt++) {
        const user = await principals.get(objectId);
        if (!user || user.kind !== 'User' || user.passwordHash === null) throw errors.graphResourceNotFound(objectId);
        if (await principals.setPassword(objectId, user.passwordHash, await hasher.hashPassword(password, { objectId }), audit)) {
          // Whoever signed in with the old password keeps no familiar network (sign-in-familiar.ts).
          if (user.upn) await familiar.forget(user.upn);
          return;
        }
      }
      throw errors.graphConflict('The password was changed by another request meanwhile. Try again.');
    },
    async createGroup(input, audit) {
      if (input.displayName.trim() === '' || input.displayName.length > 256) throw errors.graphBadRequest('displayName is required (1 to 256 characters).');
      const mailNickname = input.mailNickname ?? derivedMailNickname(input.displayName);
      const row: PrincipalRow = { objectId: input.objectId ?? randomUUID(), kind: 'Group', displayName: input.displayName, appId: null, upn: null, passwordHash: null, mailNickname, createdAt: now() };
      await principals.insert(row, audit);
      return row;
    },
    async search(text, limit) {
      const needle = text.trim().toLowerCase();
      const fields = (p: PrincipalRow) => [p.displayName, p.upn ?? '', p.appId ?? '', p.objectId].map((f) => f.toLowerCase());
      return (await principals.list()).filter((p) => needle === '' || fields(p).some((f) => f.includes(needle))).slice(0, limit);
    },
    async addClientSecret(objectId, input, audit) {
      const p = await requirePrincipal(objectId);
      if (p.kind !== 'ServicePrincipal') throw errors.clientSecretNotServicePrincipal();
      return addClientSecret(objectId, input, audit);
    },
    async resetClientSecret(objectId, years) {
      await requirePrincipal(objectId);
      for (const s of await principals.listClientSecrets(objectId)) await principals.removeClientSecret(objectId, s.keyId);
      return addClientSecret(objectId, { years, displayName: 'rbac' });
    },
    removeClientSecret: (objectId, keyId, audit) => principals.removeClientSecret(objectId, keyId, audit),
    listKeyCredentials: (objectId) => principals.listKeyCredentials(objectId),
    federated: principals,
    async setKeyCredentials(objectId, keyCredentials, audit) {
      const p = await requirePrincipal(objectId);
      if (p.kind !== 'ServicePrincipal') throw errors.graphResourceNotFound(objectId);
      await keyCredentialWrite(principals.changeKeyCredentials(objectId, planKeyCredentials(keyCredentials, await principals.listKeyCredentials(objectId), objectId), audit));
    },
    listClientSecrets: async (objectId) => (await principals.listClientSecrets(objectId)).map(({ secretHash: _h, ...rest }) => rest),
    async authenticateClient(appId, secret, at) {
      const principal = await principals.getByAppId(appId);
      if (!principal) return { ok: false, reason: 'unknown-client' };
      let expired = false;
      // Check every credential so timing does not reveal which one matched.
      let match = false;
      const credentials = await principals.listClientSecrets(principal.objectId);
      if (credentials.some((c) => hasher.ahead(c.secretHash))) await deps.reloadPepper?.();
      for (const cred of credentials) {
        if (hasher.verifyClientSecret(secret, cred.secretHash, { objectId: principal.objectId, keyId: cred.keyId })) {
          if (cred.endAt > at && cred.startAt <= at + 300) match = true;
          else expired = true;
        }
      }
      if (match) return { ok: true, principal };
      return { ok: false, reason: expired ? 'expired-secret' : 'bad-secret' };
    },
    async authenticateUser(upn, password, source) {
      const from = sourceKey(source);
      const network = networkKey(from);
      if (!backlog.enter(network)) return { ok: false, reason: 'busy' };
      try {
        return await oneAtATime(from, () => signInChecked(upn, password, from, network));
      } finally {
        backlog.leave(network);
      }
    },
    forgetEndedLockouts: async () => (await lockout.forgetEnded()) + (await familiarLockout.forgetEnded()) + (await sourceLockout.forgetEnded()) + (await familiar.forgetOld()),
    get: (objectId) => principals.get(objectId),
    getByUpn: (upn) => principals.getByUpn(upn),
    getByAppId: (appId) => principals.getByAppId(appId),
    list: () => principals.list(),
    async delete(objectId, audit) {
      const upn = (await principals.get(objectId))?.upn;
      const deleted = await principals.delete(objectId, audit);
      // A user given the name later inherits none of its familiar networks.
      if (deleted && upn) await familiar.forget(upn);
      return deleted;
    },
  };
}

/** Checked for a name no user has: as costly as a real check, matching no password. */
const DUMMY_HASH = 'scrypt-hmac$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
