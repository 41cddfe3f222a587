/**
 * The chaos soak: 100+ real clients through the fault proxy under a seeded schedule mixing cut,
 * reset, freeze, latency and slicer. Every client must end with exactly the sequence its
 * session's seed defines (checked against the server's seed, not the client's checksum alone),
 * and the server must hold no session afterwards. The seed is printed; a failure names it.
 *
 * SOAK_SEED=n npm test -- chaos.soak   replays a run.
 */
import { randomInt } from 'node:crypto';
import { ChaosSchedule, parseChaosKinds } from '../proxy/chaos';
import { formatReport, runSoak, SOAK_TEST_DEFAULTS } from '../soak/soak';

describe('chaos schedule', () => {
  const target = (n: number) => ({ connections: () => Array.from({ length: n }, (_, i) => ({ id: i + 1 })), addFault: () => undefined });
  const opts = { kinds: parseChaosKinds('all'), meanGapMs: 100, maxDurationMs: 1000 };

  test('the same seed draws the same faults; another seed does not', () => {
    const a = new ChaosSchedule(target(5), { ...opts, seed: 7 });
    const b = new ChaosSchedule(target(5), { ...opts, seed: 7 });
    const c = new ChaosSchedule(target(5), { ...opts, seed: 8 });
    const draws = (s: ChaosSchedule) => Array.from({ length: 50 }, () => s.draw());
    const da = draws(a);
    expect(draws(b)).toEqual(da);
    expect(draws(c)).not.toEqual(da);
    // The draws cover the whole chosen set, and each is a fault the proxy accepts.
    expect(new Set(da.map((d) => d.kind)).size).toBeGreaterThanOrEqual(6);
  });

  test('an unknown kind in --chaos is refused by name', () => {
    expect(() => parseChaosKinds('cut,explode')).toThrow(/unknown fault kind "explode"/);
    expect(parseChaosKinds('cut, freeze')).toEqual(['cut', 'freeze']);
  });
});

test('chaos soak: every client gets its exact sequence through cut, reset, freeze, latency and slicer', async () => {
  const seed = Number(process.env.SOAK_SEED) || randomInt(1, 2 ** 32 - 1);
  process.stdout.write(`chaos soak seed ${seed} (replay: SOAK_SEED=${seed} npm test -- chaos.soak)\n`);
  const report = await runSoak({ ...SOAK_TEST_DEFAULTS, seed });
  const summary = formatReport(report);
  process.stdout.write(summary + '\n');
  if (report.problems.length || report.timedOut || report.sessionsLeftOnServer) {
    throw new Error(`chaos soak failed with seed ${seed} (replay: SOAK_SEED=${seed} npm test -- chaos.soak)\n${summary}`);
  }
  expect(report.clientsStarted).toBe(SOAK_TEST_DEFAULTS.clients);
  expect(report.clientsVerified).toBe(SOAK_TEST_DEFAULTS.clients);
  expect(report.lost + report.duplicated + report.wrongValues).toBe(0);
  expect(report.sessionsLeftOnServer).toBe(0);
  // The schedule really disturbed the run: faults of several kinds, and reconnects.
  expect(Object.keys(report.faultsInjected).length).toBeGreaterThanOrEqual(3);
  expect(report.reconnects).toBeGreaterThan(0);
}, 60_000);
