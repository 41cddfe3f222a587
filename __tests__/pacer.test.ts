import { Pacer, type PacerClock } from '../transport/server/pacer';

/** A manual clock: timers fire only when the test advances time. */
class ManualClock implements PacerClock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(id: unknown) {
    this.timers.delete(id as number);
  }
  get pending() {
    return this.timers.size;
  }
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}

describe('Pacer', () => {
  it('ticks each entry once per interval, first tick on the next turn, with one timer for all', () => {
    const clock = new ManualClock();
    const ticks: [string, number][] = [];
    const pacer = new Pacer<string>(100, (s) => (ticks.push([s, clock.t]), true), clock);
    pacer.add('a');
    clock.advance(30);
    pacer.add('b');
    expect(clock.pending).toBe(2); // a's next tick, b's start batch
    clock.advance(0);
    expect(ticks).toEqual([
      ['a', 0],
      ['b', 30],
    ]);
    expect(clock.pending).toBe(1);
    clock.advance(270);
    expect(ticks).toEqual([
      ['a', 0],
      ['b', 30],
      ['a', 100],
      ['b', 130],
      ['a', 200],
      ['b', 230],
      ['a', 300],
    ]);
    expect(pacer.size).toBe(2);
  });

  it('stops an entry when onTick returns false or when removed, and leaves no timer', () => {
    const clock = new ManualClock();
    let n = 0;
    const pacer = new Pacer<string>(10, (s) => (s === 'three' ? ++n < 3 : true), clock);
    const three = pacer.add('three');
    const forever = pacer.add('forever');
    clock.advance(100);
    expect(n).toBe(3);
    expect(three.active).toBe(false);
    expect(pacer.size).toBe(1);
    pacer.remove(forever);
    expect(pacer.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('keeps the schedule when it falls behind (catches up instead of drifting)', () => {
    const clock = new ManualClock();
    const at: number[] = [];
    const pacer = new Pacer<string>(10, () => (at.push(clock.t), at.length < 5), clock);
    pacer.add('x');
    clock.advance(0);
    clock.t = 35; // the event loop was blocked for 35 ms
    clock.advance(0);
    expect(at.length).toBe(4); // due at 0, 10, 20, 30: all sent, none skipped
    clock.advance(5);
    expect(at).toHaveLength(5);
    expect(at[4]).toBe(40);
  });

  it('a throwing tick stops only its own entry', () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const seen: string[] = [];
    const pacer = new Pacer<string>(
      10,
      (s) => {
        seen.push(s);
        if (s === 'bad') throw new Error('boom');
        return true;
      },
      clock,
      (e) => errors.push(e),
    );
    pacer.add('bad');
    pacer.add('good');
    clock.advance(25);
    expect(errors).toHaveLength(1);
    expect(seen.filter((s) => s === 'good')).toHaveLength(3);
    expect(pacer.size).toBe(1);
  });

  it('stays sorted across thousands of entries added at different times', () => {
    const clock = new ManualClock();
    const last = new Map<number, number>();
    let disorder = 0;
    const pacer = new Pacer<number>(
      50,
      (k) => {
        const prev = last.get(k);
        if (prev !== undefined && clock.t - prev !== 50) disorder++;
        last.set(k, clock.t);
        return true;
      },
      clock,
    );
    for (let k = 0; k < 3000; k++) {
      pacer.add(k);
      clock.advance(k % 7);
    }
    clock.advance(500);
    expect(disorder).toBe(0);
    expect(pacer.size).toBe(3000);
  });
});
