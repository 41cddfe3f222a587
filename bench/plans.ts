/**
 * The benchmark's plans (sizes and durations per mode) and its command line: what to run and
 * where to write it. The runner's entry point reads these and nothing else about the argv.
 */
import path from 'node:path';
import type { Plan } from './types';

/** The full run's sizes, for all three servers: cost against N is drawn per server (a size Socket.IO cannot reach is reported as short, not a crash). */
const FULL_SIZES = [1000, 5000, 10000, 19500];

export const PLANS: Record<Plan['mode'], Plan> = {
  full: {
    mode: 'full',
    seedSizes: FULL_SIZES,
    socketIoSizes: FULL_SIZES,
    inspectorSizes: [10000],
    throughputSessions: 1000,
    throughputIntervals: [100, 50, 20, 10, 5, 2, 1],
    stormSessions: 10000,
    warmupMs: 4000,
    measureMs: 15000,
    rampPerSec: 3000,
    perGenerator: 10000,
    scaleoutSessions: 10000,
    failoverPerNode: 3000,
    workersSessions: 39000,
  },
  quick: {
    mode: 'quick',
    seedSizes: [200, 1000],
    socketIoSizes: [200],
    inspectorSizes: [1000],
    throughputSessions: 200,
    throughputIntervals: [50, 20, 10, 5, 2, 1],
    stormSessions: 1000,
    warmupMs: 1500,
    measureMs: 4000,
    rampPerSec: 3000,
    perGenerator: 10000,
    scaleoutSessions: 1000,
    failoverPerNode: 300,
    workersSessions: 2000,
  },
  smoke: {
    mode: 'smoke',
    seedSizes: [20],
    socketIoSizes: [20],
    inspectorSizes: [20],
    throughputSessions: 20,
    throughputIntervals: [20],
    stormSessions: 20,
    warmupMs: 300,
    measureMs: 1200,
    rampPerSec: 1000,
    perGenerator: 10000,
    scaleoutSessions: 20,
    failoverPerNode: 10,
    workersSessions: 40,
  },
};

export const USAGE = `Usage: npm run bench -- [--quick | --smoke] [--out DIR] [--only seed,socketio,throughput,storm,inspector,scaleout] [--sizes N,N]\n\nRuns the seed workload, the throughput ceiling and the reconnect storm against seqstream,\nthe bare Node.js floor and Socket.IO with connection state recovery, the live inspector's\ncost (on against off), and the scale-out (Redis store against memory, a storm through Redis,\na node SIGKILLed behind HAProxy, --workers 2; needs redis-server and haproxy); writes results.json,\nresults.md and chart.svg.\n`;

/** `help` when --help was asked for; otherwise the plan for the mode, narrowed by the flags, and the output folder. */
export function parseBenchArgs(argv: string[]): 'help' | { plan: Plan; out: string } {
  if (argv.includes('--help')) return 'help';
  const mode: Plan['mode'] = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full';
  const outIdx = argv.indexOf('--out');
  const onlyIdx = argv.indexOf('--only');
  const sizesIdx = argv.indexOf('--sizes');
  const plan: Plan = { ...PLANS[mode] };
  if (onlyIdx >= 0) plan.only = argv[onlyIdx + 1].split(',') as Plan['only'];
  if (sizesIdx >= 0) plan.seedSizes = plan.socketIoSizes = argv[sizesIdx + 1].split(',').map(Number);
  // Compiled to dist/bench/: the source tree's bench/results is two levels up.
  const out = outIdx >= 0 ? path.resolve(argv[outIdx + 1]) : path.join(__dirname, '..', '..', 'bench', 'results', mode === 'full' ? '' : mode);
  return { plan, out };
}
