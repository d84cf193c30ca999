import { createApi } from './api.js';
import { cleanup, installExitHandlers } from './children.js';
import { startCoffer } from './coffer.js';
import { type Bench, createBench } from './context.js';
import { evaluate, loadAverage, machine, writeResults } from './report.js';
import { fillAssignments, runAccessPolicies, runRbac, setupAuthz } from './scenarios-authz.js';
import { coldStart, MAIN_VAULT, runCore, setupCore } from './scenarios-core.js';
import { BIG_COUNT, BIG_VAULT, fillBigVault, runScale } from './scenarios-scale.js';

// npm run bench: one coffer server on a temporary data dir and CA dir, load
// from autocannon in separate processes, results in bench-results/.
//
// Environment: BENCH_DURATION (seconds per measurement, default 5),
// BENCH_WARMUP (unmeasured seconds before each, default 2), BENCH_SECRETS
// (size of the big vault, default 100000), BENCH_ASSIGNMENTS (default 10000),
// BENCH_ROUNDS (rounds of baseline, GET and SET at 64 connections, and
// alternating pairs of each comparison: 10 / 10,000 role assignments, 10 /
// 1,024 access policies, 100 / 100,000 secrets; default 3), BENCH_SERVER_NODE_ARGS
// (extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"),
// BENCH_ONLY=core (baseline, GET, SET, list, token only: a quick check while
// profiling; the targets on the other scenarios then show as not measured).

const ASSIGNMENTS = Number(process.env.BENCH_ASSIGNMENTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY_CORE = process.env.BENCH_ONLY === 'core';
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = loadAverage();
  const coffer = await startCoffer(SERVER_NODE_ARGS);
  const api = createApi(coffer);
  const b = createBench(coffer, api);
  b.log(`coffer on port ${coffer.port}, pid ${coffer.pid()}, data dir ${coffer.dataDir}`);
  try {
    const token = await api.vaultToken();
    await b.timed('setup-core', 'setup: resource group, 2 vaults, 100 secrets', () => setupCore(b, token));
    await runCore(b, token, ROUNDS);
    // The quick check still writes its summary: the other targets show as not measured.
    if (!ONLY_CORE) await runRest(b, token);
  } catch (err) {
    process.stderr.write(`\ncoffer output (last lines):\n${coffer.logs().split('\n').slice(-30).join('\n')}\n`);
    throw err;
  } finally {
    api.close();
    await coffer.stop();
  }

  const m = machine((performance.now() - started) / 1000, loadBefore);
  const targets = evaluate(b.rows, b.extras, { bigCount: BIG_COUNT, assignments: ASSIGNMENTS, cores: m.nproc });
  const md = writeResults(m, b.rows, b.extras, targets);
  process.stdout.write(`\n${md}\nwritten to bench-results/latest.md and bench-results/latest.json\n`);
}

/** Everything after the core rows: comparisons, scale, cold starts. */
async function runRest(b: Bench, token: string): Promise<void> {
  await coldStart(b, 'cold-small', 'cold start to first GET secret (100-secret vault only)', MAIN_VAULT, 's-0', token);

  const authz = await b.timed('setup-authz', 'setup: RBAC and access-policy vaults, 5 service principals', () => setupAuthz(b, token));
  await fillAssignments(b, authz, 10);
  // Access policies first: alternating rounds absorb the just-restarted server's JIT warm-up.
  await runAccessPolicies(b, authz, ROUNDS);
  await runRbac(b, authz, ASSIGNMENTS, ROUNDS);

  await fillBigVault(b, token);
  const big = `cold start to first GET secret (with ${BIG_COUNT.toLocaleString('en-US')}-secret vault, ${ASSIGNMENTS.toLocaleString('en-US')} assignments)`;
  await coldStart(b, 'cold-big', big, BIG_VAULT, 'big-0', token);
  await runScale(b, token, ROUNDS);
}

installExitHandlers();
main().then(
  () => cleanup(),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await cleanup();
    process.exitCode = 1;
  },
);
