import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSignInBacklog } from '../src/identity/sign-in-backlog.js';
import { api } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Password sign-ins wait for their address's turn and a hash slot: a bounded
// backlog, so that a flood from many addresses (each too few attempts to be
// locked out) is refused at once instead of exhausting the server's heap.

describe('sign-in backlog', () => {
  it('takes places up to the whole bound and each network’s share, and gives them back', () => {
    const backlog = createSignInBacklog(3, 2);
    assert.equal(backlog.enter('a'), true);
    assert.equal(backlog.enter('a'), true);
    assert.equal(backlog.enter('a'), false, "past the network's share");
    assert.equal(backlog.enter('b'), true);
    assert.equal(backlog.enter('c'), false, 'past the whole bound');
    backlog.leave('a');
    assert.equal(backlog.enter('c'), true);
    assert.equal(backlog.size, 3);
    for (const n of ['a', 'b', 'c']) backlog.leave(n);
    assert.equal(backlog.size, 0);
    assert.equal(backlog.enter('a'), true, 'a network with no place taken starts again');
  });

  describe('on the token endpoint', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
      await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'flood@coffer.local', displayName: 'Flood', passwordProfile: { password: 'Flood password 1' } });
    });
    after(() => server?.stop());

    it("refuses sign-ins past one network's share at once with temporarily_unavailable (503), and serves the rest", async () => {
      const signIn = () =>
        fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'password', client_id: 'c0ffee00-0000-4000-8000-0000000000c1', username: 'flood@coffer.local', password: 'Flood password 1', scope: `${server.url}/.default` }),
        }).then(async (res) => ({ status: res.status, body: (await res.json()) as { error?: string; error_description?: string; access_token?: string } }));
      // One address's sign-ins are checked one at a time (a password hash each): 80 sent together cannot all wait.
      const answers = await Promise.all(Array.from({ length: 80 }, signIn));
      const refused = answers.filter((a) => a.status === 503);
      const served = answers.filter((a) => a.status === 200);
      assert.equal(refused.length + served.length, 80, JSON.stringify(answers.map((a) => a.status)));
      assert.ok(served.length >= 16, `${served.length} served`);
      assert.ok(refused.length >= 1, 'some refused');
      assert.equal(refused[0]!.body.error, 'temporarily_unavailable');
      assert.match(refused[0]!.body.error_description!, /^Too many sign-ins are in progress; try again later\.\r\nTrace ID: /);
      // Once the backlog drains, sign-ins are served again.
      assert.equal((await signIn()).status, 200);
    });
  });
});

