/** Cost against N for all three servers: the full plan's sizes and the chart (bench/chart.ts) drawn from a hand-made run. */
import { renderChart } from '../bench/chart';
import { PLANS } from '../bench/plans';
import { goodRun, seedRow } from './helpers/bench-results';

it('runs Socket.IO at every seed size in the full plan, and keeps the quick and smoke plans small', () => {
  expect(PLANS.full.socketIoSizes).toEqual(PLANS.full.seedSizes);
  expect(Math.max(...PLANS.full.socketIoSizes)).toBe(19500);
  expect(Math.max(...PLANS.quick.seedSizes, ...PLANS.quick.socketIoSizes)).toBeLessThanOrEqual(1000);
  expect(Math.max(...PLANS.smoke.seedSizes, ...PLANS.smoke.socketIoSizes)).toBeLessThanOrEqual(20);
});

it('draws CPU, RSS per session and p99 against N, one line per server, a size not reached hollow with a note', () => {
  const r = goodRun();
  r.seed.push(seedRow('socketio', 10000, 50, 38), seedRow('socketio', 19500, 60, 36, { reached: 9552, shortfall: 'only 9552/9750 Socket.IO sessions started' }));
  const svg = renderChart(r);
  expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  expect(svg).toContain('>server CPU (1 number/s per session)</text>');
  expect(svg).toContain('>server RSS per session</text>');
  expect(svg).toContain('>p99 lateness</text>');
  // Three panels × three servers: a line each (Socket.IO's through its two reached sizes only).
  const lines = svg.match(/<polyline [^>]+>/g)!;
  expect(lines).toHaveLength(9);
  expect(lines.filter((l) => l.includes('#d62728')).every((l) => l.match(/points="([^"]+)"/)![1].split(' ').length === 2)).toBe(true);
  // The short size: hollow, once per panel, and named.
  expect(svg.match(/<circle [^>]*fill="white"[^>]*class="short"/g)).toHaveLength(3);
  expect(svg).toContain('hollow: not reached, drawn at the sessions that started — socketio 9552/19500');
  expect(renderChart(goodRun())).not.toContain('hollow');
});
