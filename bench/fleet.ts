/**
 * Sessions opened by forked load generators against any address (a server, HAProxy), when a
 * workload needs more than bench/steady.ts's one fresh server: it tolerates a shortfall (and
 * says why) instead of failing, and its generators may reconnect like real clients.
 */
import { GeneratorProc } from './generators';
import type { GenConfig, GenReport } from './ipc';
import type { Plan } from './types';

export interface FleetOptions {
  host: string;
  port: number;
  sessions: number;
  intervalMs: number;
  /** Numbers per session (default: long enough that none ends during a measurement). */
  length?: number;
  reconnectCapMs?: number;
  /** Source address of generator k's connections, e.g. a 127.0.0.x each past one port's ~28,000. */
  localAddress?: (k: number) => string | undefined;
}

/** The generators' part of a run: its config, one source for steady runs and fleets. */
export function generatorConfig(host: string, port: number, connections: number, intervalMs: number, rampPerSec: number, length = 65535): GenConfig {
  return {
    host,
    port,
    connections,
    length,
    intervalMs,
    // BENCH_HEARTBEAT_MS: the generators' heartbeat interval (give the server a matching
    // --heartbeat-interval/--heartbeat-timeout through BENCH_SEQSTREAM_ARGS).
    heartbeatIntervalMs: Number(process.env.BENCH_HEARTBEAT_MS) || 2000,
    rampPerSec,
  };
}

export interface Fleet {
  gens: GeneratorProc[];
  /** Generators' errors while opening ("only X/Y sessions started"); empty when all opened. */
  errors: string[];
  reports(): Promise<GenReport[]>;
  close(): Promise<void>;
}

/** Opens `sessions` over ceil(sessions / plan.perGenerator) generators, each within its share of the ramp. */
export async function openFleet(o: FleetOptions, plan: Plan): Promise<Fleet> {
  const nGen = Math.max(1, Math.ceil(o.sessions / plan.perGenerator));
  const per = Math.ceil(o.sessions / nGen);
  const gens = Array.from({ length: nGen }, () => new GeneratorProc('seqstream'));
  const settled = await Promise.allSettled(
    gens.map((g, k) => {
      const cfg: GenConfig = {
        ...generatorConfig(o.host, o.port, Math.min(per, o.sessions - k * per), o.intervalMs, Math.ceil(plan.rampPerSec / nGen), o.length),
        localAddress: o.localAddress?.(k),
        reconnectCapMs: o.reconnectCapMs,
      };
      return g.send({ type: 'open', config: cfg });
    }),
  );
  // A generator's ramp that fell short resolves with its reason (bench/loadgen.ts): an error here as before.
  const errors = settled.flatMap((s, k) =>
    s.status === 'rejected'
      ? [`generator ${k + 1}: ${(s.reason as Error).message}`]
      : s.value.type === 'opened' && s.value.outcome?.shortfall
        ? [`generator ${k + 1}: ${s.value.outcome.shortfall}`]
        : [],
  );
  return {
    gens,
    errors,
    reports: () => Promise.all(gens.map((g) => g.report())),
    close: async () => {
      await Promise.all(gens.map((g) => g.close()));
    },
  };
}
