import type { FastifyInstance } from 'fastify';
import { errors } from './errors.js';

// JSON bodies may be empty (the Key Vault SDKs send body-less POSTs and an
// empty first request before the auth challenge). Malformed JSON is Azure's
// BadParameter, not a framework error.

export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json/i, { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(errors.invalidJson((err as Error).message.slice(0, 120)), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  // Anything else is accepted only when empty, so body-less requests with odd
  // content types still reach the route; otherwise the route's own checks fail it.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    if ((body as Buffer).length === 0) return done(null, undefined);
    done(errors.unsupportedMediaType(String(req.headers['content-type'] ?? '').slice(0, 100)), undefined);
  });
}
