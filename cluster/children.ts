/**
 * What every real process of the cluster set-up needs the same way: killed if this process
 * exits first (a test or demo that dies must not leave Redis or HAProxy behind), and ended with
 * a signal and a bounded wait.
 */
import type { ChildProcess } from 'node:child_process';

const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of alive) c.kill('SIGKILL');
});

/** Remembers `child` until it exits. */
export function track(child: ChildProcess): ChildProcess {
  alive.add(child);
  child.once('exit', () => alive.delete(child));
  return child;
}

/** Sends `signal` and waits for the exit; still running after `forceAfterMs`, it gets SIGKILL. */
export function endChild(child: ChildProcess, signal: NodeJS.Signals, forceAfterMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), forceAfterMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}
