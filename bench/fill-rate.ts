import { createApi, ROLE_SECRETS_USER } from './api.js';
import { cleanup, installExitHandlers } from './children.js';
import { cpuSeconds, startCoffer } from './coffer.js';
import { createBench } from './context.js';
import { pool } from './http.js';
import { RBAC_VAULT, setupAuthz } from './scenarios-authz.js';
import { setupCore } from './scenarios-core.js';

// Developer aid (not part of npm run bench): role assignments created per
// second through ARM, 32 in flight as the bench fills them, by stretch
// (FILL_STEPS, the totals to reach; default 1000,9000,10000), on a fresh
// server. Each authorization write's cost grows with what it reads: the
// last stretch shows it at the bench's 10,000 assignments.

const steps = (process.env.FILL_STEPS ?? '1000,9000,10000').split(',').map(Number);

async function main(): Promise<void> {
  const coffer = await startCoffer((process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean));
  const api = createApi(coffer);
  const b = createBench(coffer, api);
  try {
    const token = await api.vaultToken();
    await setupCore(b, token);
    const setup = await setupAuthz(b, token);
    let held = await api.countAssignments();
    for (const total of steps) {
      const first = setup.nextScope;
      const count = total - held;
      setup.nextScope += count;
      const started = performance.now();
      const cpu = cpuSeconds(coffer.pid()) ?? 0;
      await pool(count, 32, async (i) => {
        const k = first + i;
        await api.assignRole(`${api.vaultId(RBAC_VAULT)}/secrets/filler-${k}`, ROLE_SECRETS_USER, setup.fillers[k % setup.fillers.length]!.objectId);
      });
      const seconds = (performance.now() - started) / 1000;
      // The server's CPU time per assignment varies less than the rate on a shared machine.
      const ms = (((cpuSeconds(coffer.pid()) ?? 0) - cpu) * 1000) / count;
      process.stdout.write(`${held} -> ${total}: ${count} in ${seconds.toFixed(1)} s, ${(count / seconds).toFixed(0)}/s, server CPU ${ms.toFixed(2)} ms each\n`);
      held = total;
    }
  } finally {
    api.close();
    await coffer.stop();
  }
}

installExitHandlers();
main().then(cleanup, async (err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  await cleanup();
  process.exitCode = 1;
});
