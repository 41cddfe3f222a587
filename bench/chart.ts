/**
 * results.json → an SVG chart of cost against N, one line per server: server CPU, RSS per
 * session and p99 lateness. A size the ramp did not reach is drawn hollow at the sessions it
 * did start (its figures describe those), off its server's line, and named in a note.
 */
import type { Results, SeedResult, ServerKind } from './types';

const COLORS: Record<ServerKind, string> = { seqstream: '#1f77b4', bare: '#2ca02c', socketio: '#d62728' };
const NAMES: Record<ServerKind, string> = { seqstream: 'seqstream', bare: 'bare Node.js floor', socketio: 'Socket.IO + recovery' };

/** Where a row is drawn: at the sessions it measured. */
const xOf = (r: SeedResult) => (r.shortfall ? (r.reached ?? 0) : r.sessions);

function panel(title: string, unit: string, rows: SeedResult[], pick: (r: SeedResult) => number, x0: number, w: number, h: number): string {
  const pad = { l: 55, r: 22, t: 30, b: 40 };
  const drawn = rows.filter((r) => Number.isFinite(pick(r)));
  const xMax = Math.max(1, ...rows.map((r) => r.sessions));
  const yMax = Math.max(1e-9, ...drawn.map(pick)) * 1.15;
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
  for (const n of [...new Set(rows.map((r) => r.sessions))]) parts.push(`<text x="${X(n)}" y="${Y(0) + 14}" text-anchor="middle" font-size="10">${n}</text>`);
  for (const kind of Object.keys(COLORS) as ServerKind[]) {
    const mine = drawn.filter((r) => r.server === kind).sort((a, b) => a.sessions - b.sessions);
    const full = mine.filter((r) => !r.shortfall);
    if (full.length) parts.push(`<polyline fill="none" stroke="${COLORS[kind]}" stroke-width="2" points="${full.map((r) => `${X(r.sessions)},${Y(pick(r))}`).join(' ')}"/>`);
    for (const r of mine) {
      const fill = r.shortfall ? 'white' : COLORS[kind];
      parts.push(`<circle cx="${X(xOf(r))}" cy="${Y(pick(r))}" r="3.5" fill="${fill}" stroke="${COLORS[kind]}" stroke-width="1.5"${r.shortfall ? ' class="short"' : ''}/>`);
    }
  }
  return parts.join('\n');
}

export function renderChart(r: Results): string {
  const w = 380;
  const h = 280;
  const rows = r.seed;
  const kinds = (Object.keys(COLORS) as ServerKind[]).filter((k) => rows.some((x) => x.server === k));
  const legend = kinds.map((k, i) => `<rect x="${20 + i * 170}" y="${h + 8}" width="12" height="12" fill="${COLORS[k]}"/><text x="${36 + i * 170}" y="${h + 18}" font-size="12">${NAMES[k]}</text>`).join('\n');
  const short = rows.filter((s) => s.shortfall);
  const note = short.length
    ? `hollow: not reached, drawn at the sessions that started — ${short.map((s) => `${s.server} ${s.reached ?? '?'}/${s.sessions}`).join(', ')}`
    : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${3 * w}" height="${h + 60}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel('server CPU (1 number/s per session)', '% of a core', rows, (x) => x.cpuPercent, 0, w, h),
    panel('server RSS per session', 'KiB', rows, (x) => x.rssPerSessionKiB, w, w, h),
    panel('p99 lateness', 'ms', rows, (x) => x.lateness.p99Ms, 2 * w, w, h),
    legend,
    note ? `<text x="20" y="${h + 38}" font-size="10" fill="#666">${escapeXml(note)}</text>` : '',
    `<text x="${3 * w - 10}" y="${h + 54}" text-anchor="end" font-size="10" fill="#666">${escapeXml(r.date.slice(0, 10))}, ${r.machine.cores} cores, Node ${escapeXml(r.machine.node)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
