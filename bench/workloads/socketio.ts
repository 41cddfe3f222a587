/** The seed workload against Socket.IO with connection state recovery: the nearest off-the-shelf peer. */
import { finish, steady } from '../steady';
import type { Plan, SeedResult } from '../types';

export async function socketIoWorkload(sizes: number[], plan: Plan, log: (s: string) => void): Promise<SeedResult[]> {
  const results: SeedResult[] = [];
  for (const n of sizes) results.push((await finish(await steady('socketio', n, 1000, plan, log))).result);
  return results;
}
