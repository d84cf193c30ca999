import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, mock } from 'node:test';
import { loadKeyring } from '../src/crypto/keyring.js';
import { createTokenService, EXPIRED_SWEEP_MS } from '../src/identity/token-service.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';

// Verified tokens are cached by their text (up to 10,000, some 2 KB each). A
// soak probe found a burst of new tokens held about 19 MB until as many newer
// ones pushed them out, expired or not, however long the server then idled:
// expired ones now leave the cache once a minute.

const TENANT = 'c0ffee00-0000-4000-8000-000000000001';
const AUD = 'https://vault.localhost';

describe('the verified-token cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-token-cache-'));
  const store = openSqliteStore({ file: join(dir, 'coffer.db') });
  after(async () => {
    mock.timers.reset();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops the tokens past their expiry within a minute, and keeps the live ones', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    let t = 1_900_000_000;
    const { keyring } = loadKeyring({ file: join(dir, 'master.key') });
    const service = await createTokenService({ store: store.signingKeys, keyring, issuer: `https://localhost/${TENANT}/v2.0`, tenantId: TENANT, lifetimeSeconds: 3600, now: () => t });
    const issue = async (objectId: string) => (await service.issue({ objectId, appId: 'app', audience: AUD, kind: 'app' })).token;
    const early = await Promise.all(Array.from({ length: 5 }, (_, i) => issue(`c0ffee00-0000-4000-8000-00000000000${i}`)));
    for (const token of early) await service.verify(token, [AUD]);
    t += 1800;
    const late = await issue('c0ffee00-0000-4000-8000-0000000000aa');
    await service.verify(late, [AUD]);
    assert.equal(service.cachedTokens(), 6);
    mock.timers.tick(EXPIRED_SWEEP_MS);
    assert.equal(service.cachedTokens(), 6, 'none expired yet');
    // Past the first five's expiry (and the minute of clock skew allowed), not the last one's.
    t += 1800 + 61;
    mock.timers.tick(EXPIRED_SWEEP_MS);
    assert.equal(service.cachedTokens(), 1);
    assert.equal((await service.verify(late, [AUD])).objectId, 'c0ffee00-0000-4000-8000-0000000000aa');
  });
});
