/**
 * A small HDR-style histogram: log-linear buckets with ~1.5 % relative precision from 1 µs to
 * about an hour, fixed memory (no sample is stored), mergeable across processes.
 */
const SUB_BUCKETS = 64; // per power of two: relative error ≤ 1/64
const MAX_POW = 32; // 2^32 µs ≈ 71 minutes

export class Histogram {
  readonly counts = new Float64Array(MAX_POW * SUB_BUCKETS);
  total = 0;
  max = 0;

  /** Records a value in microseconds (negative values count as 0). */
  record(us: number): void {
    const v = us < 1 ? 1 : us;
    if (v > this.max) this.max = v;
    this.counts[Histogram.bucket(v)]++;
    this.total++;
  }

  static bucket(v: number): number {
    const pow = Math.min(MAX_POW - 1, Math.floor(Math.log2(v)));
    const base = 2 ** pow;
    const sub = Math.min(SUB_BUCKETS - 1, Math.floor(((v - base) / base) * SUB_BUCKETS));
    return pow * SUB_BUCKETS + sub;
  }

  /** Upper edge of a bucket, so quantiles never under-report. */
  static upper(bucket: number): number {
    const pow = Math.floor(bucket / SUB_BUCKETS);
    const sub = bucket % SUB_BUCKETS;
    return 2 ** pow * (1 + (sub + 1) / SUB_BUCKETS);
  }

  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let b = 0; b < this.counts.length; b++) {
      seen += this.counts[b];
      if (seen >= rank) return Math.min(Histogram.upper(b), this.max);
    }
    return this.max;
  }

  merge(other: { counts: ArrayLike<number>; total: number; max: number }): void {
    for (let b = 0; b < this.counts.length; b++) this.counts[b] += other.counts[b];
    this.total += other.total;
    this.max = Math.max(this.max, other.max);
  }

  /** Sparse form for IPC and result files. */
  toJSON(): { buckets: [number, number][]; total: number; max: number } {
    const buckets: [number, number][] = [];
    this.counts.forEach((c, b) => c && buckets.push([b, c]));
    return { buckets, total: this.total, max: this.max };
  }

  static fromJSON(j: { buckets: [number, number][]; total: number; max: number }): Histogram {
    const h = new Histogram();
    for (const [b, c] of j.buckets) h.counts[b] = c;
    h.total = j.total;
    h.max = j.max;
    return h;
  }
}
