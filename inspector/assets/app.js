// seqstream inspector page: no framework, no CDN, nothing fetched from outside this server.
// Rows arrive as batches over Server-Sent Events; the index of a streaming session and the
// countdown of a suspended one are computed here from the row and the clock, so the server
// sends a row only when its lifecycle changes, not once per number.
'use strict';

const STATES = ['streaming', 'suspended', 'expired', 'complete', 'handedOver'];
const MAX_ROWS = 500;
const rows = new Map();
let counts = { streaming: 0, suspended: 0, expired: 0, complete: 0, handedOver: 0 };
let intervalMs = 1000;
let clockOffset = 0; // server time − page time
let sortKey = 'createdAt';
let sortDir = 1;
let filter = '';
let selected = null;
let dirty = true;

const $ = (s) => document.querySelector(s);
const now = () => Date.now() + clockOffset;

// rows.js, loaded first: the row arithmetic shared with the tests.
const indexOf = (r, t) => window.seqstreamRows.indexOf(r, t, intervalMs);
const windowLeft = (r, t) => window.seqstreamRows.windowLeft(r, t);

// ---- statechart, laid out from the machine's own nodes and transitions ----

const SVG = 'http://www.w3.org/2000/svg';
function el(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
function topOf(id, tops) {
  return tops.find((t) => id === t.id || id.startsWith(t.id + '.'));
}

function drawChart(chart) {
  const svg = $('#chart');
  svg.replaceChildren();
  const defs = el('defs');
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#6b7385' }));
  defs.append(marker);
  svg.append(defs);
  const tops = chart.root.children;
  // Columns by distance from the initial state over transitions lifted to the top level.
  const lifted = [];
  for (const e of chart.edges) {
    const s = topOf(e.source, tops);
    const t = topOf(e.target, tops);
    if (s && t) lifted.push({ s, t, label: e.label, inner: s === t, edge: e });
  }
  const depth = new Map();
  const start = tops.find((t) => t.initial) || tops[0];
  depth.set(start.id, 0);
  const queue = [start];
  while (queue.length) {
    const n = queue.shift();
    for (const l of lifted) if (l.s === n && !depth.has(l.t.id)) (depth.set(l.t.id, depth.get(n.id) + 1), queue.push(l.t));
  }
  for (const t of tops) if (!depth.has(t.id)) depth.set(t.id, 1);
  const columns = [];
  for (const t of tops) (columns[depth.get(t.id)] ||= []).push(t);
  const colW = 340;
  const pos = new Map();
  const heightOf = (t) => 46 + t.children.reduce((h, c) => h + 26 + 24 * Math.max(1, c.children.length), 0);
  columns.forEach((col, ci) => {
    let y = 20;
    for (const t of col) {
      const h = heightOf(t);
      pos.set(t.id, { x: 20 + ci * colW, y: y + 30, w: 240, h });
      y += h + 60;
    }
  });
  const height = Math.max(...[...pos.values()].map((p) => p.y + p.h)) + 30;
  const width = columns.length * colW;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));

  // Transitions between top-level states: one curved arrow per pair of states, carrying every
  // event that makes that move; opposite pairs bend apart.
  const pairs = new Map();
  for (const l of lifted) {
    if (l.inner) continue;
    const k = l.s.id + '>' + l.t.id;
    if (!pairs.has(k)) pairs.set(k, { s: l.s, t: l.t, labels: [] });
    if (!pairs.get(k).labels.includes(l.label)) pairs.get(k).labels.push(l.label);
  }
  for (const l of pairs.values()) {
    const a = pos.get(l.s.id);
    const b = pos.get(l.t.id);
    const forward = a.x < b.x || (a.x === b.x && a.y < b.y);
    const x1 = a.x + (a.x <= b.x ? a.w : 0);
    const x2 = b.x + (a.x <= b.x ? 0 : b.w);
    const y1 = a.y + a.h / 2 + (forward ? -12 : 12);
    const y2 = b.y + Math.min(b.h / 2, 30) + (forward ? -8 : 8);
    const bend = forward ? -30 : 30;
    const cx = (x1 + x2) / 2;
    const cy = (y1 + y2) / 2 + bend;
    svg.append(el('path', { class: 'edge', d: `M${x1},${y1} Q${cx},${cy} ${x2},${y2}`, 'data-source': l.s.key, 'data-target': l.t.key }));
    const text = el('text', { class: 'edge-label', x: cx, y: cy + (forward ? -4 - 11 * (l.labels.length - 1) : 12), 'text-anchor': 'middle' });
    l.labels.forEach((lab, i) => text.append(el('tspan', { x: cx, dy: i === 0 ? 0 : 11 }, lab)));
    svg.append(text);
  }
  // Self-transitions of a top-level state (a RESUME taking over a half-open link).
  for (const l of lifted.filter((x) => x.inner && x.edge.source === x.s.id && x.edge.target === x.s.id)) {
    const p = pos.get(l.s.id);
    svg.append(el('path', { class: 'edge', d: `M${p.x + 40},${p.y} C${p.x + 40},${p.y - 28} ${p.x + 90},${p.y - 28} ${p.x + 90},${p.y}` }));
    svg.append(el('text', { class: 'edge-label', x: p.x + 65, y: p.y - 22, 'text-anchor': 'middle' }, l.label));
  }
  for (const t of tops) {
    const p = pos.get(t.id);
    const g = el('g', { class: 'state', 'data-state': t.key });
    g.append(el('rect', { class: 'box', x: p.x, y: p.y, width: p.w, height: p.h, rx: 8, stroke: `var(--${t.key}, #9aa3b5)` }));
    g.append(el('text', { class: 'title', x: p.x + 10, y: p.y + 18 }, t.key + (t.type === 'final' ? ' (final)' : t.type === 'parallel' ? ' (parallel)' : '')));
    const badge = el('g', { class: 'count' });
    badge.append(el('rect', { x: p.x + p.w - 44, y: p.y + 5, width: 38, height: 18, rx: 9, fill: `var(--${t.key}, #687086)` }));
    badge.append(el('text', { class: 'badge', x: p.x + p.w - 25, y: p.y + 18, 'text-anchor': 'middle', 'data-count': t.key }, '0'));
    g.append(badge);
    let y = p.y + 32;
    for (const region of t.children) {
      const kids = region.children.length ? region.children : [region];
      const rh = 22 + 24 * kids.length;
      if (region.children.length) {
        g.append(el('rect', { class: 'region', x: p.x + 8, y, width: p.w - 16, height: rh, rx: 5 }));
        g.append(el('text', { x: p.x + 14, y: y + 13 }, region.key));
      }
      kids.forEach((k, i) => {
        const ky = y + 18 + i * 24;
        g.append(el('rect', { class: 'pill', x: p.x + 20, y: ky, width: p.w - 40, height: 19, rx: 9 }));
        const inner = chart.edges.filter((e) => e.source === k.id && topOf(e.target, tops) === t && e.target !== t.id);
        const note = inner.length ? '  → ' + [...new Set(inner.map((e) => e.label))].join(', ') : '';
        g.append(el('text', { x: p.x + 28, y: ky + 13 }, k.key + note));
      });
      y += rh + 4;
    }
    svg.append(g);
  }
}

