import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` until it holds; throws, naming `what`, after `ms`. For state a server reaches in its own time. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(everyMs);
  }
}
