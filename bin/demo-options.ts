/**
 * The demos' three options (`--clients`, `--length`, `--interval`), parsed the same way for the
 * single-process demo and the cluster demo: whole numbers ≥ 1, a length that leaves a third to
 * stream before the fault, and each demo's own defaults and limits.
 */
import { MAX_LENGTH } from '../transport/protocol/constants';

export interface DemoOptions {
  clients: number;
  length: number;
  interval: number;
}

export interface DemoLimits {
  defaults: DemoOptions;
  minLength: number;
  maxClients?: number;
  /** The fault a third of the numbers come before ("the outage", "the kill"). */
  fault: string;
}

/** The options, 'help', or an error message for exit status 2. */
export function parseDemoOptions(argv: readonly string[], limits: DemoLimits): DemoOptions | 'help' | string {
  const opts: DemoOptions = { ...limits.defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return 'help';
    const key = a.replace(/^--/, '') as keyof DemoOptions;
    if (!a.startsWith('--') || !Object.hasOwn(opts, key)) return `unknown argument ${a}`;
    const v = Number(argv[++i]);
    if (!Number.isInteger(v) || v < 1) return `--${key} needs a whole number ≥ 1`;
    opts[key] = v;
  }
  if (opts.length > MAX_LENGTH) return `--length must be at most ${MAX_LENGTH}`;
  if (opts.length < limits.minLength) return `--length must be at least ${limits.minLength}: a third is streamed before ${limits.fault}, the rest after`;
  if (limits.maxClients !== undefined && opts.clients > limits.maxClients) return `--clients must be at most ${limits.maxClients}`;
  return opts;
}
