import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { heldRead, HeldRowsMovingError } from '../src/storage/postgres/pg-authorization-digest.js';
import { isDatabaseUnavailable } from '../src/storage/store-errors.js';

// A cluster member reads a vault row whose seal its held set does not have
// yet: it reloads the set (at most once a second) and reads again. Another
// member changing the row faster than that (a scale-out probe: 37 access
// policy changes a second) left every re-read newer than the last reload, and
// the row was then refused as put back outside coffer: a 500, and a tamper
// alarm in the log. Rows still moving past the set now fail the request as a
// serialization failure (503, retried); a row not held while nothing moved is
// still refused where it is used.

const row = (mac: string) => ({ mac });

describe('reads of held rows', () => {
  it('returns the rows once their seal is held, reading again meanwhile', async () => {
    let reads = 0;
    const found = await heldRead('vaults', async (_kind, macs) => macs[0] === 'm2', async () => [row(`m${++reads}`)], () => true);
    assert.deepEqual(found, [row('m2')]);
  });

  it('rows still not held while other members write: a retryable refusal, the row unused', async () => {
    let reads = 0;
    const read = heldRead('vaults', async () => false, async () => [row(`m${++reads}`)], () => true);
    await assert.rejects(read, (err: Error) => err instanceof HeldRowsMovingError && isDatabaseUnavailable(err));
    assert.equal(reads, 3, 'read again twice before giving up');
  });

  it('rows not held while nothing moved: returned to be refused where they are used (a row put back)', async () => {
    const found = await heldRead('key credentials', async () => false, async () => [row('planted')], () => false);
    assert.deepEqual(found, [row('planted')]);
  });
});
