/** results.json → an SVG chart: p99 lateness and RSS per session against session count. */
import type { Results, SeedResult, ServerKind } from './types';

const COLORS: Record<ServerKind, string> = { seqstream: '#1f77b4', bare: '#2ca02c', socketio: '#d62728' };

function panel(title: string, unit: string, rows: SeedResult[], pick: (r: SeedResult) => number, x0: number, w: number, h: number): string {
  const pad = { l: 55, r: 10, t: 30, b: 40 };
  const xs = rows.map((r) => r.sessions);
  const ys = rows.map(pick).filter(Number.isFinite);
  const xMax = Math.max(1, ...xs);
  const yMax = Math.max(1e-9, ...ys) * 1.15;
  const X = (v: number) => x0 + pad.l + (v / xMax) * (w - pad.l - pad.r);
  const Y = (v: number) => pad.t + (1 - v / yMax) * (h - pad.t - pad.b);
  const parts: string[] = [
    `<text x="${x0 + w / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${title}</text>`,
    `<line x1="${X(0)}" y1="${Y(0)}" x2="${X(xMax)}" y2="${Y(0)}" stroke="#333"/>`,
    `<line x1="${X(0)}" y1="${Y(0)}" x2="${X(0)}" y2="${Y(yMax)}" stroke="#333"/>`,
    `<text x="${x0 + w / 2}" y="${h - 6}" text-anchor="middle" font-size="11">sessions</text>`,
    `<text x="${x0 + 12}" y="${h / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 ${x0 + 12} ${h / 2})">${unit}</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = (yMax / 4) * k;
    parts.push(`<text x="${X(0) - 4}" y="${Y(v) + 4}" text-anchor="end" font-size="10">${v < 10 ? v.toFixed(2) : v.toFixed(0)}</text>`);
  }
  for (const n of [...new Set(xs)]) parts.push(`<text x="${X(n)}" y="${Y(0) + 14}" text-anchor="middle" font-size="10">${n}</text>`);
  for (const kind of Object.keys(COLORS) as ServerKind[]) {
    const pts = rows.filter((r) => r.server === kind && Number.isFinite(pick(r))).sort((a, b) => a.sessions - b.sessions);
    if (!pts.length) continue;
    parts.push(`<polyline fill="none" stroke="${COLORS[kind]}" stroke-width="2" points="${pts.map((r) => `${X(r.sessions)},${Y(pick(r))}`).join(' ')}"/>`);
    for (const r of pts) parts.push(`<circle cx="${X(r.sessions)}" cy="${Y(pick(r))}" r="3" fill="${COLORS[kind]}"/>`);
  }
  return parts.join('\n');
}

export function renderChart(r: Results): string {
  const w = 420;
  const h = 280;
  // A size the ramp did not reach describes fewer sessions than its x: left off the chart.
  const rows = r.seed.filter((s) => !s.shortfall);
  const legend = (Object.keys(COLORS) as ServerKind[])
    .filter((k) => rows.some((x) => x.server === k))
    .map((k, i) => `<rect x="${20 + i * 150}" y="${h + 8}" width="12" height="12" fill="${COLORS[k]}"/><text x="${36 + i * 150}" y="${h + 18}" font-size="12">${k === 'bare' ? 'bare Node.js floor' : k === 'socketio' ? 'Socket.IO + recovery' : 'seqstream'}</text>`)
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w}" height="${h + 50}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel('p99 lateness (1 number/s per session)', 'ms', rows, (x) => x.lateness.p99Ms, 0, w, h),
    panel('server RSS per session', 'KiB', rows, (x) => x.rssPerSessionKiB, w, w, h),
    legend,
    `<text x="${2 * w - 10}" y="${h + 40}" text-anchor="end" font-size="10" fill="#666">${r.date.slice(0, 10)}, ${r.machine.cores} cores, Node ${r.machine.node}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
