#!/usr/bin/env node
/** `client <port> [length]`: receives a sequence, resuming across disconnections, and verifies it. */
import { escapeText } from '../core/escape';
import { createLogger, shortId } from '../core/logger';
import { ConfigError, defineProgram } from '../core/config';
import { runClient, type ClientResult } from '../transport/client/client';
import { clientTls, type ClientTls } from '../transport/tls-files';
import { ProgressDisplay } from './progress';
import { configOrExit, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './run';

const spec = defineProgram({
  program: 'client',
  summary: 'seqstream client: asks for a sequence, survives disconnections by resuming, verifies the checksum.',
  positionals: [
    { name: 'port', setting: 'port', required: true },
    { name: 'length', setting: 'length' },
  ],
  settings: ['port', 'length', 'host', 'heartbeatInterval', 'heartbeatTimeout', 'maxBackoff', 'maxReconnects', 'tls', 'tlsCa', 'tlsServername', 'tlsCert', 'tlsKey', 'logLevel', 'logFile', 'json', 'quiet', 'trace'],
  extraHelp: [
    'Examples:',
    '  client 49155 100          100 numbers straight from the server',
    '  client 49156              through the proxy, length chosen by the server',
    '  client 49155 10 --json    machine-readable result on stdout',
    '  client 49155 --tls --tls-ca ca.pem   TLS, trusting a private CA',
    '',
    'The client reconnects forever (unless --max-reconnects) and resumes at the exact next number.',
    'Heartbeat settings apply until the server announces its own in WELCOME.',
    'Exit status: 0 checksums equal; 1 mismatch, rejection or give-up; 2 bad arguments.',
  ].join('\n'),
});

const hex = (n: number | null) => (n === null ? 'none' : '0x' + n.toString(16).padStart(8, '0'));

export async function main(argv: readonly string[]): Promise<void> {
  const cfg = configOrExit(spec, argv);
  if (!cfg) return;
  let tls: ClientTls | null;
  try {
    tls = clientTls(cfg);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`client: ${err.message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  // Human lines go to stderr beside the progress bar; the file gets structured JSON.
  const log = createLogger({ level: cfg.logLevel, file: cfg.logFile, program: 'client', console: false });
  const out = process.stderr;
  const progress = new ProgressDisplay({ stream: out });
  const say = (line: string) => {
    if (!cfg.quiet) progress.say(line);
  };
  // While offline nothing arrives to redraw the line: the clock does, so "offline for" keeps counting.
  const ticker = cfg.quiet ? null : setInterval(() => progress.tick(), 1000);
  ticker?.unref();

  const client = runClient({
    host: cfg.host,
    port: cfg.port,
    tls,
    length: cfg.length,
    maxBackoffMs: cfg.maxBackoff,
    maxReconnects: cfg.maxReconnects,
    heartbeatIntervalMs: cfg.heartbeatInterval,
    heartbeatTimeoutMs: cfg.heartbeatTimeout,
    onNumber: (index, v) => {
      if (!cfg.quiet) progress.update(v.nextIndex);
      if (cfg.logLevel === 'debug') log.debug('number received', { index });
    },
    onLoss: (raw, nextIndex, ctx) => {
      // The link already escapes what the server says; escaping again is a no-op, and keeps this sink safe on its own.
      const reason = escapeText(raw);
      say(`connection lost at index ${nextIndex}: ${reason}; reconnecting`);
      log.warn(`connection lost: ${reason}`, { session: ctx.sessionId ? shortId(ctx.sessionId) : undefined, index: nextIndex });
      if (!cfg.quiet) progress.offline(ctx.attempts);
    },
    // Never "connection lost" for a connection that never was.
    onUnreachable: (address, reason, ctx) => {
      const last = ctx.maxReconnects > 0 && ctx.attempts >= ctx.maxReconnects;
      say(`cannot connect to ${address} (${reason})${ctx.attempts > 1 ? `, attempt ${ctx.attempts}` : ''}; ${last ? 'giving up' : 'retrying'}`);
      log.warn(`cannot connect to ${address} (${reason})`, { session: ctx.sessionId ? shortId(ctx.sessionId) : undefined, attempt: ctx.attempts });
      if (!cfg.quiet) progress.offline(ctx.attempts);
    },
    onFallback: (version, fallback, reason) => {
      say(`the server does not speak protocol ${version} (${reason}); using protocol ${fallback} for this session`);
      log.info(`server refused protocol ${version}; falling back to ${fallback}`);
    },
    onResume: (startIndex, ctx) => {
      if (ctx.reconnects > 0) say(`resumed session ${shortId(ctx.sessionId!)} at index ${startIndex}`);
      else say(`session ${shortId(ctx.sessionId!)}: ${ctx.length} numbers`);
      log.info(ctx.reconnects > 0 ? `resumed at index ${startIndex}` : `session started, length ${ctx.length}`, { session: shortId(ctx.sessionId!) });
      if (!cfg.quiet) progress.start(ctx.length!, startIndex);
    },
    onState: cfg.trace ? (state) => say(`state: ${state}`) : undefined,
  });

  const interrupted = new Promise<null>((resolve) =>
    process.once('SIGINT', () => {
      client.stop();
      resolve(null);
    }),
  );
  const result = await Promise.race([client.result, interrupted]);
  const r: ClientResult = result ?? {
    ok: false, sessionId: null, length: null, received: client.verifier.nextIndex, localChecksum: null,
    serverChecksum: null, reconnects: 0, violations: [], failure: `interrupted after ${client.verifier.nextIndex} numbers`, durationMs: 0,
  };
  if (ticker) clearInterval(ticker);
  if (!cfg.quiet) progress.finish();
  const failure = r.failure === null ? null : escapeText(r.failure);

  if (cfg.json) {
    process.stdout.write(
      JSON.stringify({
        ok: r.ok,
        sessionId: r.sessionId,
        length: r.length,
        received: r.received,
        checksumLocal: r.localChecksum,
        checksumServer: r.serverChecksum,
        reconnects: r.reconnects,
        violations: r.violations,
        failure,
        durationMs: r.durationMs,
      }) + '\n',
    );
  } else if (r.ok) {
    process.stdout.write(`SUCCESS: ${r.length} numbers, checksum ${hex(r.localChecksum)} matches the server's, ${r.reconnects} reconnect(s), ${(r.durationMs / 1000).toFixed(1)} s\n`);
  } else {
    process.stdout.write(`FAILURE: ${failure}\n`);
  }
  log.info(r.ok ? 'verdict: success' : `verdict: failure: ${failure}`, { session: r.sessionId ? shortId(r.sessionId) : undefined, reconnects: r.reconnects });
  const code = r.ok ? EXIT_OK : EXIT_FAILURE;
  log.on('finish', () => process.exit(code));
  log.end();
}

if (require.main === module) void main(process.argv.slice(2));
