/** results.json → the Markdown tables that docs/BENCHMARKS.md quotes. */
import type { Results, SeedResult } from './types';

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');

function seedRow(r: SeedResult): string {
  return `| ${r.server} | ${r.sessions} | ${f(r.numbersPerSec, 0)} | ${f(r.lateness.p50Ms, 2)} | ${f(r.lateness.p99Ms, 2)} | ${f(r.lateness.maxMs, 1)} | ${f(r.cpuPercent)} | ${f(r.rssMiB, 0)} | ${f(r.rssPerSessionKiB, 2)} | ${r.loss} / ${r.dup} / ${r.badValues} | ${r.connectedAtEnd ?? '–'}/${r.sessions} | ${f(r.serverLoopP99Ms ?? NaN, 1)} / ${f(r.serverLoopMaxMs ?? NaN, 1)} | ${f(r.gcMaxPauseMs ?? NaN, 1)} |`;
}

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const out: string[] = [
    `# Benchmark results (${r.mode})`,
    '',
    `Run ${r.date} on ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, open-file limit ${m.fdLimit}.`,
    'Every figure comes from this one run; the baselines ran on the same machine with the same generator.',
    '',
    '## 1. Seed workload: one number per second per session',
    '',
    'Lateness is what the clients saw (generator side included); server loop delay and GC pause are the server\'s own share (bench/gc-watch.ts), over the same stretch.',
    '',
    '| server | sessions | numbers/s | lateness p50 ms | p99 ms | max ms | server CPU % of a core | server RSS MiB | RSS KiB/session | loss / dup / bad value | connected at end | server loop delay p99 / max ms | GC pause max ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|',
    ...r.seed.map(seedRow),
    '',
  ];
  const pairs = r.seed.filter((s) => s.server === 'seqstream');
  if (pairs.length) {
    out.push('Cost of the design against the bare floor at the same N (seqstream ÷ bare):', '', '| sessions | CPU ratio | RSS/session ratio | p99 lateness ratio |', '|---:|---:|---:|---:|');
    for (const s of pairs) {
      const b = r.seed.find((x) => x.server === 'bare' && x.sessions === s.sessions);
      if (b) out.push(`| ${s.sessions} | ${f(s.cpuPercent / b.cpuPercent, 2)} | ${f(s.rssPerSessionKiB / b.rssPerSessionKiB, 2)} | ${f(s.lateness.p99Ms / b.lateness.p99Ms, 2)} |`);
    }
    out.push('');
    const io = r.seed.filter((s) => s.server === 'socketio');
    if (io.length) {
      out.push('Against Socket.IO with connection state recovery at the same N (seqstream ÷ Socket.IO):', '', '| sessions | CPU ratio | RSS/session ratio |', '|---:|---:|---:|');
      for (const i of io) {
        const s = pairs.find((x) => x.sessions === i.sessions);
        if (s) out.push(`| ${i.sessions} | ${f(s.cpuPercent / i.cpuPercent, 2)} | ${f(s.rssPerSessionKiB / i.rssPerSessionKiB, 2)} |`);
      }
      out.push('');
    }
  }
  out.push(
    '## 2. Throughput ceiling',
    '',
    'Interval shrinks until p99 lateness passes 10 % of the interval (or a number is lost).',
    '',
    '| server | interval ms | numbers/s | p99 ms | CPU % | within budget |',
    '|---|---:|---:|---:|---:|---|',
    ...r.throughput.map((t) => `| ${t.server} | ${t.intervalMs} | ${f(t.numbersPerSec, 0)} | ${f(t.p99Ms, 2)} | ${f(t.cpuPercent)} | ${t.withinBudget ? 'yes' : 'no'} |`),
    '',
    `Highest sustained: seqstream ${f(r.ceilings.seqstream, 0)} numbers/s, bare floor ${f(r.ceilings.bare, 0)} numbers/s: **${f(100 * r.ceilings.ratio, 0)} %** of the floor.`,
    '',
  );
  if (r.storm) {
    const s = r.storm;
    out.push(
      '## 3. Reconnect storm',
      '',
      `${s.sessions} streaming sessions, every connection cut at once, all reconnect together.`,
      '',
      '| resumed | time to next number p50 ms | p99 ms | max ms | loss | dup | expired | rejects |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| ${s.resumed}/${s.sessions} | ${f(s.resume.p50Ms, 0)} | ${f(s.resume.p99Ms, 0)} | ${f(s.resume.maxMs, 0)} | ${s.loss} | ${s.dup} | ${s.expired} | ${s.rejects} |`,
      '',
    );
  }
  if (r.inspector?.length) {
    out.push(
      '## 4. The live inspector: on against off',
      '',
      'Seqstream with `--inspect` and one page\'s event stream connected from before the first session, against seqstream without it, same N, same run.',
      '',
      '| sessions | CPU % off / on | p99 ms off / on | RSS KiB/session off / on | server loop p99 ms off / on | page fed KiB/s | batches/s |',
      '|---:|---:|---:|---:|---:|---:|---:|',
      ...r.inspector.map(
        (i) =>
          `| ${i.sessions} | ${f(i.off.cpuPercent)} / ${f(i.on.cpuPercent)} | ${f(i.off.lateness.p99Ms, 2)} / ${f(i.on.lateness.p99Ms, 2)} | ${f(i.off.rssPerSessionKiB, 2)} / ${f(i.on.rssPerSessionKiB, 2)} | ${f(i.off.serverLoopP99Ms ?? NaN, 1)} / ${f(i.on.serverLoopP99Ms ?? NaN, 1)} | ${f(i.sseBytesPerSec / 1024, 1)} | ${f(i.sseBatchesPerSec, 1)} |`,
      ),
      '',
    );
  }
  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
