/**
 * One client-mode case played out: a scripted server on a fresh port, the client's command run
 * once against it, one script per connection the spec says the client makes, and a verdict
 * from what the client sent and how it exited. What a script does on a connection is the
 * session's (./scripted-session).
 *
 * Every wait is bounded by ctx.timeoutMs: the first connection, each next one, each frame a
 * script waits for, and the exit after the last script. The first thing that goes wrong ends
 * the case at once (the client is killed), so a failing case costs no more than a passing one.
 */
import type { ClientCtx, Verdict } from './case';
import { ClientProcess, type Exit } from './client-process';
import { ScriptConn, ScriptedServer, ScriptFailure, skipNothing } from './scripted-server';
import { describe, Session } from './scripted-session';

export { ScriptFailure };

/** Heartbeat timings announced in WELCOME unless a case says otherwise: quick beats, a patient timeout. */
export const HEARTBEATS = { intervalMs: 200, timeoutMs: 3000 };
/** After the client exits, how long a connection it opened just before may take to be accepted. */
const SETTLE_MS = 50;

export type Script = (c: ScriptConn, s: Session) => Promise<void>;

export interface Plan {
  /** One script per connection the spec says the client makes, in order; one more is a failure. */
  scripts: Script[];
  /** Connections that must happen (default: all the scripts); the rest are allowed, not required. */
  required?: number;
  /** What the client must end with: exit 0 (it verified the whole sequence) or a failure status. */
  outcome: 'success' | 'failure';
  /** Timings announced in WELCOME (default HEARTBEATS). */
  heartbeats?: { intervalMs: number; timeoutMs: number };
  /** Why a further connection is wrong, for the detail (e.g. "§3.14: a changed seed is fatal"). */
  noMore?: string;
  /** A last check on everything recorded, once the client has exited as expected; a string fails the case. */
  check?: (p: Played) => string | null;
}

export interface Played {
  exit: Exit | null;
  conns: ScriptConn[];
  session: Session;
}

/** Plays the plan and judges it. */
export async function play(ctx: ClientCtx, plan: Plan): Promise<Verdict> {
  const session = new Session(ctx.timeoutMs, plan.heartbeats ?? HEARTBEATS);
  const problems: string[] = [];
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const problem = (p: string) => {
    problems.push(p);
    stop();
  };
  const timers = new Set<NodeJS.Timeout>();
  let over = false;
  // A script still running when the case ends must not arm a timer that outlives it.
  const within = (ms: number, check: () => void) => {
    if (!over) timers.add(setTimeout(check, ms));
  };
  let client: ClientProcess | null = null;

  const server = new ScriptedServer((conn) => {
    const script = plan.scripts[conn.n - 1];
    if (!script) {
      const first = conn.next(SETTLE_MS * 4, 'a first frame', skipNothing).then(describe, () => 'nothing yet');
      void first.then((f) => problem(`the client opened connection ${conn.n} (first frame: ${f}); it should not have${plan.noMore ? ` (${plan.noMore})` : ''}`));
      return;
    }
    script(conn, session).then(
      () => {
        // Each script ends where the spec says the client acts next: connect again, or exit.
        const next = conn.n + 1;
        if (next <= (plan.required ?? plan.scripts.length)) {
          within(ctx.timeoutMs, () => {
            if (server.conns.length < next) problem(`the client did not open connection ${next} within ${ctx.timeoutMs} ms after connection ${conn.n}`);
          });
        } else {
          within(ctx.timeoutMs, () => {
            if (!client?.exit) problem(`the client did not exit within ${ctx.timeoutMs} ms after the last step`);
          });
        }
      },
      (err: unknown) => problem(err instanceof ScriptFailure ? err.message : `script error: ${(err as Error)?.stack ?? String(err)}`),
    );
  }, problem);

  try {
    client = new ClientProcess(ctx.command, await server.listen());
    within(ctx.timeoutMs, () => {
      if (server.conns.length === 0 && !client?.exit) problem(`the client did not connect within ${ctx.timeoutMs} ms`);
    });
    await Promise.race([client.exited, stopped]);
    if (client.exit) await new Promise((r) => setTimeout(r, SETTLE_MS));
  } finally {
    over = true;
    for (const t of timers) clearTimeout(t);
    client?.kill();
    await server.close();
  }
  // (Assigned in the try block; TypeScript cannot see that through the closures above.)
  const ran = client as ClientProcess | null;
  const exit = ran?.exit ?? null;
  const tail = ran?.output ? `; client output: ${ran.output}` : '';
  if (exit?.error) return { pass: false, detail: exit.error };
  if (problems.length > 0) return { pass: false, detail: problems[0] + tail };
  if (exit === null) return { pass: false, detail: `the client was killed: it did not exit${tail}` };
  const status = exit.code !== null ? `status ${exit.code}` : `signal ${exit.signal}`;
  if (plan.outcome === 'success' && exit.code !== 0) {
    return { pass: false, detail: `the client exited with ${status}, expected 0 (it received every number and the checksum matched)${tail}` };
  }
  if (plan.outcome === 'failure' && exit.code === 0) return { pass: false, detail: `the client exited with status 0, expected a failure status${tail}` };
  const required = plan.required ?? plan.scripts.length;
  if (server.conns.length < required) {
    return { pass: false, detail: `the client exited (${status}) after ${server.conns.length} connection(s); the case expects ${required}${tail}` };
  }
  const late = plan.check?.({ exit, conns: server.conns, session });
  if (late) return { pass: false, detail: late + tail };
  return { pass: true, detail: `exit ${status}, ${server.conns.length} connection(s)` };
}
