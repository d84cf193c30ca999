import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { exitWithParent } from './children.js';

// The baseline: a bare Node https server with coffer's own key and certificate
// (same TLS stack and settings, keep-alive on, fastify's keep-alive timeout)
// answering a fixed JSON body the size of a GET-secret response.

export interface BaselineConfig {
  certFile: string;
  keyFile: string;
  bodyBytes: number;
}

exitWithParent();

export function fixedJson(bytes: number): string {
  const shell = '{"value":""}';
  return `{"value":"${'x'.repeat(Math.max(0, bytes - shell.length))}"}`;
}

process.once('message', (cfg: BaselineConfig) => {
  const body = Buffer.from(fixedJson(cfg.bodyBytes));
  const server = createServer({ cert: readFileSync(cfg.certFile), key: readFileSync(cfg.keyFile), keepAliveTimeout: 72_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.send!({ port: typeof addr === 'object' && addr ? addr.port : 0 });
  });
});
