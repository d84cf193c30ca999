import { atVault, bearer, type Bench } from './context.js';
import { failures, runLoad } from './loadgen.js';
import { MAIN_VAULT, secretPath, secretValue, SMALL_COUNT } from './scenarios-core.js';

// Scale: one vault with 100,000 secrets (big-0 .. big-99999) next to the main
// vault with 100 (s-0 .. s-99). GETs pick a random secret of the vault on each
// request, so the comparison is about lookups, not one cached row.

export const BIG_VAULT = 'bench-big';
export const BIG_COUNT = Number(process.env.BENCH_SECRETS ?? 100_000);
const FILL_CONNECTIONS = 64;
const CONNECTIONS = 16;

/** Creates the big vault's secrets through the data plane (PUT secret), 64 requests in flight. */
export async function fillBigVault(b: Bench, token: string): Promise<void> {
  await b.api.createVault(BIG_VAULT);
  const t0 = performance.now();
  const r = await runLoad({
    port: b.coffer.port,
    ...atVault(b, BIG_VAULT),
    method: 'PUT',
    path: secretPath('big-{i}'),
    names: { count: BIG_COUNT, order: 'sequential' },
    headers: { ...bearer(token), 'content-type': 'application/json' },
    body: JSON.stringify({ value: secretValue() }),
    connections: FILL_CONNECTIONS,
    // The slack wraps around to names already written: requests built but not
    // sent when the run stops are then never among big-0 .. big-(N-1).
    amount: BIG_COUNT + 2 * FILL_CONNECTIONS,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (failures(r)) throw new Error(`creating ${BIG_COUNT} secrets: ${failures(r)}`);
  b.extra('fill-seconds', `create ${BIG_COUNT.toLocaleString('en-US')} secrets (PUT, ${FILL_CONNECTIONS} connections)`, seconds, 's');
  b.extra('fill-rate', `  secret creation rate during the fill`, r.ok / seconds, 'req/s');
}

const VAULTS = [
  { vault: MAIN_VAULT, prefix: 's', count: SMALL_COUNT },
  { vault: BIG_VAULT, prefix: 'big', count: BIG_COUNT },
];

/** GETs of random secrets in the small (`big` false) or the big vault. */
export async function measureScaleGet(b: Bench, token: string, big: boolean): Promise<void> {
  const { vault, prefix, count } = VAULTS[big ? 1 : 0]!;
  await b.measure(`scale-get@${count}`, `GET random secret, vault with ${count.toLocaleString('en-US')} secrets`, {
    ...atVault(b, vault),
    method: 'GET',
    path: secretPath(`${prefix}-{i}`),
    names: { count, order: 'random' },
    headers: bearer(token),
    connections: CONNECTIONS,
  });
}

/**
 * GETs in the small and the big vault, alternately, `rounds` times, and in the
 * small one once more (each big-vault measurement between two small-vault
 * ones, see bench/report.ts); then a list page in each.
 */
export async function runScale(b: Bench, token: string, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) for (const big of [false, true]) await measureScaleGet(b, token, big);
  await measureScaleGet(b, token, false);
  for (const { vault, count } of VAULTS) {
    await b.measure(`scale-list@${count}`, `list page (maxresults=25), vault with ${count.toLocaleString('en-US')} secrets`, {
      ...atVault(b, vault),
      method: 'GET',
      path: '/secrets?api-version=7.6&maxresults=25',
      headers: bearer(token),
      connections: CONNECTIONS,
    });
  }
}