// ---- table ----

function sortValue(r, t) {
  switch (sortKey) {
    case 'progress':
      return r.length ? indexOf(r, t) / r.length : 0;
    case 'deadline':
      return windowLeft(r, t) ?? Infinity;
    case 'connected':
      return r.connected ? 1 : 0;
    case 'state':
      return STATES.indexOf(r.state);
    default:
      return r[sortKey];
  }
}

function visibleRows(t) {
  const f = filter.trim().toLowerCase();
  let list = [...rows.values()];
  if (f) list = list.filter((r) => r.shortId.includes(f) || r.state.includes(f) || r.detail.includes(f));
  list.sort((a, b) => {
    const x = sortValue(a, t);
    const y = sortValue(b, t);
    return (x < y ? -1 : x > y ? 1 : a.createdAt - b.createdAt) * sortDir;
  });
  return { list: list.slice(0, MAX_ROWS), total: list.length };
}

function fmtLeft(ms) {
  return ms === null ? '' : `${(ms / 1000).toFixed(1)} s`;
}

function renderTable() {
  const t = now();
  const { list, total } = visibleRows(t);
  const body = $('#sessions tbody');
  const frag = document.createDocumentFragment();
  for (const r of list) {
    const tr = document.createElement('tr');
    tr.dataset.key = r.key;
    tr.dataset.state = r.state;
    if (r.key === selected) tr.className = 'selected';
    tr.innerHTML =
      `<td class="id"></td><td class="state"><span class="state-badge ${r.state}"></span></td>` +
      `<td class="index"></td><td class="conn"></td><td class="countdown"></td><td class="reconnects"></td>`;
    tr.querySelector('.id').textContent = r.shortId;
    tr.querySelector('.state-badge').textContent = r.state;
    tr.querySelector('.state-badge').title = r.detail;
    fillDynamic(tr, r, t);
    tr.querySelector('.reconnects').textContent = String(r.reconnects);
    frag.append(tr);
  }
  body.replaceChildren(frag);
  $('#shown').textContent = total > list.length ? `showing ${list.length} of ${total}` : `${total} session(s)`;
}

function fillDynamic(tr, r, t) {
  tr.querySelector('.index').textContent = `${indexOf(r, t)} / ${r.length}`;
  tr.querySelector('.conn').textContent = r.state === 'streaming' ? 'connected' : r.state === 'suspended' ? 'suspended' : '—';
  tr.querySelector('.countdown').textContent = fmtLeft(windowLeft(r, t));
}

