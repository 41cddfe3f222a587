#!/usr/bin/env node
/**
 * `proxy [proxy_port] [server_port]`: relays clients to the server, with faults on demand from
 * keys, signals, an HTTP control API and a seeded chaos schedule, all through one fault model.
 */
import { randomInt } from 'node:crypto';
import { createLogger } from '../core/logger';
import { defineProgram } from '../core/config';
import { ChaosSchedule, parseChaosKinds } from '../proxy/chaos';
import { describeFault, FAULT_KINDS, type FaultKind } from '../proxy/faults';
import { RelayProxy } from '../proxy/proxy';
import { CONTROL_ROUTES, ProxyControl } from '../proxy/control';
import { configOrExit, EXIT_FAILURE, EXIT_USAGE } from './run';

/** What each toggle key puts on every connection, both directions, until pressed again. */
const KEY_PRESETS: Record<string, { kind: FaultKind; label: string; spec: Record<string, unknown> }> = {
  f: { kind: 'freeze', label: 'freeze (connections stay open, bytes stop)', spec: { kind: 'freeze' } },
  d: { kind: 'latency', label: 'latency 200±50 ms', spec: { kind: 'latency', latencyMs: 200, jitterMs: 50 } },
  b: { kind: 'bandwidth', label: 'bandwidth 1 KiB/s', spec: { kind: 'bandwidth', bytesPerSec: 1024 } },
  s: { kind: 'slicer', label: 'slicer 3-byte pieces 5 ms apart', spec: { kind: 'slicer', sliceBytes: 3, sliceDelayMs: 5 } },
  o: { kind: 'refuse', label: 'refuse new connections (outage; open ones kept)', spec: { kind: 'refuse' } },
};

const CONTROLS = [
  'Keys in this terminal (toggles act on every connection, both directions):',
  '  c  cut every connection (FIN)          r  reset every connection (RST)',
  ...Object.entries(KEY_PRESETS).map(([k, p]) => `  ${k}  toggle ${p.label}`),
  '  x  lift every fault    l  list connections    h  this help    q / Ctrl-C  quit (cuts everyone)',
  '',
  'Signals from another terminal:',
  '  kill -USR1 <pid>   cut every connection',
  '  kill -USR2 <pid>   toggle freeze',
  '  kill -HUP <pid>    lift every fault',
  '',
  'HTTP control API (JSON; on --control-host:--control-port, loopback by default):',
  ...CONTROL_ROUTES.split('\n').map((l) => '  ' + l),
  '',
  `Fault kinds: ${FAULT_KINDS.join(', ')}. Fields of POST /faults:`,
  '  kind (required); target "all" (default) or a connection id; direction "both" (default), "up"',
  '  (client to server) or "down"; durationMs (the fault lifts by itself; not for cut/reset);',
  '  latency: latencyMs, jitterMs; bandwidth: bytesPerSec; slicer: sliceBytes, sliceDelayMs;',
  '  limit: limitBytes (then the connection is closed); refuse: existing "keep" or "cut".',
  '',
  'Examples:',
  '  proxy 49156 49155     clients connect to 49156, traffic goes on to the server on 49155',
  '  curl -s localhost:49157/connections',
  `  curl -s -X POST localhost:49157/faults -H 'Content-Type: application/json' -d '{"kind":"freeze","durationMs":8000}'`,
  `  curl -s -X POST localhost:49157/faults -H 'Content-Type: application/json' -d '{"kind":"latency","latencyMs":300,"jitterMs":100,"direction":"down"}'`,
  '  curl -s -X DELETE localhost:49157/faults',
  '  proxy --chaos cut,reset,freeze,latency,slicer --seed 42    a replayable chaos run',
].join('\n');

