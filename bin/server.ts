#!/usr/bin/env node
/** `server [port]`: serves every client its own resumable sequence. */
import './heap-tuning';
import { createLogger } from '../core/logger';
import { ConfigError, defineProgram } from '../core/config';
import { SeqServer } from '../transport/server/server';
import { serverTls, type ServerTls } from '../transport/tls-files';
import { sessionMachine } from '../machines/session.machine';
import { InspectError, launchInspection, type Inspection } from '../inspector/launch';
import { ServerMetrics } from '../transport/server/metrics';
import { notReadyReason, OpsHttpServer } from '../transport/server/ops-http';
import { instrumentStore } from '../transport/server/store/instrumented-store';
import { openStore } from '../transport/server/store/open-store';
import type { SessionStore } from '../transport/server/store/session-store';
import { runWorkers, workerLogFile } from './workers';
import { configOrExit, EXIT_FAILURE, EXIT_USAGE } from './run';

const spec = defineProgram({
  program: 'server',
  summary: 'seqstream server: streams each client its own ordered, resumable sequence of uint32 numbers.',
  positionals: [{ name: 'port', setting: 'port' }],
  settings: ['port', 'host', 'interval', 'heartbeatInterval', 'heartbeatTimeout', 'reconnectWindow', 'handshakeTimeout', 'maxSessions', 'maxWriteBuffer', 'tlsCert', 'tlsKey', 'tlsCa', 'maxMessageRate', 'maxSessionsPerSource', 'newSessionRate', 'newSessionBurst', 'maxPendingHandshakes', 'maxPendingPerSource', 'reservedFiles', 'store', 'workers', 'drainTimeout', 'inspect', 'inspectHost', 'metricsPort', 'metricsHost', 'logLevel', 'logFile', 'logMaxSize', 'logMaxFiles', 'logRepeatPeriod', 'logBurst'],
  extraHelp: 'Examples:\n  server                 listen on 127.0.0.1:49155\n  server 5000 --interval 100ms --reconnect-window 10s\n  SEQSTREAM_LOG_LEVEL=debug server   (debug logs every number)\n  server --inspect       and open the printed address: every session live, offline\n  server --tls-cert server.pem --tls-key server.key   TLS (clients connect with --tls)\n  server --metrics-port 9464 --metrics-host 0.0.0.0   Prometheus GET /metrics, HAProxy GET /ready\n  server --store redis://127.0.0.1:6379 --workers 2   two processes sharing sessions in Redis\n\nStop with Ctrl-C or SIGTERM: the server drains — sessions are left suspended in the store and\nclients are told to resume (on another node, behind a load balancer).',
});

