import { createServer, type Server } from 'node:http';
import type { ConnectorConfig } from './connector-config.js';
import { createIntegrationRunner, type IntegrationRunner } from './integration-runner.js';
import { createVaultReader } from './vault-reader.js';

// The connector process: integrations refreshed on a timer, and a status
// endpoint on loopback (GET /health) that never shows credentials.

/** The connector cannot start (its status port is taken): said in one line, without a stack. */
export class ConnectorStartError extends Error {
  override name = 'ConnectorStartError';
}

export interface RunningConnector {
  statusPort: number;
  refreshAll(): Promise<void>;
  stop(): Promise<void>;
}

export async function startConnector(config: ConnectorConfig, clientSecret: string | null, log: (msg: string, fields?: object) => void): Promise<RunningConnector> {
  const reader = createVaultReader(config, clientSecret);
  const runners: IntegrationRunner[] = config.integrations.map((i) => createIntegrationRunner(i, reader, log, { refreshSeconds: config.refreshSeconds }));
  // Each integration refreshes on its own (integration-runner.ts): one stuck on its database or vault delays no other.
  const refreshAll = async () => void (await Promise.all(runners.map((r) => r.refresh())));

  const server: Server = createServer((req, res) => {
    // A page in a browser on this host may reach loopback under a name it controls (DNS rebinding): only loopback names.
    if (!loopbackHost(req.headers.host)) {
      res.writeHead(421, { 'content-type': 'application/json' }).end('{"error":"the status is served to 127.0.0.1 and localhost only"}');
      return;
    }
    if (req.method !== 'GET' || (req.url !== '/health' && req.url !== '/status')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const integrations = runners.map((r) => r.status());
    const healthy = integrations.every((i) => i.state === 'connected');
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: healthy ? 'ok' : 'degraded', clientId: config.clientId, integrations }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConnectorStartError(err.code === 'EADDRINUSE' ? `status port ${config.statusPort} on 127.0.0.1 is in use: set statusPort in the connector config` : `cannot listen on 127.0.0.1:${config.statusPort} (${err.code ?? err.message})`)),
    );
    server.listen(config.statusPort, '127.0.0.1', resolve);
  });
  const address = server.address();
  const statusPort = typeof address === 'object' && address ? address.port : config.statusPort;

  // The refreshes run on a timer of their own: however long the first one takes, the next ones come.
  const timer = setInterval(() => void refreshAll(), config.refreshSeconds * 1000);
  try {
    await refreshAll();
  } catch (err) {
    clearInterval(timer);
    throw err;
  }
  log('connector started', { statusPort, integrations: config.integrations.map((i) => i.name) });

  return {
    statusPort,
    refreshAll,
    async stop() {
      clearInterval(timer);
      await new Promise<void>((r) => server.close(() => r()));
      await Promise.all(runners.map((r) => r.stop()));
    },
  };
}

/** A Host header naming loopback (127.0.0.1 or localhost, any port), or none (HTTP/1.0). */
function loopbackHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  return /^(?:127\.0\.0\.1|localhost)(?::\d{1,5})?$/i.test(host);
}
