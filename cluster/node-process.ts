/**
 * One seqstream server node as its own process (`node dist/bin/server.js`), as an operator runs
 * it: for the cluster demo, the multi-process tests and the benchmarks. It can be SIGKILLed,
 * SIGTERMed (a graceful drain) and started again on the same ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { endChild, track } from './children';

export interface NodeOptions {
  name: string;
  port: number;
  /** The /metrics and /ready port (HAProxy checks /ready). */
  metricsPort: number;
  store: string;
  /** Any other server flags (timings, limits), as on the command line. */
  args?: readonly string[];
  /** Called with each line the node prints (for a demo's log or a test's failure message). */
  onLine?: (line: string) => void;
}

export interface NodeProcess {
  readonly name: string;
  readonly port: number;
  readonly metricsPort: number;
  /** The running instance's id (hex): new at every start. */
  readonly instanceId: string;
  readonly running: boolean;
  start(): Promise<void>;
  /** SIGKILL: the node dies with no drain, as in a crash. */
  kill(): Promise<void>;
  /** SIGTERM: the node drains (sessions suspended in the store, clients told to resume) and exits. */
  stop(): Promise<void>;
}

// The built program, whether this file runs built (dist/cluster) or from source under ts-jest
// (cluster/): a node is always the real `node dist/bin/server.js` an operator runs.
const SERVER_JS = path.basename(path.dirname(__dirname)) === 'dist'
  ? path.join(__dirname, '..', 'bin', 'server.js')
  : path.join(__dirname, '..', 'dist', 'bin', 'server.js');

export function nodeProcess(o: NodeOptions): NodeProcess {
  let child: ChildProcess | null = null;
  let instanceId = '';
  const node: NodeProcess = {
    name: o.name,
    port: o.port,
    metricsPort: o.metricsPort,
    get instanceId() {
      return instanceId;
    },
    get running() {
      return child !== null;
    },
    async start() {
      if (child) throw new Error(`${o.name} is already running`);
      const args = [SERVER_JS, String(o.port), '--store', o.store, '--metrics-port', String(o.metricsPort), ...(o.args ?? [])];
      const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SEQSTREAM_LOG_FILE_PATH: '' } });
      child = c;
      track(c);
      let tail = '';
      let buffered = '';
      const ready = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${o.name} did not start within 15 s:\n${tail}`)), 15_000);
        const onData = (chunk: Buffer) => {
          buffered += chunk.toString();
          let nl;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            tail = (tail + line + '\n').slice(-4000);
            o.onLine?.(line);
            const m = /instance ([0-9a-f]{16})/.exec(line);
            if (m) instanceId = m[1];
            if (/metrics on /.test(line)) {
              clearTimeout(timer);
              resolve();
            }
          }
        };
        c.stdout!.on('data', onData);
        c.stderr!.on('data', onData);
        c.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`${o.name} exited (${signal ?? code}) before it was ready:\n${tail}`));
        });
      });
      c.once('exit', () => {
        if (child === c) child = null;
      });
      await ready;
    },
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
  function end(signal: NodeJS.Signals): Promise<void> {
    // A drain waits for the store to take every session (--drain-timeout, 5 s by default).
    return child ? endChild(child, signal, 15_000) : Promise.resolve();
  }
  return node;
}