const spec = defineProgram({
  program: 'proxy',
  summary: 'seqstream proxy: relays client <-> server traffic and injects faults (cut, reset, freeze, latency, bandwidth, slicer, limit, refuse).',
  positionals: [
    { name: 'proxy_port', setting: 'proxyPort' },
    { name: 'server_port', setting: 'port' },
  ],
  settings: ['proxyPort', 'port', 'host', 'upstreamHost', 'controlHost', 'controlPort', 'chaos', 'seed', 'chaosInterval', 'chaosMaxDuration', 'logLevel', 'logFile', 'logMaxSize', 'logMaxFiles'],
  extraHelp: CONTROLS,
});

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export async function main(argv: readonly string[]): Promise<void> {
  const cfg = configOrExit(spec, argv);
  if (!cfg) return;
  let chaosKinds: FaultKind[] | null = null;
  if (cfg.chaos !== '') {
    try {
      chaosKinds = parseChaosKinds(cfg.chaos);
    } catch (err) {
      process.stderr.write(`proxy: ${(err as Error).message}\nTry 'proxy --help'.\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
  }
  const tty = process.stdin.isTTY && process.stderr.isTTY;
  const log = createLogger({ level: cfg.logLevel, file: cfg.logFile, program: 'proxy', clearLine: tty, maxSize: cfg.logMaxSize, maxFiles: cfg.logMaxFiles });
  const proxy = new RelayProxy({ listenHost: cfg.host, listenPort: cfg.proxyPort, upstreamHost: cfg.upstreamHost, upstreamPort: cfg.port, logger: log });
  const control = cfg.controlPort > 0 ? new ProxyControl(proxy) : null;
  const fail = (what: string, err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    log.error(`cannot listen on ${what}: ${e.code === 'EADDRINUSE' ? 'the port is already in use' : e.message}`);
    log.on('finish', () => process.exit(EXIT_FAILURE));
    log.end();
  };
  try {
    await proxy.listen();
  } catch (err) {
    return fail(`${cfg.host}:${cfg.proxyPort}`, err);
  }
  log.info(`proxy listening on ${cfg.host}:${cfg.proxyPort}, relaying to ${cfg.upstreamHost}:${cfg.port} (pid ${process.pid})`);
  if (control) {
    try {
      const port = await control.listen(cfg.controlHost, cfg.controlPort);
      log.info(`control API on http://${cfg.controlHost}:${port}/ (GET / lists the routes)`);
    } catch (err) {
      await proxy.close();
      return fail(`${cfg.controlHost}:${cfg.controlPort} for the control API (--control-port 0 turns it off)`, err);
    }
  }

  let chaos: ChaosSchedule | null = null;
  if (chaosKinds) {
    const seed = cfg.seed || randomInt(1, 2 ** 32 - 1);
    chaos = new ChaosSchedule(proxy, { kinds: chaosKinds, seed, meanGapMs: cfg.chaosInterval, maxDurationMs: cfg.chaosMaxDuration }, (s, err) => {
      if (err) log.info(`chaos: skipped ${String(s.kind)} (${err.message})`);
    });
    chaos.start();
    log.info(`chaos on: ${chaosKinds.join(', ')} every ~${cfg.chaosInterval} ms, seed ${seed} (replay with --seed ${seed})`);
  }

  const toggle = (key: string) => {
    const preset = KEY_PRESETS[key];
    const mine = proxy.faults().filter((f) => f.kind === preset.kind && f.target === 'all' && f.direction === 'both');
    if (mine.length > 0) for (const f of mine) proxy.removeFault(f.id);
    else proxy.addFault(preset.spec);
  };
  const list = () => {
    const conns = proxy.connections();
    log.info(`${conns.length} connection(s)`);
    for (const c of conns) {
      const faults = Object.entries(c.faultsApplied).map(([k, n]) => `${k}×${n}`).join(' ');
      log.info(`  #${c.id} ${c.clientAddress} age ${(c.ageMs / 1000).toFixed(1)} s, ${formatBytes(c.bytesUp)} up, ${formatBytes(c.bytesDown)} down${faults ? `, faults: ${faults}` : ''}`);
    }
    for (const f of proxy.faults()) log.info(`  fault ${describeFault(f)}`);
  };
  const statusLine = () => {
    const s = proxy.stats();
    const faults = proxy.faults().map((f) => describeFault(f)).join(', ') || 'none';
    const line = `${s.listening ? '' : '[refusing] '}${s.connections} conn | up ${formatBytes(s.bytesUp)} down ${formatBytes(s.bytesDown)} | faults: ${faults}`;
    const width = process.stderr.columns || 100;
    process.stderr.write(`\r\x1b[2K${line.length > width - 1 ? line.slice(0, width - 2) + '…' : line}`);
  };
  const status = tty ? setInterval(statusLine, 500) : null;

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    if (status) clearInterval(status);
    chaos?.stop();
    log.info(`${why}: stopping; every connection is cut`);
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    await Promise.all([proxy.close(), control?.close()]);
    log.on('finish', () => process.exit(0));
    log.end();
  };

  process.on('SIGUSR1', () => proxy.cutAll());
  process.on('SIGUSR2', () => toggle('f'));
  process.on('SIGHUP', () => log.info(`lifted ${proxy.clearFaults()} fault(s)`));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (key: string) => {
      try {
        onKey(key);
      } catch (err) {
        log.warn(`key ${JSON.stringify(key)}: ${(err as Error).message}`);
      }
    });
    const onKey = (key: string) => {
      if (Object.hasOwn(KEY_PRESETS, key)) return toggle(key);
      switch (key) {
        case 'c':
          proxy.cutAll();
          break;
        case 'r':
          proxy.addFault({ kind: 'reset' });
          break;
        case 'x':
          log.info(`lifted ${proxy.clearFaults()} fault(s)`);
          break;
        case 'l':
          list();
          break;
        case 'h':
        case '?':
          process.stderr.write('\r\x1b[2K' + CONTROLS + '\n');
          break;
        case 'q':
        case '\u0003': // Ctrl-C arrives as a key in raw mode
          void stop('quit');
          break;
      }
    };
    process.stderr.write(`keys: c cut, r reset, ${Object.entries(KEY_PRESETS).map(([k, p]) => `${k} ${p.kind}`).join(', ')}, x lift all, l list, h help, q quit\n`);
  }
}

if (require.main === module) void main(process.argv.slice(2));
