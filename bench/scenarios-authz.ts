import { randomUUID } from 'node:crypto';
import { ROLE_SECRETS_USER, type Principal } from './api.js';
import { atVault, bearer, type Bench } from './context.js';
import { pool } from './http.js';
import { secretPath, secretValue } from './scenarios-core.js';

// Authorization cost. A reader service principal holds "Key Vault Secrets
// User" on an RBAC vault and a get access policy on an access-policy vault;
// the GET throughput it sees is measured with few and with many role
// assignments / access policies around it.
//
// Filler role assignments: Key Vault Secrets User for 4 other service
// principals, each at its own distinct secret scopes of the RBAC vault
// (.../vaults/bench-rbac/secrets/filler-N; a secret scope needs its vault, not
// the secret), created through the ARM role assignment API, 32 at a time.
// Filler access policies: entries for random object ids (access policies do
// not require the principal to exist), the reader's entry last.

export const RBAC_VAULT = 'bench-rbac';
export const AP_VAULT = 'bench-ap';
const FILLER_PRINCIPALS = 4;
const CONNECTIONS = 16;

export interface AuthzSetup {
  reader: Principal;
  readerToken: string;
  fillers: Principal[];
  /** Filler scopes used so far (each assignment gets a new one). */
  nextScope: number;
}

export async function setupAuthz(b: Bench, adminVaultToken: string): Promise<AuthzSetup> {
  const { api } = b;
  const reader = await api.newServicePrincipal('bench-reader');
  const fillers: Principal[] = [];
  for (let i = 0; i < FILLER_PRINCIPALS; i++) fillers.push(await api.newServicePrincipal(`bench-filler-${i}`));

  await api.createVault(RBAC_VAULT, { enableRbacAuthorization: true });
  await api.putSecret(RBAC_VAULT, 's-0', secretValue(), adminVaultToken);
  await api.assignRole(api.vaultId(RBAC_VAULT), ROLE_SECRETS_USER, reader.objectId);

  await api.createVault(AP_VAULT);
  await api.putSecret(AP_VAULT, 's-0', secretValue(), adminVaultToken);
  return { reader, readerToken: await api.vaultToken(reader.appId, reader.secret), fillers, nextScope: 0 };
}

/** The access-policy vault gets exactly `count` entries: the administrator, fillers, the reader last. */
async function setPolicyCount(b: Bench, reader: Principal, count: number): Promise<void> {
  const { api, coffer } = b;
  const fillers = Array.from({ length: count - 2 }, () => api.policy(randomUUID(), ['get', 'list']));
  await api.setAccessPolicies(AP_VAULT, [api.policy(coffer.bootstrap.objectId, ['all']), ...fillers, api.policy(reader.objectId, ['get'])]);
}

/** Adds filler role assignments until the deployment holds `total`. Returns how many were created. */
export async function fillAssignments(b: Bench, setup: AuthzSetup, total: number): Promise<number> {
  const { api } = b;
  const missing = total - (await api.countAssignments());
  if (missing < 0) throw new Error(`the deployment already holds ${total - missing} role assignments (more than ${total})`);
  if (missing === 0) return 0;
  const first = setup.nextScope;
  setup.nextScope += missing;
  await pool(missing, 32, async (i) => {
    const k = first + i;
    const principal = setup.fillers[k % setup.fillers.length]!;
    await api.assignRole(`${api.vaultId(RBAC_VAULT)}/secrets/filler-${k}`, ROLE_SECRETS_USER, principal.objectId);
  });
  const now = await api.countAssignments();
  if (now !== total) throw new Error(`expected ${total} role assignments, found ${now}`);
  return missing;
}

/** `fresh`: on the server that just created the assignments (a row of its own, not compared). */
async function measureRbac(b: Bench, setup: AuthzSetup, assignments: number, fresh = false): Promise<void> {
  const key = `${fresh ? 'rbac-fresh' : 'rbac'}@${assignments}`;
  await b.measure(key, `GET secret, RBAC vault, ${assignments.toLocaleString('en-US')} role assignments${fresh ? ', right after creating them' : ''}`, {
    ...atVault(b, RBAC_VAULT),
    method: 'GET',
    path: secretPath('s-0'),
    headers: bearer(setup.readerToken),
    connections: CONNECTIONS,
  });
}

/**
 * 10 role assignments against `total`. Filling takes a while, so the sides
 * alternate by restarting the server on copies of its data dir taken before
 * and after the fill (10, total, 10, total, …, 10: each `total` measurement
 * between two of 10, see bench/report.ts). With the store elsewhere
 * (--database-url) each side is measured `rounds` times in a row instead.
 * The server is left running with `total` assignments.
 */
export async function runRbac(b: Bench, setup: AuthzSetup, total: number, rounds: number): Promise<void> {
  const few = await b.coffer.snapshot();
  if (!few) for (let r = 0; r < rounds; r++) await measureRbac(b, setup, 10);
  const what = `create role assignments up to ${total.toLocaleString('en-US')} (ARM PUT, 32 in flight)`;
  await b.timed('fill-assignments', what, () => fillAssignments(b, setup, total));
  // Once on the server that just created and listed them (the list is a
  // 20 MB response): the run's highest RSS reading is often this one.
  await measureRbac(b, setup, total, true);
  const many = await b.coffer.snapshot();
  for (let r = 0; r < rounds; r++) {
    if (few && many) {
      await b.coffer.restore(few);
      await measureRbac(b, setup, 10);
      await b.coffer.restore(many);
    }
    await measureRbac(b, setup, total);
  }
  if (few && many) {
    await b.coffer.restore(few);
    await measureRbac(b, setup, 10);
    await b.coffer.restore(many);
  }
}

/** 10 and 1,024 access policies, alternately, `rounds` times, and 10 once more (each 1,024 between two of 10, see bench/report.ts). */
export async function runAccessPolicies(b: Bench, setup: AuthzSetup, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (const count of [10, 1024]) {
      await setPolicyCount(b, setup.reader, count);
      await measureAccessPolicies(b, setup, count);
    }
  }
  await setPolicyCount(b, setup.reader, 10);
  await measureAccessPolicies(b, setup, 10);
}

async function measureAccessPolicies(b: Bench, setup: AuthzSetup, policies: number): Promise<void> {
  await b.measure(`ap@${policies}`, `GET secret, access-policy vault, ${policies.toLocaleString('en-US')} access policies`, {
    ...atVault(b, AP_VAULT),
    method: 'GET',
    path: secretPath('s-0'),
    headers: bearer(setup.readerToken),
    connections: CONNECTIONS,
  });
}
