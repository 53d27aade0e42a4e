// Small inline SVG charts, drawn by hand: no chart library. Every chart
// spans the whole selected period: a mark under each time bucket, and
// labelled ticks at round times, so a quiet period looks quiet instead of
// one bar at the right edge.
import { s, h } from './dom.js';

const W = 360, H = 130, PAD = { l: 46, r: 8, t: 8, b: 28 };

function frame(title, desc) {
  const id = `c${Math.random().toString(36).slice(2, 8)}`;
  return s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}t ${id}d` },
    s('title', { id: `${id}t`, text: title }), s('desc', { id: `${id}d`, text: desc }));
}

// TICKS are the tick spacings an axis may use, in seconds.
const TICKS = [600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400];

// timeAxis describes the buckets of a period: a label for each bucket
// (for the tooltips) and four to eight labelled ticks at round local
// times, placed where those times fall.
export function timeAxis(starts, stepS) {
  const t = starts.map((iso) => new Date(iso).getTime());
  const n = t.length;
  const t0 = n ? t[0] : Date.now();
  const spanMS = stepS * 1000 * Math.max(n, 1);
  const every = TICKS.find((x) => x >= stepS && spanMS / 1000 / x <= 8) || TICKS[TICKS.length - 1];
  const day = every >= 86400;
  const ticks = [];
  const first = new Date(t0);
  first.setHours(0, 0, 0, 0);
  for (let d = first; d.getTime() < t0 + spanMS; ) {
    const at = (d.getTime() - t0) / spanMS;
    const yearDay = Math.round((d - new Date(d.getFullYear(), 0, 1)) / 86400000);
    if (at >= 0 && (!day || yearDay % (every / 86400) === 0)) {
      ticks.push({ at, text: day
        ? d.toLocaleDateString([], every >= 7 * 86400 ? { month: 'short', day: 'numeric' } : { weekday: 'short', day: 'numeric' })
        : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) });
    }
    d = new Date(d);
    if (day) d.setDate(d.getDate() + 1); else d.setTime(d.getTime() + every * 1000);
  }
  const fmt = (ms) => (stepS >= 86400 ? new Date(ms).toLocaleDateString([], { weekday: 'short', month: 'short', day: 'numeric' })
    : new Date(ms).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }));
  const labels = t.map((ms) => `${fmt(ms)} – ${fmt(ms + stepS * 1000)}`);
  return { n, ticks, labels };
}

function axes(svg, maxY, fmt, axis, slot) {
  const y0 = H - PAD.b;
  const width = W - PAD.l - PAD.r;
  for (const tk of axis.ticks) {
    const x = PAD.l + width * tk.at;
    svg.append(s('line', { class: 'grid', x1: x, y1: PAD.t, x2: x, y2: y0 + 4 }));
    const anchor = tk.at < 0.08 ? 'start' : tk.at > 0.92 ? 'end' : 'middle';
    svg.append(s('text', { class: 'tick', x, y: H - 10, 'text-anchor': anchor, text: tk.text }));
  }
  for (let i = 0; i < axis.n; i++) {
    const x = PAD.l + slot * (i + 0.5);
    svg.append(s('line', { class: 'bucket', x1: x, y1: y0, x2: x, y2: y0 + 2 }));
  }
  svg.append(s('line', { class: 'axis', x1: PAD.l, y1: y0, x2: W - PAD.r, y2: y0 }));
  svg.append(s('text', { x: PAD.l - 4, y: PAD.t + 8, 'text-anchor': 'end', text: fmt(maxY) }));
  svg.append(s('text', { x: PAD.l - 4, y: y0, 'text-anchor': 'end', text: '0' }));
}

// bars draws a bar per time bucket: the total, with the failed part on
// top in red. Each bar says its bucket and counts on hover.
export function bars(title, totals, fails, axis) {
  const maxY = Math.max(1, ...totals);
  const total = totals.reduce((a, b) => a + b, 0);
  const failed = (fails || []).reduce((a, b) => a + b, 0);
  const svg = frame(title, `${total} requests${fails ? `, ${failed} failed` : ''}, peak ${maxY} in one bucket`);
  const slot = (W - PAD.l - PAD.r) / Math.max(axis.n, 1);
  axes(svg, maxY, String, axis, slot);
  const scale = (v) => (H - PAD.t - PAD.b) * v / maxY;
  const bw = Math.max(slot - 1, 1);
  totals.forEach((v, i) => {
    if (!v) return;
    const x = PAD.l + i * slot + (slot - bw) / 2, y0 = H - PAD.b;
    const f = fails ? fails[i] : 0;
    const tip = `${axis.labels[i]}: ${v} request${v === 1 ? '' : 's'}${fails ? `, ${f} failed` : ''}`;
    svg.append(s('rect', { class: 'req', x, y: y0 - scale(v), width: bw, height: scale(v) }, s('title', { text: tip })));
    if (f) svg.append(s('rect', { class: 'fail', x, y: y0 - scale(v), width: bw, height: scale(f) }, s('title', { text: tip })));
  });
  return svg;
}

// lines draws one or more series as lines over the buckets; a bucket
// without requests is a gap.
export function lines(title, series, axis, fmt) {
  const all = series.flatMap((x) => x.values);
  const maxY = Math.max(1, ...all);
  const svg = frame(title, series.map((x) => `${x.name} peak ${fmt(Math.max(0, ...x.values))}`).join(', '));
  const slot = (W - PAD.l - PAD.r) / Math.max(axis.n, 1);
  axes(svg, maxY, fmt, axis, slot);
  for (const x of series) {
    let d = '';
    let pen = false;
    x.values.forEach((v, i) => {
      if (!v) { pen = false; return; }
      const px = PAD.l + slot * (i + 0.5), py = H - PAD.b - (H - PAD.t - PAD.b) * v / maxY;
      d += `${pen ? 'L' : 'M'}${px.toFixed(1)} ${py.toFixed(1)} `;
      pen = true;
      svg.append(s('circle', { class: x.cls, cx: px.toFixed(1), cy: py.toFixed(1), r: 2 }, s('title', { text: `${axis.labels[i]}: ${x.name} ${fmt(v)}` })));
    });
    if (d) svg.append(s('path', { class: x.cls, d }));
  }
  return svg;
}

export function legend(items) {
  return h('div', { class: 'legend', 'aria-hidden': 'true' }, items.map(([cls, label]) => h('span', {}, h('span', { class: `k ${cls}` }), label)));
}
