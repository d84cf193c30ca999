import { cpSync } from 'node:fs';
import { createApi } from './api.js';
import { cleanup, installExitHandlers } from './children.js';
import { startCoffer } from './coffer.js';
import { atVault, bearer, createBench } from './context.js';
import { fillAssignments, runRbac, setupAuthz } from './scenarios-authz.js';
import { MAIN_VAULT, secretPath, secretValue, setupCore } from './scenarios-core.js';
import { fillBigVault, measureScaleGet } from './scenarios-scale.js';

// Developer aid (not part of npm run bench): one scenario against a fresh
// server, for profiling. PROFILE_SCENARIO=get|set|assignments (10 against
// 10,000 role assignments as in run.ts, BENCH_ROUNDS pairs, default 2)|scale
// (random GETs in the 100- and the 100,000-secret vault, each side in a
// server process of its own)|cold (the data dir of the bench's large cold
// start, 10,000 assignments and the 100,000-secret vault, copied to
// PROFILE_KEEP for starts by hand: node --cpu-prof bin/coffer.js server ...),
// PROFILE_CONNECTIONS (64),
// server flags from BENCH_SERVER_NODE_ARGS as in run.ts.

const scenario = process.env.PROFILE_SCENARIO ?? 'get';
const connections = Number(process.env.PROFILE_CONNECTIONS ?? 64);

async function main(): Promise<void> {
  const coffer = await startCoffer((process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean));
  const api = createApi(coffer);
  const b = createBench(coffer, api);
  try {
    const token = await api.vaultToken();
    await setupCore(b, token);
    const at = atVault(b, MAIN_VAULT);
    if (scenario === 'assignments') {
      const authz = await setupAuthz(b, token);
      await fillAssignments(b, authz, 10);
      await runRbac(b, authz, 10_000, Number(process.env.BENCH_ROUNDS ?? 2));
    } else if (scenario === 'cold') {
      const keep = process.env.PROFILE_KEEP;
      if (!keep) throw new Error('PROFILE_SCENARIO=cold needs PROFILE_KEEP, a directory to copy the data dir to');
      await fillAssignments(b, await setupAuthz(b, token), 10_000);
      await fillBigVault(b, token);
      await coffer.stop();
      cpSync(coffer.dataDir, keep, { recursive: true });
      process.stdout.write(`data dir copied to ${keep}\n`);
    } else if (scenario === 'scale') {
      // Each side in its own server process (restarted on one snapshot), so that each gets its own profile.
      await fillBigVault(b, token);
      const snapshot = await b.coffer.snapshot();
      if (!snapshot) throw new Error('PROFILE_SCENARIO=scale needs the SQLite store');
      for (let r = 0; r < Number(process.env.BENCH_ROUNDS ?? 2); r++) {
        for (const big of [false, true]) {
          await b.coffer.restore(snapshot);
          await measureScaleGet(b, token, big);
        }
      }
    } else if (scenario === 'get') await b.measure('get', 'GET secret', { ...at, method: 'GET', path: secretPath('s-0'), headers: bearer(token), connections });
    else
      await b.measure('set', 'durable SET secret (PUT)', {
        ...at,
        method: 'PUT',
        path: secretPath('set-{i}'),
        names: { count: 1000, order: 'sequential' },
        headers: { ...bearer(token), 'content-type': 'application/json' },
        body: JSON.stringify({ value: secretValue() }),
        connections,
      });
  } finally {
    api.close();
    await coffer.stop();
    // The server's own output (warnings, and any instrumentation added while profiling).
    process.stderr.write(coffer.logs());
  }
}

installExitHandlers();
main().then(cleanup, async (err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  await cleanup();
  process.exitCode = 1;
});
