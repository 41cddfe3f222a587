/**
 * The kernel's side of a storm at one listening port: how many connections the accept queue
 * turned away (nstat's TcpExtListenOverflows / ListenDrops, a delta around the stretch) and how
 * full that queue ran (`ss -lnt` Recv-Q of the listener, sampled while the stretch lasts).
 *
 * The nstat counters are the whole network namespace's, not the port's: other work on the
 * machine in the same stretch adds to them. Sampling uses ss's kernel-side filter (netlink), so
 * a sample costs one small process, not a walk of every socket.
 */
import { execFile } from 'node:child_process';

export interface ListenCounters {
  overflows: number;
  drops: number;
}

export interface ListenStretch {
  /** Connections the accept queue could not take (null: nstat not available). */
  listenOverflows: number | null;
  listenDrops: number | null;
  /** Largest accept-queue length seen, and how many samples it is the largest of (0: ss not available). */
  recvQMax: number | null;
  recvQSamples: number;
  /** The listener's accept-queue limit (ss Send-Q of a LISTEN socket). */
  backlog: number | null;
}

const run = (cmd: string, args: string[]): Promise<string | null> =>
  new Promise((resolve) => execFile(cmd, args, { timeout: 2000 }, (err, out) => resolve(err ? null : out)));

/** Absolute counter values (-a: ignore nstat's history file, -s: do not update it, -z: print zeros). */
export async function listenCounters(): Promise<ListenCounters | null> {
  const out = await run('nstat', ['-asz', 'TcpExtListenOverflows', 'TcpExtListenDrops']);
  if (out === null) return null;
  const value = (name: string) => Number(/^(\S+)\s+(\d+)/m.exec(out.split('\n').find((l) => l.startsWith(name + ' ')) ?? '')?.[2] ?? NaN);
  const c = { overflows: value('TcpExtListenOverflows'), drops: value('TcpExtListenDrops') };
  return Number.isFinite(c.overflows) ? c : null;
}

/** Starts counting and sampling for `port`; the returned function stops and gives the stretch. */
export async function watchListener(port: number, everyMs = 50): Promise<() => Promise<ListenStretch>> {
  const before = await listenCounters();
  let recvQMax: number | null = null;
  let backlog: number | null = null;
  let samples = 0;
  let stopped = false;
  const sampling = (async () => {
    while (!stopped) {
      const out = await run('ss', ['-Hlnt', `sport = :${port}`]);
      const m = out && /^\S+\s+(\d+)\s+(\d+)/m.exec(out);
      if (m) {
        samples++;
        recvQMax = Math.max(recvQMax ?? 0, Number(m[1]));
        backlog = Number(m[2]);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    stopped = true;
    await sampling;
    const after = await listenCounters();
    return {
      listenOverflows: before && after ? after.overflows - before.overflows : null,
      listenDrops: before && after ? after.drops - before.drops : null,
      recvQMax,
      recvQSamples: samples,
      backlog,
    };
  };
}
