import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, loadConfig, type CofferConfig } from '../../config/config.js';
import { startServer } from '../../server/start-server.js';
import { CONFIG_ERROR_EXIT_CODE, type ServerInput } from './server-thread.js';

// The server thread (see server-thread.ts): reads the configuration, starts
// the server, says so, and closes it when the main thread relays SIGINT or
// SIGTERM (gracefully, within the shutdown timeout: start-server.ts).

const input = workerData as ServerInput;
let config: CofferConfig;
try {
  config = loadConfig(input.flags, process.env, input.configFile);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`ERROR: ${err.message}\n`);
  process.exit(CONFIG_ERROR_EXIT_CODE);
}
const port = parentPort!;
const server = await startServer(config).catch((err: unknown) => {
  throw cloneable(err);
});

/**
 * The error as the main thread will see it: an error that is not one of JavaScript's own (SQLite's, say)
 * reaches it as a plain object without its message, so it travels as an Error with its message and stack.
 */
function cloneable(err: unknown): unknown {
  if (!(err instanceof Error) || Object.prototype.toString.call(err) === '[object Error]') return err;
  const copy = new Error(err.message);
  copy.stack = err.stack;
  return copy;
}
/**
 * The server's close takes up to twice the shutdown timeout (the requests in flight, then the handlers whose
 * connection was closed: start-server.ts); what is left to do (audit records, the store) gets this long more
 * before the process exits anyway.
 */
const CLOSE_GRACE_MS = 10_000;
let stopping = false;
function stop(exitCode: number) {
  if (stopping) return;
  stopping = true;
  setTimeout(() => {
    process.stderr.write('coffer server: shutdown did not finish in time; exiting\n');
    process.exit(1);
  }, 2 * config.shutdownTimeoutSeconds * 1000 + CLOSE_GRACE_MS).unref();
  server.close().then(
    () => process.exit(exitCode),
    () => process.exit(1),
  );
}
port.on('message', (msg) => {
  if (msg === 'stop') stop(0);
});
// Logged by the server; the exit code tells a supervisor to start it again (as a standby, it then waits its turn).
void server.fatal.then(() => stop(1));
port.postMessage('listening');