export async function main(argv: readonly string[]): Promise<void> {
  const cfg = configOrExit(spec, argv);
  if (!cfg) return;
  let tls: ServerTls | null;
  try {
    tls = serverTls(cfg);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`server: ${err.message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  if (cfg.workers > 1 && cfg.store.trim() === 'memory') {
    process.stderr.write("server: --workers needs a shared store (--store redis://…): with the memory store each worker holds its own sessions, and a resume reaching another worker would fail\nTry 'server --help'.\n");
    process.exitCode = EXIT_USAGE;
    return;
  }
  if (cfg.workers > 1 && cfg.inspect !== '') {
    process.stderr.write("server: --inspect shows one process's sessions: use it without --workers\nTry 'server --help'.\n");
    process.exitCode = EXIT_USAGE;
    return;
  }
  if (runWorkers(cfg.workers)) return;
  const log = createLogger({ level: cfg.logLevel, file: workerLogFile(cfg.logFile), program: 'server', maxSize: cfg.logMaxSize, maxFiles: cfg.logMaxFiles });
  let inspection: Inspection | null = null;
  let server: SeqServer | null = null;
  if (cfg.inspect !== '') {
    try {
      inspection = await launchInspection({
        value: cfg.inspect,
        host: cfg.inspectHost,
        machine: sessionMachine,
        intervalMs: cfg.interval,
        probeIndex: (id) => server?.nextIndexOf(id),
        clusterCounts: async () => (server?.store.shared ? server.store.counts() : null),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (err instanceof InspectError) {
        process.stderr.write(`server: ${e.message}\nTry 'server --help'.\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      const busy = e.code === 'EADDRINUSE' ? (/^\d+$/.test(cfg.inspect) ? `port ${cfg.inspect} is already in use (--inspect=0 picks a free one)` : e.message) : e.message;
      log.error(`cannot start the inspector: ${busy}`);
      log.on('finish', () => process.exit(EXIT_FAILURE));
      log.end();
      return;
    }
    log.info(inspection.describe);
  }
  // Made before the server, so a store given to it can be wrapped with instrumentStore(store, metrics).
  const metrics = cfg.metricsPort > 0 ? new ServerMetrics() : null;
  let store: SessionStore;
  try {
    store = await openStore(cfg.store);
  } catch (err) {
    log.error(`cannot open the session store: ${(err as Error).message}`);
    await inspection?.close();
    log.on('finish', () => process.exit(EXIT_FAILURE));
    log.end();
    return;
  }
  server = new SeqServer({
    host: cfg.host,
    port: cfg.port,
    intervalMs: cfg.interval,
    heartbeatIntervalMs: cfg.heartbeatInterval,
    heartbeatTimeoutMs: cfg.heartbeatTimeout,
    reconnectWindowMs: cfg.reconnectWindow,
    handshakeTimeoutMs: cfg.handshakeTimeout,
    maxSessions: cfg.maxSessions,
    maxWriteBuffer: cfg.maxWriteBuffer,
    maxMessagesPerSecond: cfg.maxMessageRate,
    admission: {
      sessionsPerSource: cfg.maxSessionsPerSource,
      newSessionsPerSecond: cfg.newSessionRate,
      newSessionBurst: cfg.newSessionBurst,
      pendingHandshakes: cfg.maxPendingHandshakes,
      pendingHandshakesPerSource: cfg.maxPendingPerSource,
      reservedFiles: cfg.reservedFiles,
    },
    logRepeatPeriodMs: cfg.logRepeatPeriod,
    logBurstPerSecond: cfg.logBurst,
    tls,
    store: metrics ? instrumentStore(store, metrics) : store,
    logger: log,
    actors: inspection ? { inspect: inspection.inspect } : undefined,
  });
  try {
    const port = await server.listen();
    log.info(
      `listening on ${cfg.host}:${port}${tls ? ` with TLS${tls.ca ? ' (client certificates required)' : ''}` : ''} (interval ${cfg.interval} ms, heartbeat ${cfg.heartbeatInterval}/${cfg.heartbeatTimeout} ms, reconnect window ${cfg.reconnectWindow} ms, max ${cfg.maxSessions} sessions)`,
    );
    // New at every start: a client resuming a session of an earlier instance learns it is gone.
    log.info(`instance ${server.instanceId}`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? `port ${cfg.port} is already in use` : e.code === 'EACCES' ? `no permission to listen on port ${cfg.port}` : e.message;
    log.error(`cannot listen on ${cfg.host}:${cfg.port}: ${why}`);
    process.exitCode = EXIT_FAILURE;
    log.on('finish', () => process.exit(EXIT_FAILURE));
    log.end();
    return;
  }
  let ops: OpsHttpServer | null = null;
  if (metrics) {
    metrics.observe(server);
    const node = server;
    ops = new OpsHttpServer({ metrics: () => metrics.text(), notReady: () => notReadyReason(node) });
    try {
      await ops.listen(cfg.metricsHost, cfg.metricsPort);
      log.info(`metrics on ${ops.url}/metrics, readiness on ${ops.url}/ready`);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? `port ${cfg.metricsPort} is already in use` : e.code === 'EADDRNOTAVAIL' ? `${cfg.metricsHost} is not an address of this machine` : e.message;
      log.error(`cannot serve metrics on ${cfg.metricsHost}:${cfg.metricsPort}: ${why}`);
      metrics.close();
      await server.close();
      await inspection?.close();
      log.on('finish', () => process.exit(EXIT_FAILURE));
      log.end();
      return;
    }
  }
  // A status line now and then, never one per number (that is what debug is for).
  const status = setInterval(() => {
    if (server.sessionCount > 0) log.info(`${server.sessionCount} session(s), ${server.connectionCount} connection(s)`);
  }, 10_000);
  status.unref();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: draining`);
    clearInterval(status);
    await server!.drain(cfg.drainTimeout);
    await store.close();
    // After the server: while it drains, /ready keeps answering 503 to the load balancer.
    await ops?.close();
    metrics?.close();
    await inspection?.close();
    log.on('finish', () => process.exit(0));
    log.end();
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (require.main === module) void main(process.argv.slice(2));
