/**
 * The server's settings: what SeqServer's constructor takes (bin/server.ts fills it from the
 * config table, tests from FAST timings), and the admission limits' defaults.
 */
import { DEFAULTS } from '../../core/config';
import type { Logger } from '../../core/logger';
import type { AdmissionLimits } from './admission';
import type { ServerTls } from '../tls-files';
import type { SessionStore } from './store/session-store';
import type { RegistryOptions } from './session-registry';

export interface ServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  intervalMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  reconnectWindowMs: number;
  handshakeTimeoutMs: number;
  maxSessions: number;
  maxWriteBuffer: number;
  /** Serve TLS with this certificate (same framing inside); absent: cleartext TCP. */
  tls?: ServerTls | null;
  logger?: Logger;
  store?: SessionStore;
  /** Clock and inspection for the session actors (tests, the inspector). */
  actors?: RegistryOptions;
  /**
   * Retire a streaming session's actor while the pacer watches it (default true; session-runtime.ts
   * says when it applies). Off keeps every actor in memory, as an inspected server does.
   */
  passivate?: boolean;
  /** Per-source limits and the open-file reserve; each missing one is the config table's default. */
  admission?: Partial<AdmissionLimits>;
  /** The open-file limit to plan for; by default the process's own (null: none known). */
  openFileLimit?: number | null;
  /** Messages per second one connection may send, after a burst of twice as many (0: no limit). */
  maxMessagesPerSecond?: number;
  /** Per-session lifecycle lines a second before the rest of the second is summarised. */
  logBurstPerSecond?: number;
  /** Repeated warnings from one source are logged once per this period, with a count. */
  logRepeatPeriodMs?: number;
}

/** The config table's defaults for the admission limits (one source of truth). */
export const DEFAULT_ADMISSION: AdmissionLimits = {
  sessionsPerSource: DEFAULTS.maxSessionsPerSource,
  newSessionsPerSecond: DEFAULTS.newSessionRate,
  newSessionBurst: DEFAULTS.newSessionBurst,
  pendingHandshakes: DEFAULTS.maxPendingHandshakes,
  pendingHandshakesPerSource: DEFAULTS.maxPendingPerSource,
  reservedFiles: DEFAULTS.reservedFiles,
};
