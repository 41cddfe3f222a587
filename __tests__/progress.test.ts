/**
 * The client's progress output, with a fake clock and a fake stream: while disconnected it says
 * "reconnecting: attempt N, offline for X s" and shows no rate and no ETA; the ETA comes back
 * after the WELCOME, computed over connected time only.
 */
import { ProgressDisplay } from '../bin/progress';

/** Every display a test made; the bar's own redraw timer runs until finish(). */
const made: ProgressDisplay[] = [];
afterEach(() => made.splice(0).forEach((p) => p.finish()));

function display(tty: boolean) {
  let t = 1_000_000;
  const written: string[] = [];
  const stream = { isTTY: tty, columns: 80, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const p = new ProgressDisplay({ stream, now: () => t, lineEveryMs: 5000 });
  made.push(p);
  return {
    p,
    advance: (ms: number) => (t += ms),
    /**
     * What is on screen now: the last line, from its last return to the first column (a carriage
     * return, or the bar's cursor-to-column-1), without the terminal's control sequences.
     */
    last: () => {
      const lines = written.join('').split('\n').filter((l) => l !== '');
      const line = lines[lines.length - 1].split(/\r|\x1b\[1G/).pop()!;
      return line.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');
    },
    written,
  };
}

describe('plain lines (not a terminal)', () => {
  it('offline: attempt and offline time, every period, no rate, no ETA; the ETA returns after the WELCOME', () => {
    const d = display(false);
    d.p.start(100, 0);
    d.advance(10_000);
    d.p.update(40);
    expect(d.last()).toBe('progress: 40/100 (40.0%), 4.0 numbers/s, ETA 15s');
    const lost = d.written.length;
    d.p.offline(1);
    d.advance(5_000);
    d.p.tick();
    expect(d.last()).toBe('progress: 40/100 (40.0%), reconnecting: attempt 1, offline for 5 s');
    d.p.offline(2);
    d.advance(7_000);
    d.p.tick();
    expect(d.last()).toBe('progress: 40/100 (40.0%), reconnecting: attempt 2, offline for 12 s');
    d.advance(60_000);
    d.p.tick();
    expect(d.last()).toBe('progress: 40/100 (40.0%), reconnecting: attempt 2, offline for 1m12s');
    expect(d.written.length - lost).toBe(3);
    for (const line of d.written.slice(lost)) expect(line).not.toMatch(/ETA|numbers\/s/);
    // Back: the 72 s offline do not count, so the rate is still 4/s and the ETA 15 s.
    d.p.start(100, 40);
    expect(d.last()).toBe('progress: 40/100 (40.0%), 4.0 numbers/s, ETA 15s');
  });

  it('before any WELCOME nothing is drawn: each failed attempt has its own line', () => {
    const d = display(false);
    d.p.offline(1);
    d.advance(6_000);
    d.p.tick();
    d.p.finish();
    expect(d.written).toEqual([]);
  });

  it('gives up while offline: no last "reconnecting" line before the verdict', () => {
    const d = display(false);
    d.p.start(10, 0);
    d.p.offline(1);
    const before = d.written.length;
    d.advance(6_000);
    d.p.finish();
    expect(d.written.slice(before).join('')).not.toMatch(/reconnecting/);
  });
});

describe('the bar (a terminal)', () => {
  it('offline: the bar keeps the count and replaces rate and ETA with the reconnect state, redrawn by the clock', () => {
    const d = display(true);
    d.p.start(100, 0);
    d.advance(10_000);
    d.p.update(50);
    expect(d.last()).toMatch(/^\[#+-+\] 50\/100 50\.0% 5\.0\/s ETA 10s$/);
    d.p.offline(3);
    expect(d.last()).toMatch(/^\[#+-+\] 50\/100 50\.0% reconnecting: attempt 3, offline for 0 s$/);
    d.advance(2_500);
    d.p.tick();
    expect(d.last()).toMatch(/ 50\/100 50\.0% reconnecting: attempt 3, offline for 2 s$/);
    d.advance(1_000);
    d.p.start(100, 50);
    expect(d.last()).toMatch(/ 50\/100 50\.0% 5\.0\/s ETA 10s$/);
  });

  it('offline before any WELCOME: the reconnect state alone', () => {
    const d = display(true);
    d.p.offline(2);
    d.advance(3_000);
    d.p.tick();
    expect(d.last()).toBe('reconnecting: attempt 2, offline for 3 s');
  });
});
