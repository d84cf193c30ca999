import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, loadConfig } from '../../config/config.js';
import { startServer } from '../../server/start-server.js';
import { CONFIG_ERROR_EXIT_CODE, type ServerInput } from './server-thread.js';

// The server thread (see server-thread.ts): reads the configuration, starts
// the server, says so, and closes it when the main thread relays SIGINT or
// SIGTERM.

const input = workerData as ServerInput;
let config;
try {
  config = loadConfig(input.flags, process.env, input.configFile);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`ERROR: ${err.message}\n`);
  process.exit(CONFIG_ERROR_EXIT_CODE);
}
const port = parentPort!;
const server = await startServer(config);
port.on('message', (msg) => {
  if (msg !== 'stop') return;
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
port.postMessage('listening');
