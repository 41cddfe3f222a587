/**
 * The soak's independent check of one client's run: every number it was handed, index by index,
 * against the seed the *server side* drew for its session (never the client's own verifier),
 * plus both checksums. Shared by the in-process chaos soak and the multi-process cluster tests,
 * which get the seed from different places (the server object, the Redis record).
 */
import { sequenceChecksum, valueAt, type Seed } from '../core/sequence';
import type { ClientResult } from '../transport/client/client';

/** What a client was handed: the value per index, and how many times numbers were handed at all. */
export interface Received {
  values: Map<number, number>;
  calls: number;
}

export interface Verdict {
  lost: number;
  duplicated: number;
  wrong: number;
  /** Numbers handed to the client (duplicates included). */
  received: number;
  /** Null when the run is exact; else one line saying what is wrong. */
  problem: string | null;
}

export function verifyRun(got: Received, res: ClientResult, seed: Seed | undefined): Verdict {
  const v: Verdict = { lost: 0, duplicated: 0, wrong: 0, received: got.calls, problem: null };
  if (!res.ok) return { ...v, problem: `client failed: ${res.failure ?? 'no reason'}` };
  if (!seed || res.length === null) return { ...v, problem: 'the server never announced this session' };
  for (let i = 0; i < res.length; i++) {
    const value = got.values.get(i);
    if (value === undefined) v.lost++;
    else if (value !== valueAt(seed, i)) v.wrong++;
  }
  v.duplicated = got.calls - got.values.size;
  if (v.lost || v.wrong || v.duplicated) return { ...v, problem: `${v.lost} lost, ${v.duplicated} duplicated, ${v.wrong} wrong values` };
  const expected = sequenceChecksum(seed, res.length);
  if (res.localChecksum !== expected || res.serverChecksum !== expected) {
    return { ...v, problem: `checksums local ${res.localChecksum} and server ${res.serverChecksum}, the sequence's is ${expected}` };
  }
  return v;
}
