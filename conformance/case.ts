/**
 * The shape every conformance case shares, in both modes, and the loop that runs them.
 *
 * A case checks one rule of docs/PROTOCOL.md against an implementation it knows only through
 * the wire (server mode) or through a command line (client mode). It returns a verdict or
 * throws; a throw is a failure whose detail is the error's message, so a case can state each
 * expectation as it goes and stop at the first difference.
 */

/**
 * `skipped`: the case could not run with what it was given (say, a server timing the wire does
 * not tell); it is shown as "skip" in the table and the report, never counted as a pass.
 */
export type Verdict = { pass: true; detail?: string; skipped?: boolean } | { pass: false; detail: string };

export interface Case<Ctx> {
  /** e.g. 'S3.7.2' (server mode) or 'C3.14.1' (client mode): S/C + § + rule + n. */
  id: string;
  /** One line: what it checks. */
  title: string;
  /** The spec rule it checks, e.g. '§3.7' or '§2.1'. */
  rule: string;
  run(ctx: Ctx): Promise<Verdict>;
}

export interface ServerCtx {
  host: string;
  port: number;
  /** Bound for any one wait (for a server's answer; waits for paced numbers add their intervals). */
  timeoutMs: number;
  /**
   * The server's reconnect window, if the tester knows it: nothing on the wire tells it. When
   * given, the cases that wait for a session to expire run; otherwise they are skipped, visibly.
   */
  reconnectWindowMs?: number;
}

export interface ClientCtx {
  /** The client's command line; every '{PORT}' is replaced by the scripted server's port. */
  command: string[];
  timeoutMs: number;
}

export interface CaseResult {
  id: string;
  title: string;
  rule: string;
  pass: boolean;
  /** True when the case did not run (see Verdict); `pass` is then true and it is not a failure. */
  skipped?: boolean;
  detail: string;
  ms: number;
}

/**
 * A backstop, not the measure: every wait inside a case has its own bound. Cases that wait for
 * a heartbeat timeout or stream for several of them need a few times the per-wait bound.
 */
export const CASE_BOUND_FACTOR = 6;

/** What a case may take in all: the backstop above plus any long wait the context announces. */
export function caseBoundMs(ctx: { timeoutMs: number; reconnectWindowMs?: number }): number {
  return CASE_BOUND_FACTOR * ctx.timeoutMs + (ctx.reconnectWindowMs ?? 0);
}

/** Runs cases one after another (each bounded by ctx.timeoutMs * a small factor). */
export async function runCases<C extends { timeoutMs: number }>(
  cases: readonly Case<C>[],
  ctx: C,
  onResult?: (r: CaseResult) => void,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const started = performance.now();
    const verdict = await runOne(c, ctx);
    const result: CaseResult = {
      id: c.id,
      title: c.title,
      rule: c.rule,
      pass: verdict.pass,
      detail: verdict.detail ?? '',
      ms: Math.round(performance.now() - started),
    };
    if (verdict.pass && verdict.skipped) result.skipped = true;
    results.push(result);
    onResult?.(result);
  }
  return results;
}

async function runOne<C extends { timeoutMs: number }>(c: Case<C>, ctx: C): Promise<Verdict> {
  const bound = caseBoundMs(ctx);
  let timer: NodeJS.Timeout | undefined;
  const backstop = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => resolve({ pass: false, detail: `the case did not finish within ${bound} ms` }), bound);
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(() => c.run(ctx))
        .catch((err: unknown): Verdict => ({ pass: false, detail: err instanceof Error ? err.message : String(err) })),
      backstop,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
