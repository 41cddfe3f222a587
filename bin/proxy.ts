#!/usr/bin/env node
/** `proxy [proxy_port] [server_port]`: relays clients to the server, with faults on demand. */
import { createLogger } from '../core/logger';
import { defineProgram } from '../core/config';
import { RelayProxy } from '../transport/proxy';
import { configOrExit, EXIT_FAILURE } from './run';

const CONTROLS = [
  'Controls (keys in this terminal, or signals from another):',
  '  c  cut every connection (FIN both sides)            kill -USR1 <pid>',
  '  f  freeze / thaw: connections stay open, bytes stop  kill -USR2 <pid>',
  '  l  list connections with their byte counts',
  '  h  this help      q or Ctrl-C  quit (cuts everyone, like stopping the seed\'s proxy)',
].join('\n');

const spec = defineProgram({
  program: 'proxy',
  summary: 'seqstream proxy: relays client <-> server traffic so that disconnections can be simulated.',
  positionals: [
    { name: 'proxy_port', setting: 'proxyPort' },
    { name: 'server_port', setting: 'port' },
  ],
  settings: ['proxyPort', 'port', 'host', 'upstreamHost', 'logLevel', 'logFile'],
  extraHelp: `${CONTROLS}\n\nExample:\n  proxy 49156 49155     clients connect to 49156, traffic goes on to the server on 49155`,
});

export async function main(argv: readonly string[]): Promise<void> {
  const cfg = configOrExit(spec, argv);
  if (!cfg) return;
  const log = createLogger({ level: cfg.logLevel, file: cfg.logFile, program: 'proxy' });
  const proxy = new RelayProxy({ listenHost: cfg.host, listenPort: cfg.proxyPort, upstreamHost: cfg.upstreamHost, upstreamPort: cfg.port, logger: log });
  try {
    await proxy.listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    log.error(`cannot listen on ${cfg.host}:${cfg.proxyPort}: ${e.code === 'EADDRINUSE' ? 'the port is already in use' : e.message}`);
    log.on('finish', () => process.exit(EXIT_FAILURE));
    log.end();
    return;
  }
  log.info(`proxy listening on ${cfg.host}:${cfg.proxyPort}, relaying to ${cfg.upstreamHost}:${cfg.port} (pid ${process.pid})`);

  const toggleFreeze = () => (proxy.frozen ? proxy.unfreeze() : proxy.freeze());
  const list = () => {
    const conns = proxy.connections();
    log.info(`${conns.length} connection(s)${proxy.frozen ? ', frozen' : ''}`);
    for (const c of conns) log.info(`  #${c.id} ${c.clientAddress} age ${(c.ageMs / 1000).toFixed(1)} s, ${c.bytesUp} B up, ${c.bytesDown} B down`);
  };
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${why}: stopping; every connection is cut`);
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    await proxy.close();
    log.on('finish', () => process.exit(0));
    log.end();
  };

  process.on('SIGUSR1', () => proxy.cutAll());
  process.on('SIGUSR2', toggleFreeze);
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (key: string) => {
      switch (key) {
        case 'c':
          proxy.cutAll();
          break;
        case 'f':
          toggleFreeze();
          break;
        case 'l':
          list();
          break;
        case 'h':
        case '?':
          process.stderr.write(CONTROLS + '\n');
          break;
        case 'q':
        case '\u0003': // Ctrl-C arrives as a key in raw mode
          void stop('quit');
          break;
      }
    });
    process.stderr.write('keys: c cut all, f freeze/thaw, l list, h help, q quit\n');
  }
}

if (require.main === module) void main(process.argv.slice(2));
