#!/usr/bin/env node
/**
 * `npm run soak -- --clients N --minutes M`: the long chaos soak (not part of CI). Keeps N
 * clients streaming through the fault proxy for M minutes, starting a new client whenever one
 * finishes, and reports clients finished, faults by kind, reconnects, the longest
 * loss-to-resume time and any loss or duplication. Exit code 0 only when everything verified.
 */
import { randomInt } from 'node:crypto';
import { parseChaosKinds } from '../proxy/chaos';
import { formatReport, runSoak, SOAK_TEST_DEFAULTS } from './soak';

const HELP = `Usage: npm run soak -- [options]

Runs a server, the fault proxy with a seeded chaos schedule and many clients through it; checks
every client's numbers against the seed the server drew for its session.

Options:
  --clients N         clients streaming at once                      [default 200]
  --minutes M         keep starting clients for this long (decimals ok) [default 1]
  --seed S            chaos seed, to replay a run                    [default: random, printed]
  --kinds LIST        fault kinds, comma-separated, or "all"          [default all]
  --interval MS       time between two numbers of a session          [default 10]
  --min-length N      shortest sequence a client asks for            [default 200]
  --max-length N      longest sequence a client asks for             [default 2000]
  --gap MS            mean time between two faults                   [default 500]
  --max-fault MS      longest a fault lasts (keep under the window)  [default 3000]
  --window MS         server reconnect window                        [default 10000]
  --help              this help
`;

function fail(message: string): never {
  process.stderr.write(`soak: ${message}\nTry 'npm run soak -- --help'.\n`);
  process.exit(2);
}

function main(argv: string[]): void {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(HELP);
      return;
    }
    if (!a.startsWith('--')) fail(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const key = a.slice(2, eq < 0 ? undefined : eq);
    const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
    if (value === undefined) fail(`--${key} needs a value`);
    args.set(key, value);
  }
  const known = ['clients', 'minutes', 'seed', 'kinds', 'interval', 'min-length', 'max-length', 'gap', 'max-fault', 'window'];
  for (const k of args.keys()) if (!known.includes(k)) fail(`unknown option --${k}`);
  const num = (key: string, def: number, min: number, max: number): number => {
    const raw = args.get(key);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) fail(`--${key} must be a number in ${min}..${max}, got "${raw}"`);
    return n;
  };
  const clients = Math.round(num('clients', 200, 1, 9000));
  const minutes = num('minutes', 1, 0.01, 24 * 60);
  const seed = Math.round(num('seed', 0, 0, 2 ** 32 - 1)) || randomInt(1, 2 ** 32 - 1);
  const minLength = Math.round(num('min-length', 200, 1, 65535));
  const maxLength = Math.round(num('max-length', 2000, minLength, 65535));
  const windowMs = Math.round(num('window', 10_000, 100, 3_600_000));
  const maxFault = Math.round(num('max-fault', 3000, 1, windowMs));
  let kinds;
  try {
    kinds = parseChaosKinds(args.get('kinds') ?? 'all');
  } catch (err) {
    fail((err as Error).message);
  }
  const durationMs = minutes * 60_000;
  const intervalMs = Math.round(num('interval', 10, 1, 60_000));
  process.stderr.write(`soak: ${clients} clients for ${minutes} min, faults ${kinds.join(', ')}, seed ${seed}\n`);
  runSoak({
    ...SOAK_TEST_DEFAULTS,
    clients,
    durationMs,
    minLength,
    maxLength,
    intervalMs,
    heartbeatIntervalMs: 250,
    heartbeatTimeoutMs: 1000,
    reconnectWindowMs: windowMs,
    kinds,
    seed,
    chaosGapMs: Math.round(num('gap', 500, 1, 3_600_000)),
    chaosMaxDurationMs: maxFault,
    // The last clients started may need their whole length plus faults after the deadline.
    timeoutMs: durationMs + maxLength * intervalMs * 4 + windowMs * 2 + 60_000,
    onProgress: (p) =>
      process.stderr.write(
        `  ${(p.elapsedMs / 1000).toFixed(0)} s: ${p.finished} finished, ${p.running} running, ${p.reconnects} reconnects, faults ${Object.entries(p.faults).map(([k, n]) => `${k} ${n}`).join(' ') || 'none'}\n`,
      ),
  })
    .then((report) => {
      process.stdout.write(formatReport(report) + '\n');
      const ok = !report.timedOut && report.problems.length === 0 && report.clientsVerified === report.clientsStarted && report.sessionsLeftOnServer === 0;
      process.stdout.write(ok ? 'SOAK PASSED: every client got its exact sequence\n' : `SOAK FAILED (replay with --seed ${report.seed})\n`);
      process.exit(ok ? 0 : 1);
    })
    .catch((err: Error) => {
      process.stderr.write(`soak: ${err.stack ?? err.message}\n`);
      process.exit(1);
    });
}

main(process.argv.slice(2));
