import { request } from 'node:http';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { withOutput } from '../command-kit.js';
import { checkOutputOptions, print } from '../output.js';

// coffer connector run | status: the reference connector that reads its
// database credentials from the vault and stores none.

function getStatus(url: string): Promise<{ status?: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        try {
          const parsed = JSON.parse(body) as unknown;
          if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
          resolve(parsed as { status?: unknown });
        } catch {
          reject(new CliError(`${url} did not answer with the connector's status (HTTP ${res.statusCode})`));
        }
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => reject(new CliError(`cannot reach the connector at ${url} (${(err as NodeJS.ErrnoException).code})`)));
    req.end();
  });
}

export function registerConnectorCommands(program: Command): void {
  const connector = program.command('connector').description('The reference connector: database credentials read from the vault, never stored.');
  connector
    .command('run')
    .description('Run the connector: keep every configured integration connected with credentials read from the vault.')
    .requiredOption('--config <file>', 'connector config (JSON); the client secret comes from the environment variable it names (or clientCertificatePath names a PEM file, or federatedTokenFile, or AZURE_FEDERATED_TOKEN_FILE, a token file)')
    .addHelpText('after', '\nExamples:\n  coffer connector run --config connector.json   (with COFFER_CONNECTOR_CLIENT_SECRET set)')
    .action(async (o: { config: string }) => {
      const { connectorSignIn, loadConnectorConfig } = await import('../../connector/connector-config.js');
      const { startConnector, ConnectorStartError } = await import('../../connector/connector.js');
      // A certificate's PEM file, a federated token file, or a client secret from the environment (never from the file).
      const signIn = connectorSignIn(loadConnectorConfig(o.config), process.env);
      if ('missing' in signIn) throw new CliError(`the environment variable ${signIn.missing} (the connector's client secret) is not set`);
      const { config, secret } = signIn;
      const log = (msg: string, fields: object = {}) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);
      let running: Awaited<ReturnType<typeof startConnector>>;
      try {
        running = await startConnector(config, secret, log);
      } catch (err) {
        if (err instanceof ConnectorStartError) throw new CliError(err.message);
        throw err;
      }
      const stop = () => void running.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  withOutput(connector.command('status').description("Show each integration's state, secret version in use and last error."))
    .option('--url <url>', 'status endpoint', 'http://127.0.0.1:7070/health')
    .addHelpText('after', '\nExamples:\n  coffer connector status -o table --query "integrations"')
    .addHelpText('after', '\nExit code: 0 when every integration is connected, 1 when the connector answers "degraded" (or not at all).')
    .action(async (o: { url: string; output?: string; query?: string }) => {
      checkOutputOptions(o);
      const answer = await getStatus(o.url);
      print(answer, o);
      // Scripts and health probes read the exit code: a degraded connector is not a success.
      if (answer.status !== 'ok') process.exitCode = 1;
    });
}
