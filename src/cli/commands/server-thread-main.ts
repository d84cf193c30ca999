import { parentPort, workerData } from 'node:worker_threads';
import type { CofferConfig } from '../../config/config.js';
import { startServer } from '../../server/start-server.js';

// The server thread (see server-thread.ts): starts the server, says so, and
// closes it when the main thread relays SIGINT or SIGTERM.

const port = parentPort!;
const server = await startServer((workerData as { config: CofferConfig }).config);
port.on('message', (msg) => {
  if (msg !== 'stop') return;
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
port.postMessage('listening');
