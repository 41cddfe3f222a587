/**
 * The throughput ceiling's rule (bench/workloads/throughput.ts) judges what the server controls,
 * at bounds above the noise of generators sharing two cores with it. The steps below are real
 * ones from `npm run bench -- --quick` on this machine.
 */
import { ceilingFailure, DELIVERED_SHARE, LOOP_P99_BOUND_MS } from '../bench/workloads/throughput';

const step = (o: Partial<Parameters<typeof ceilingFailure>[0]> = {}) => ({
  offeredPerSec: 20000,
  numbersPerSec: 20195,
  serverLoopP99Ms: 9.2,
  loss: 0,
  dup: 0,
  badValues: 0,
  connectedAtEnd: 200,
  sessions: 200,
  ...o,
});

it('keeps a step that delivered everything with the server loop well under its bound, however late the clients saw it', () => {
  // seqstream, 200 sessions every 10 ms: client p99 14.98 ms — 150 % of the interval, which the
  // old rule (p99 ≤ 10 % of the interval) counted as past the ceiling.
  expect(ceilingFailure(step())).toBe('');
});

it('breaks on anything lost, duplicated or wrong, or a dropped session', () => {
  expect(ceilingFailure(step({ loss: 1 }))).toMatch(/lost 1/);
  expect(ceilingFailure(step({ dup: 2 }))).toMatch(/dup 2/);
  expect(ceilingFailure(step({ badValues: 1 }))).toMatch(/wrong 1/);
  expect(ceilingFailure(step({ connectedAtEnd: 199 }))).toMatch(/1 session\(s\) dropped/);
});

it('breaks when the server falls behind the offered rate', () => {
  expect(ceilingFailure(step({ numbersPerSec: DELIVERED_SHARE * 20000 }))).toBe('');
  expect(ceilingFailure(step({ numbersPerSec: DELIVERED_SHARE * 20000 - 1 }))).toMatch(/delivered 95 % of offered/);
});

it('breaks when the server loop p99 passes its absolute bound, or is unknown', () => {
  expect(ceilingFailure(step({ serverLoopP99Ms: LOOP_P99_BOUND_MS }))).toBe('');
  expect(ceilingFailure(step({ serverLoopP99Ms: LOOP_P99_BOUND_MS + 0.1 }))).toMatch(/server loop p99 50\.1 ms > 50 ms/);
  expect(ceilingFailure(step({ serverLoopP99Ms: null }))).toMatch(/not reported/);
});
