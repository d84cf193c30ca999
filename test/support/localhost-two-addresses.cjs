// Preloaded (NODE_OPTIONS=--require) into a test server: `localhost` resolves
// to 127.0.0.1 and ::1, as with Debian's /etc/hosts, whatever this machine's
// says, so that fastify listens on both (listening-servers.test.ts).
const dns = require('node:dns');
const orig = dns.lookup;
dns.lookup = function (host, opts, cb) {
  if (host === 'localhost' && typeof opts === 'object' && opts && opts.all) {
    return process.nextTick(cb, null, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
  }
  return orig.apply(this, arguments);
};
