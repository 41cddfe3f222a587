/**
 * A session store with its lifecycle operations timed for /metrics, and nothing else changed.
 *
 * A Proxy rather than a class implementing SessionStore: everything not timed — `shared`,
 * `description`, `inspect`, `counts`, `onTakeover`, `close`, and whatever a given store adds
 * (a Redis store's `available` getter, its EventEmitter `on`/`off` for 'unavailable' and
 * 'available') — reaches the real store unchanged, so the wrapper cannot fall behind the
 * contract or hide a store's extras. Methods run with the real store as `this` (private fields
 * and getters work); one that returns the store itself (an emitter's `on`) returns the wrapper,
 * so chaining stays on it.
 */
import type { Counter, Histogram } from 'prom-client';
import type { SessionStore } from './session-store';

/** The timed operations (the contract's writes and claim). */
const TIMED = new Set<string | symbol>(['create', 'claim', 'suspend', 'complete', 'expire']);

/** Where the observations go (a ServerMetrics has both). */
export interface StoreInstruments {
  readonly storeLatency: Pick<Histogram<'op'>, 'observe'>;
  readonly storeErrors: Pick<Counter<'op'>, 'inc'>;
}

export function instrumentStore<S extends SessionStore>(store: S, metrics: StoreInstruments): S {
  const timed = new Map<string | symbol, (...args: unknown[]) => unknown>();
  const proxy: S = new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (TIMED.has(prop)) {
        let fn = timed.get(prop);
        if (!fn) timed.set(prop, (fn = timeOp(String(prop), value as (...args: unknown[]) => unknown, target, metrics)));
        return fn;
      }
      return function (this: unknown, ...args: unknown[]) {
        const result: unknown = Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
        return result === target ? proxy : result;
      };
    },
  });
  return proxy;
}

/** The operation as it was (same value, same error, same promise behaviour), observed once. */
function timeOp(op: string, fn: (...args: unknown[]) => unknown, target: object, metrics: StoreInstruments) {
  return (...args: unknown[]): unknown => {
    const started = performance.now();
    const done = (failed: boolean) => {
      metrics.storeLatency.observe({ op }, (performance.now() - started) / 1000);
      if (failed) metrics.storeErrors.inc({ op });
    };
    let result: unknown;
    try {
      result = Reflect.apply(fn, target, args);
    } catch (err) {
      done(true);
      throw err;
    }
    if (!(result instanceof Promise)) {
      done(false);
      return result;
    }
    return result.then(
      (value) => {
        done(false);
        return value;
      },
      (err: unknown) => {
        done(true);
        throw err;
      },
    );
  };
}
