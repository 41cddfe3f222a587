/**
 * `server --workers N`: N server processes on this machine sharing one listening port (Node's
 * cluster module hands connections to the workers in turn), so one machine uses all its cores
 * and holds N × the sessions one process's open-file limit allows. The workers share sessions
 * through the store (a resume may reach any of them), which is why N > 1 needs a shared store.
 *
 * The primary only supervises: a worker that dies is started again (after a pause if it died
 * young, so a crash at start does not spin), and SIGTERM/SIGINT are passed to every worker,
 * each of which drains; the primary exits when they all have.
 */
import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';

/** A worker that dies sooner than this after its start waits this long before it is restarted. */
const YOUNG_MS = 5_000;

/**
 * In the primary of a multi-worker server: forks and supervises the workers, returns true (the
 * caller runs no server itself). In a worker, or with one process: returns false.
 */
export function runWorkers(count: number): boolean {
  if (count <= 1 || cluster.isWorker) return false;
  let stopping = false;
  const startedAt = new Map<Worker, number>();
  const say = (line: string) => process.stdout.write(`${new Date().toISOString()} [server] primary: ${line}\n`);
  const fork = (slot: number) => {
    const w = cluster.fork({ SEQSTREAM_WORKER_SLOT: String(slot) });
    startedAt.set(w, Date.now());
    w.on('exit', (code, signal) => {
      const lived = Date.now() - (startedAt.get(w) ?? 0);
      startedAt.delete(w);
      if (stopping) {
        if (startedAt.size === 0) process.exit(0);
        return;
      }
      const wait = lived < YOUNG_MS ? YOUNG_MS : 0;
      say(`worker ${slot} (pid ${w.process.pid}) exited (${signal ?? code}); starting it again${wait ? ` in ${wait / 1000} s` : ''}`);
      setTimeout(() => fork(slot), wait);
    });
  };
  say(`starting ${count} workers`);
  for (let slot = 1; slot <= count; slot++) fork(slot);
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: draining ${startedAt.size} workers`);
    for (const w of startedAt.keys()) w.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return true;
}

/** Each worker writes its own log file (app.log → app.worker2.log): one file, one writer. */
export function workerLogFile(file: string): string {
  const slot = process.env.SEQSTREAM_WORKER_SLOT;
  if (!cluster.isWorker || !slot || file === '') return file;
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}.worker${slot}${ext}`;
}
