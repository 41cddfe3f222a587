/**
 * Lifecycle lines during a burst: the first `perSecond` of a second in full, the rest of that
 * second as one summary with counts by kind; nothing lost in the accounting, every line at debug.
 */
import { BurstLog } from '../core/burst-log';
import { capturingLogger } from './helpers/log';

it('a burst of 1,000 resumes in one second: 50 full lines and one summary of the other 950', () => {
  const { logger, lines } = capturingLogger();
  let t = 10_000;
  const log = new BurstLog(logger, 50, () => t);
  for (let i = 0; i < 1000; i++) log.line(i % 10 === 0 ? 'suspended' : 'resumed', `resumed at index ${i}`, { session: 's' });
  expect(lines).toHaveLength(50);
  log.flush();
  expect(lines).toHaveLength(51);
  expect(lines[50]).toBe('lifecycle burst, not logged one by one (over 50 lines a second; each at debug): 95 suspended, 855 resumed');
  // A new second starts afresh: full lines again.
  t += 1000;
  log.line('complete', 'complete after 1 reconnect(s)', {});
  expect(lines.at(-1)).toBe('complete after 1 reconnect(s)');
  log.flush(); // nothing counted: no summary
  expect(lines).toHaveLength(52);
});

it('the summary comes by itself when the burst second ends', async () => {
  const { logger, lines } = capturingLogger();
  const log = new BurstLog(logger, 2);
  for (let i = 0; i < 5; i++) log.line('new', `new session ${i}`, {});
  expect(lines).toHaveLength(2);
  const deadline = Date.now() + 3000;
  while (lines.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(lines[2]).toMatch(/^lifecycle burst, not logged one by one \(over 2 lines a second; each at debug\): 3 new$/);
});

it('at debug every per-session line is written as well', () => {
  const { logger, lines } = capturingLogger();
  logger.level = 'debug';
  const log = new BurstLog(logger, 1, () => 0);
  for (let i = 0; i < 4; i++) log.line('resumed', `line ${i}`, {});
  log.flush();
  expect(lines.slice(0, 4)).toEqual(['line 0', 'line 1', 'line 2', 'line 3']);
  expect(lines[4]).toMatch(/: 3 resumed$/);
});
