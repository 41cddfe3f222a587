/** results.json → the Markdown tables that docs/BENCHMARKS.md quotes. */
import { targets, type TargetRow } from './targets';
import type { Results, ScaleoutResult, SeedResult } from './types';

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');

function seedRow(r: SeedResult): string {
  const n = r.shortfall ? `${r.sessions} (**not reached**: ${r.reached ?? '?'})` : `${r.sessions}`;
  return `| ${r.server} | ${n} | ${f(r.rampPerSec ?? NaN, 0)} | ${f(r.numbersPerSec, 0)} | ${f(r.lateness.p50Ms, 2)} | ${f(r.lateness.p99Ms, 2)} | ${f(r.lateness.maxMs, 1)} | ${f(r.cpuPercent)} | ${f(r.rssMiB, 0)} | ${f(r.heapUsedMiB ?? NaN, 0)} / ${f(r.heapCommittedMiB ?? NaN, 0)} | ${f(r.rssPerSessionKiB, 2)} | ${r.loss} / ${r.dup} / ${r.badValues} | ${r.connectedAtEnd ?? '–'}/${r.sessions} | ${f(r.serverLoopP99Ms ?? NaN, 1)} / ${f(r.serverLoopMaxMs ?? NaN, 1)} | ${f(r.gcMaxPauseMs ?? NaN, 1)} |`;
}

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const out: string[] = [
    `# Benchmark results (${r.mode})`,
    '',
    `Run ${r.date} on ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, open-file limit ${m.fdLimit}.`,
    'Every figure comes from this one run; the baselines ran on the same machine with the same generator.',
    '',
    ...targetsSection(r),
    '## 1. Seed workload: one number per second per session',
    '',
    'Lateness is what the clients saw (generator side included); server loop delay and GC pause are the server\'s own share (bench/gc-watch.ts), over the same stretch.',
    '',
    '| server | sessions | ramp reached /s | numbers/s | lateness p50 ms | p99 ms | max ms | server CPU % of a core | server RSS MiB | V8 heap used / committed MiB | RSS KiB/session | loss / dup / bad value | connected at end | server loop delay p99 / max ms | GC pause max ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|',
    ...r.seed.map(seedRow),
    '',
  ];
  const short = r.seed.filter((s) => s.shortfall);
  if (short.length) {
    out.push('Sizes the ramp did not reach in its time (their figures describe the sessions that did start, and no ratio uses them):', '');
    for (const s of short) out.push(`- ${s.server} at ${s.sessions}: ${s.shortfall}`);
    out.push('');
  }
  const pairs = r.seed.filter((s) => s.server === 'seqstream' && !s.shortfall);
  if (pairs.length) {
    out.push('Cost of the design against the bare floor at the same N (seqstream ÷ bare):', '', '| sessions | CPU ratio | RSS/session ratio | p99 lateness ratio |', '|---:|---:|---:|---:|');
    for (const s of pairs) {
      const b = r.seed.find((x) => x.server === 'bare' && x.sessions === s.sessions && !x.shortfall);
      if (b) out.push(`| ${s.sessions} | ${f(s.cpuPercent / b.cpuPercent, 2)} | ${f(s.rssPerSessionKiB / b.rssPerSessionKiB, 2)} | ${f(s.lateness.p99Ms / b.lateness.p99Ms, 2)} |`);
    }
    out.push('');
    const io = r.seed.filter((s) => s.server === 'socketio' && !s.shortfall);
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
    `The interval shrinks (the offered rate grows) until a step breaks the rule: ${r.ceilings.rule ?? 'p99 lateness ≤ 10 % of the interval and nothing lost'}. Client p99 is shown, not judged: on shared cores it is the generators' noise.`,
    '',
    '| server | interval ms | offered/s | delivered/s | client p99 ms | server loop p99 ms | CPU % | loss | within the rule |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...r.throughput.map(
      (t) =>
        `| ${t.server} | ${t.intervalMs} | ${f(t.offeredPerSec ?? NaN, 0)} | ${f(t.numbersPerSec, 0)} | ${f(t.p99Ms, 2)} | ${f(t.serverLoopP99Ms ?? NaN, 1)} | ${f(t.cpuPercent)} | ${t.loss ?? '–'} | ${t.withinBudget ? 'yes' : `no: ${t.failed ?? ''}`} |`,
    ),
    '',
    `Highest sustained: seqstream ${f(r.ceilings.seqstream, 0)} numbers/s, bare floor ${f(r.ceilings.bare, 0)} numbers/s: **${f(100 * r.ceilings.ratio, 0)} %** of the floor.${r.ceilings.aboveRange?.length ? ` ${r.ceilings.aboveRange.join(' and ')} kept the rule at every step offered: that ceiling is above the highest rate tried.` : ''}`,
    '',
  );
  const storms = r.storms?.length ? r.storms : r.storm ? [r.storm] : [];
  if (storms.length) {
    const n = (x: number | null | undefined, d = 0) => (x === null || x === undefined ? '–' : f(x, d));
    out.push(
      '## 3. Reconnect storm',
      '',
      `${storms[0].sessions} streaming sessions per server, every connection cut at once, all reconnect together: seqstream and the bare floor RESUME at once (same framing; the floor continues from the client's index), Socket.IO reconnects by itself (first retry after 500–1000 ms) with connection state recovery. Time to next number counts from the cut.`,
      '',
      '| server | resumed | time to next number p50 ms | p99 ms | max ms | loss | dup | expired | rejects |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...storms.map((s) => `| ${s.server ?? 'seqstream'} | ${s.resumed}/${s.sessions} | ${f(s.resume.p50Ms, 0)} | ${f(s.resume.p99Ms, 0)} | ${f(s.resume.maxMs, 0)} | ${s.loss} | ${s.dup} | ${s.expired} | ${s.rejects} |`),
      '',
    );
    if (r.stormRatio) out.push(`Seqstream ÷ bare floor, time to next number: p50 **${f(r.stormRatio.p50, 2)}×**, p99 **${f(r.stormRatio.p99, 2)}×**.`, '');
    const where = storms.filter((s) => s.where);
    if (where.length) {
      out.push(
        'Where the time went, from the cut until the last session had its next number: the server\'s CPU and event-loop delay over that stretch, and the kernel\'s accept queue (listen overflows: `nstat` delta, machine-wide; Recv-Q: largest `ss -lnt` sample of the listener, against its backlog).',
        '',
        '| server | settled in ms | server CPU s | loop delay p50 / p99 / max ms | GC ms | listen overflows / drops | accept queue max / backlog (samples) |',
        '|---|---:|---:|---:|---:|---:|---:|',
        ...where.map((s) => {
          const w = s.where!;
          return `| ${s.server ?? 'seqstream'} | ${f(w.settleMs, 0)} | ${f(w.serverCpuSec, 2)} | ${n(w.serverLoopP50Ms, 1)} / ${n(w.serverLoopP99Ms, 1)} / ${n(w.serverLoopMaxMs, 1)} | ${n(w.gcTotalMs)} | ${n(w.listenOverflows)} / ${n(w.listenDrops)} | ${n(w.recvQMax)} / ${n(w.backlog)} (${w.recvQSamples}) |`;
        }),
        '',
      );
    }
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
  if (r.scaleout) out.push(...scaleoutSection(r.scaleout));
  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

/** A Markdown table cell: a figure may hold a peer's or a generator's words. */
export const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export const verdictCell = (t: TargetRow) => (t.verdict === 'not measured' ? 'not measured' : `**${t.verdict}**`);

function targetsSection(r: Results): string[] {
  const rows = targets(r);
  const met = rows.filter((t) => t.verdict === 'met').length;
  return [
    '## Targets of issue 12',
    '',
    `Ratios are seqstream ÷ the other server at the same N in this run (bench/targets.ts holds the bounds). ${met} of ${rows.length} met.`,
    '',
    '| target | this run | verdict |',
    '|---|---|---|',
    ...rows.map((t) => `| ${cell(t.target)} | ${cell(t.figure)} | ${verdictCell(t)} |`),
    '',
  ];
}

function scaleoutSection(x: ScaleoutResult): string[] {
  const out = ['## 5. Scale-out: Redis store, nodes behind HAProxy, --workers', '', `redis-server ${x.redisVersion} (no persistence), HAProxy and the nodes are the real processes of cluster/.`, ''];
  if (x.store) {
    const s = x.store;
    out.push(
      `### Redis store against memory store, ${s.sessions} sessions at 1 number/s`,
      '',
      '| store | server CPU % | server RSS MiB | RSS KiB/session | lateness p99 ms | loss / dup | connected at end |',
      '|---|---:|---:|---:|---:|---|---:|',
      ...[s.memory, s.redis].map((r, k) => `| ${k ? 'redis' : 'memory'} | ${f(r.cpuPercent)} | ${f(r.rssMiB, 0)} | ${f(r.rssPerSessionKiB, 2)} | ${f(r.lateness.p99Ms, 2)} | ${r.loss} / ${r.dup} | ${r.connectedAtEnd}/${r.sessions} |`),
      '',
      `Redis ÷ memory: CPU **${f(s.cpuRatio, 2)}×**, RSS **${f(s.rssRatio, 2)}×**. redis-server while the sessions stream: ${f(s.redisCpuPercentSteady)} % of a core; Redis memory per live (streaming) record: ${f(s.bytesPerStreamingRecord, 0)} B.`,
      '',
    );
  }
  if (x.lifetimes) {
    const l = x.lifetimes;
    const by = Object.entries(l.redis.byCommand)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${f(n / l.completed, 1)}`)
      .join(', ');
    out.push(
      `### Session lifetimes through Redis (HELLO, one cut and RESUME, END), ${l.sessions} sessions`,
      '',
      `${l.completed}/${l.sessions} completed; loss ${l.loss}, dup ${l.dup}, rejects ${l.rejects}. Per lifetime: **${f(l.scriptsPerLifetime, 2)} scripts**, ${f(l.commandsPerLifetime, 1)} Redis commands (${by}). redis-server: **${f(l.redisCpuUsPerScript, 1)} µs CPU per script** (network and idle housekeeping included; ${f(l.redis.scriptExecUsec / l.redis.scripts, 1)} µs executing it, from commandstats), ${f(l.bytesPerTombstone, 0)} B per tombstone.`,
      '',
    );
  }
  if (x.storm) {
    const s = x.storm;
    out.push(
      `### Reconnect storm through Redis, ${s.sessions} sessions`,
      '',
      '| resumed | time to next number p50 ms | p99 ms | max ms | loss | dup | expired | rejects | redis-server CPU s | scripts |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| ${s.resumed}/${s.sessions} | ${f(s.resume.p50Ms, 0)} | ${f(s.resume.p99Ms, 0)} | ${f(s.resume.maxMs, 0)} | ${s.loss} | ${s.dup} | ${s.expired} | ${s.rejects} | ${f(s.redisCpuSec, 2)} | ${s.redisScripts} |`,
      '',
    );
  }
  if (x.failover) {
    const v = x.failover;
    out.push(
      `### Node failure: ${v.nodes} nodes × ${v.perNode} sessions behind HAProxy, one SIGKILLed`,
      '',
      `Clients reconnect with the real client's backoff: ${v.backoffBaseMs} ms first ceiling, doubling per failed attempt, **cap ${v.backoffCapMs} ms** (equal jitter); HAProxy checks /ready every ${v.haproxyCheckMs} ms.`,
      '',
      '| sessions cut | resumed elsewhere | kill → next number p50 ms | p99 ms | max ms | loss | dup | expired | rejects | connected at end |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| ${v.cut} | ${v.resumed} | ${f(v.resume.p50Ms, 0)} | ${f(v.resume.p99Ms, 0)} | ${f(v.resume.maxMs, 0)} | ${v.loss} | ${v.dup} | ${v.expired} | ${v.rejects} | ${v.connectedAtEnd}/${v.sessions} |`,
      '',
    );
  }
  if (x.workers) {
    const w = x.workers;
    out.push(
      `### One machine, --workers 2 with the Redis store, ${w.target} sessions at 1 number/s`,
      '',
      `Reached **${w.reached}/${w.target}** over ${w.generators} generator process(es)${w.shortfall ? ` — short: ${w.shortfall}` : ''}. ${f(w.numbersPerSec, 0)} numbers/s, lateness p50 ${f(w.lateness.p50Ms, 1)} p99 ${f(w.lateness.p99Ms, 1)} ms, loss ${w.loss}, dup ${w.dup}, bad values ${w.badValues}, rejects ${w.rejects}; primary ${f(w.primaryCpuPercent)} % CPU.`,
      '',
      '| worker pid | CPU % of a core | share of the workers\' CPU | open files | RSS MiB |',
      '|---:|---:|---:|---:|---:|',
      ...w.workers.map((k) => `| ${k.pid} | ${f(k.cpuPercent)} | ${f(100 * k.share, 0)} % | ${k.openFiles} | ${f(k.rssMiB, 0)} |`),
      '',
    );
  }
  return out;
}
