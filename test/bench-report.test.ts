import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Row } from '../bench/context.js';
import { evaluate, fastBaselines } from '../bench/report.js';

// The bench's judgement of its targets (bench/report.ts): the "within 10 %"
// comparisons (each many-side measurement against the few-side ones around
// it, the median change of req/s decides) and the ratio targets.

const row = (key: string, rps: number, serverCpuUs: number | null = 200, note = ''): Row => ({
  key,
  scenario: key,
  connections: 16,
  rps,
  p50: 1,
  p99: 2,
  ratio: null,
  rssMb: 100,
  serverCpuPercent: 100,
  serverCpuUs,
  loadgenCpuPercent: 30,
  otherCpuPercent: 0,
  note,
});

const policies = (rows: Row[]) => {
  const t = evaluate(rows, [], { bigCount: 100_000, assignments: 10_000, cores: 2 }).find((x) => x.target.includes('1,024 access policies'));
  assert.ok(t);
  return t;
};

test('each measurement of the many side is compared with the few-side ones around it: a steady drift of the machine cancels', () => {
  // The machine slows down through the comparison; coffer's cost is the same on both sides.
  const drifting = policies([
    row('ap@10', 5000),
    row('ap@1024', 4400),
    row('ap@10', 3800),
    row('ap@1024', 3300),
    row('ap@10', 2800),
    row('ap@1024', 2300),
    row('ap@10', 1800),
  ]);
  assert.equal(drifting.pass, true, 'compared with the measurement before it alone, each would read -12 % or worse');
  assert.match(drifting.measured, /\(\+0 %, median of 3 comparisons: \+0 %, \+0 %, \+0 %/);

  const costly = policies([row('ap@10', 5000), row('ap@1024', 4250), row('ap@10', 5000), row('ap@1024', 4250), row('ap@10', 5000), row('ap@1024', 4250), row('ap@10', 5000)]);
  assert.equal(costly.pass, false, 'a real -15 % fails');
});

test('the median comparison decides, not the best or the worst', () => {
  const rows = [row('ap@10', 5000), row('ap@1024', 4000), row('ap@10', 5000), row('ap@1024', 4750), row('ap@10', 5000), row('ap@1024', 5100), row('ap@10', 5000)];
  const t = policies(rows);
  assert.equal(t.pass, true);
  assert.match(t.measured, /^4,750 vs 5,000 req\/s \(-5 %, median of 3 comparisons: -20 %, -5 %, \+2 %/);
  const worse = policies(rows.map((r) => (r.rps === 4750 ? { ...r, rps: 4400 } : r)));
  assert.equal(worse.pass, false, 'median -12 % fails');
});

test('the few-side measurements nearest in time are used: the one before alone at the end, the last one when the sides were measured in a row', () => {
  const last = policies([row('ap@10', 1000), row('ap@1024', 950)]);
  assert.equal(last.pass, true);
  assert.match(last.measured, /^950 vs 1,000 req\/s \(-5 %/);
  // PostgreSQL's order (no data-dir snapshots): every many-side measurement after all of the few side.
  const inARow = policies([row('ap@10', 3000), row('ap@10', 2000), row('ap@1024', 1900), row('ap@1024', 1800)]);
  assert.match(inARow.measured, /\(-7\.5 %, median of 2 comparisons: -5 %, -10 %/);
  const between = policies([row('ap@10', 1000), row('ap@1024', 950), row('ap@10', 2000)]);
  assert.equal(between.pass, false, 'against the mean of 1,000 and 2,000');
});

test('server CPU per request is compared the same way', () => {
  const t = policies([row('ap@10', 1000, 200), row('ap@1024', 1000, 231), row('ap@10', 1000, 220)]);
  assert.match(t.measured, /server CPU per request \+10 %/);
  const unknown = policies([row('ap@10', 1000, null), row('ap@1024', 1000, 230)]);
  assert.doesNotMatch(unknown.measured, /server CPU/);
});

test('a measurement with failed requests fails the comparison; a missing side is not measured', () => {
  assert.equal(policies([row('ap@10', 1000), row('ap@1024', 1000, 200, '3 non-2xx')]).pass, false);
  const missing = policies([row('ap@10', 1000)]);
  assert.equal(missing.pass, null);
  assert.equal(missing.measured, 'not measured');
});

test('GET and SET against the baseline: the median of the rounds decides', () => {
  const withRatio = (key: string, rps: number, ratio: number, note = '') => ({ ...row(key, rps, 200, note), connections: 64, ratio });
  const targets = (rows: Row[]) => evaluate(rows, [], { bigCount: 100_000, assignments: 10_000, cores: 2 });
  const set = (rows: Row[]) => targets(rows).find((t) => t.target.startsWith('durable SET'))!;
  // 0.22, 0.26, 0.31: the median passes 0.25 although one round does not.
  const rounds = [withRatio('set@64', 4400, 0.22), withRatio('set@64', 5200, 0.26), withRatio('set@64', 4650, 0.31)];
  assert.equal(set(rounds).pass, true);
  assert.match(set(rounds).measured, /^0\.26× \(4,650 req\/s, median of 3 rounds: 0\.22×, 0\.26×, 0\.31×\)/);
  assert.equal(set([withRatio('set@64', 4400, 0.22), withRatio('set@64', 5200, 0.24), withRatio('set@64', 4650, 0.31)]).pass, false);
  assert.equal(set([...rounds.slice(0, 2), withRatio('set@64', 4650, 0.31, '1 non-2xx')]).pass, false, 'failed requests fail it');
  assert.equal(set([row('set@64', 4000)]).pass, null, 'no baseline ratio: not measured');
  const get = targets([withRatio('get@64', 7000, 0.3)]).find((t) => t.target.startsWith('GET secret at 64'))!;
  assert.equal(get.pass, false);
  assert.equal(get.measured, '0.3× (7,000 req/s)');
});

test('a ratio target states the ratio its rounds could reach with every core busy at their CPU per request', () => {
  const at64 = (key: string, rps: number, ratio: number | null, serverCpuUs: number | null, loadgenCpuPercent: number): Row => ({
    ...row(key, rps, serverCpuUs),
    connections: 64,
    ratio,
    loadgenCpuPercent,
  });
  const get = (rows: Row[]) => evaluate(rows, [], { bigCount: 100_000, assignments: 10_000, cores: 2 }).find((t) => t.target.startsWith('GET secret at 64'))!;
  // Load generator: 40 % of a core at 8,000 req/s is 50 µs a request; with 130 µs of server, 2 cores do 11,111 req/s: 0.56× of 20,000.
  const rounds = [at64('baseline@64', 20_000, null, 35, 100), at64('get@64', 8000, 0.4, 130, 40)];
  assert.match(get(rounds).measured, /; at most 0\.56× with all 2 cores busy at this CPU per request\)/);
  // Each round against its own baseline: the second round's ceiling is 2e6 / (200 + 50) / 16,000 = 0.5×; the median of 0.56 and 0.5 is 0.53.
  const two = [...rounds, at64('baseline@64', 16_000, null, 35, 100), at64('get@64', 4000, 0.25, 200, 20)];
  assert.match(get(two).measured, /at most 0\.53×/);
  assert.doesNotMatch(get([rounds[0]!, at64('get@64', 8000, 0.4, null, 40)]).measured, /at most/, 'no server CPU: no ceiling');
});

test('a round whose baseline met a slow phase of the load generator is shown, not judged', () => {
  const at64 = (key: string, rps: number, ratio: number | null = null): Row => ({ ...row(key, rps), connections: 64, ratio });
  const set = (rows: Row[]) => evaluate(rows, [], { bigCount: 100_000, assignments: 10_000, cores: 2 }).find((t) => t.target.startsWith('durable SET'))!;
  // Session 9's first run: two of three baselines at 59 % of the third flattered SET to 0.29× and 0.35×; its fast round says 0.16×.
  const rounds = [
    ...[at64('baseline@64', 13_953), at64('set@64', 4037, 0.29)],
    ...[at64('baseline@64', 13_938), at64('set@64', 4873, 0.35)],
    ...[at64('baseline@64', 23_781), at64('set@64', 3906, 0.16)],
  ];
  assert.equal(set(rounds).pass, false);
  assert.match(set(rounds).measured, /^0\.16× \(3,906 req\/s; not judged: 0\.29× against 13,953 req\/s, 0\.35× against 13,938 req\/s, baselines below 80 % of the fastest \(23,781 req\/s\)/);
  // Within 80 % of the fastest, every round counts: 0.27, 0.26 and 0.24 give 0.26.
  const close = [at64('baseline@64', 19_100), at64('set@64', 5100, 0.27), at64('baseline@64', 20_000), at64('set@64', 5200, 0.26), at64('baseline@64', 23_800), at64('set@64', 5700, 0.24)];
  assert.equal(set(close).pass, true);
  assert.match(set(close).measured, /^0\.26× \(5,200 req\/s, median of 3 rounds: 0\.27×, 0\.26×, 0\.24×/);
});

test('the bench measures more rounds while fewer than it asked for are out of slow phases', () => {
  assert.equal(fastBaselines([13_953, 13_938, 23_781]), 1);
  assert.equal(fastBaselines([19_100, 20_000, 23_800]), 3);
  assert.equal(fastBaselines([23_800, 19_000]), 1, 'just below 80 %');
  assert.equal(fastBaselines([]), 0);
});
