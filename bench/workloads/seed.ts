/** The seed workload: N sessions at one number a second, seqstream against the bare Node.js floor at each N. */
import { finish, steady } from '../steady';
import type { Plan, SeedResult } from '../types';

export async function seedWorkload(sizes: number[], plan: Plan, log: (s: string) => void): Promise<SeedResult[]> {
  const results: SeedResult[] = [];
  for (const n of sizes) {
    for (const kind of ['bare', 'seqstream'] as const) results.push((await finish(await steady(kind, n, 1000, plan, log))).result);
  }
  return results;
}
