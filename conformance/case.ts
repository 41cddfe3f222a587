/**
 * The shape every conformance case shares (conformance/README.md), and the runner that plays
 * them in order. Placeholder for the client-mode branch: the server-mode helper's version of
 * this file is the one kept at merge, so nothing beyond the shared shape lives here.
 */
export type Verdict = { pass: true; detail?: string } | { pass: false; detail: string };
export interface Case<Ctx> {
  id: string; // e.g. 'S3.7.2' (server mode) or 'C3.14.1' (client mode): S/C + § + rule + n
  title: string; // one line: what it checks
  rule: string; // the spec rule it checks, e.g. '§3.7' or '§2.1'
  run(ctx: Ctx): Promise<Verdict>;
}
export interface ServerCtx {
  host: string;
  port: number;
  /** bound for any one wait */
  timeoutMs: number;
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
  detail: string;
  ms: number;
}

/** Runs cases one after another (each bounded by ctx.timeoutMs * a small factor). */
export async function runCases<C>(cases: readonly Case<C>[], ctx: C, onResult?: (r: CaseResult) => void): Promise<CaseResult[]> {
  const bound = 4 * (ctx as { timeoutMs: number }).timeoutMs;
  const results: CaseResult[] = [];
  for (const c of cases) {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const verdict = await Promise.race([
      c.run(ctx).catch((err: unknown): Verdict => ({ pass: false, detail: `the case threw: ${(err as Error)?.message ?? String(err)}` })),
      new Promise<Verdict>((resolve) => {
        timer = setTimeout(() => resolve({ pass: false, detail: `the case did not finish within ${bound} ms` }), bound);
      }),
    ]);
    clearTimeout(timer);
    const r: CaseResult = { id: c.id, title: c.title, rule: c.rule, pass: verdict.pass, detail: verdict.detail ?? '', ms: Date.now() - started };
    results.push(r);
    onResult?.(r);
  }
  return results;
}