function renderCounts() {
  const ul = $('#counts');
  ul.replaceChildren(
    ...STATES.map((s) => {
      const li = document.createElement('li');
      li.className = s;
      li.dataset.state = s;
      li.innerHTML = `${s}<span class="n"></span>`;
      li.querySelector('.n').textContent = String(counts[s] ?? 0);
      return li;
    }),
  );
  for (const s of STATES) {
    const text = document.querySelector(`#chart [data-count="${s}"]`);
    if (text) text.textContent = String(counts[s] ?? 0);
    const box = document.querySelector(`#chart g.state[data-state="${s}"] .box`);
    if (box) box.classList.toggle('active', (counts[s] ?? 0) > 0);
  }
}

// ---- the cluster: every node's sessions by state, as the shared store counts them ----

const STORED_STATES = ['streaming', 'suspended', 'expired', 'complete'];

function renderCluster(view) {
  // No shared store: this node is the whole picture, the strip stays hidden.
  if (!view.counts && !view.error) return void ($('#cluster').hidden = true);
  $('#cluster').hidden = false;
  $('#cluster').dataset.status = view.error ? 'unavailable' : 'live';
  $('#cluster-status').textContent = view.error ? `store unavailable: ${view.error}` : '';
  if (!view.counts) return;
  $('#cluster-counts').replaceChildren(
    ...STORED_STATES.map((s) => {
      const li = document.createElement('li');
      li.className = s;
      li.dataset.state = s;
      li.textContent = s;
      const n = document.createElement('span');
      n.className = 'n';
      n.textContent = String(view.counts[s] ?? 0);
      li.append(n);
      return li;
    }),
  );
}

// ---- detail: one session's event history ----

async function showDetail(key) {
  selected = key;
  const res = await fetch(`sessions/${encodeURIComponent(key)}`);
  if (!res.ok) return;
  const { row, history } = await res.json();
  $('#detail').hidden = false;
  $('#detail-id').textContent = row.shortId;
  $('#detail-state').textContent = `${row.detail}, ${row.reconnects} reconnect(s)`;
  $('#history').replaceChildren(
    ...history.map((h) => {
      const li = document.createElement('li');
      li.className = h.kind;
      const time = document.createElement('time');
      time.textContent = new Date(h.t).toISOString().slice(11, 23);
      const text = document.createElement('span');
      text.className = 'text';
      text.textContent = h.text;
      li.append(time, text);
      return li;
    }),
  );
  dirty = true;
}

// ---- wiring ----

function applyBatch(b) {
  clockOffset = b.now - Date.now();
  intervalMs = b.intervalMs;
  if (b.full) rows.clear();
  for (const r of b.rows) rows.set(r.key, r);
  for (const k of b.removed) rows.delete(k);
  counts = b.counts;
  renderCounts();
  dirty = true;
  if (selected && b.rows.some((r) => r.key === selected)) void showDetail(selected);
}

function connect() {
  const es = new EventSource('events');
  es.onopen = () => {
    $('#status').dataset.status = 'live';
    $('#status').textContent = 'live';
  };
  es.onmessage = (m) => applyBatch(JSON.parse(m.data));
  es.addEventListener('cluster', (m) => renderCluster(JSON.parse(m.data)));
  es.onerror = () => {
    $('#status').dataset.status = 'lost';
    $('#status').textContent = 'connection to the server lost; retrying';
  };
}

document.querySelectorAll('th[data-sort]').forEach((th) =>
  th.addEventListener('click', () => {
    const key = th.dataset.sort;
    sortDir = sortKey === key ? -sortDir : 1;
    sortKey = key;
    document.querySelectorAll('th[data-sort]').forEach((x) => x.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
    dirty = true;
  }),
);
$('#filter').addEventListener('input', (e) => {
  filter = e.target.value;
  dirty = true;
});
$('#sessions tbody').addEventListener('click', (e) => {
  const tr = e.target.closest('tr[data-key]');
  if (tr) void showDetail(tr.dataset.key);
});
$('#detail-close').addEventListener('click', () => {
  selected = null;
  $('#detail').hidden = true;
  dirty = true;
});

// Rows are rebuilt at most every 250 ms; in between only the moving cells (index, countdown).
setInterval(() => {
  if (dirty) {
    dirty = false;
    renderTable();
    return;
  }
  const t = now();
  for (const tr of document.querySelectorAll('#sessions tbody tr')) {
    const r = rows.get(tr.dataset.key);
    if (r) fillDynamic(tr, r, t);
  }
}, 250);

fetch('chart')
  .then((r) => r.json())
  .then(({ title, chart }) => {
    document.title = title;
    $('#title').textContent = title;
    drawChart(chart);
    renderCounts();
    connect();
  });
