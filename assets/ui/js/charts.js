// Small inline SVG charts, drawn by hand: no chart library.
import { s, h } from './dom.js';

const W = 360, H = 120, PAD = { l: 34, r: 6, t: 8, b: 18 };

function frame(title, desc) {
  const id = `c${Math.random().toString(36).slice(2, 8)}`;
  return s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}t ${id}d` },
    s('title', { id: `${id}t`, text: title }), s('desc', { id: `${id}d`, text: desc }));
}

function axes(svg, maxY, fmt, labels) {
  const y0 = H - PAD.b;
  svg.append(s('line', { class: 'axis', x1: PAD.l, y1: y0, x2: W - PAD.r, y2: y0 }));
  svg.append(s('text', { x: PAD.l - 4, y: PAD.t + 8, 'text-anchor': 'end', text: fmt(maxY) }));
  svg.append(s('text', { x: PAD.l - 4, y: y0, 'text-anchor': 'end', text: '0' }));
  if (labels.length) {
    svg.append(s('text', { x: PAD.l, y: H - 4, text: labels[0] }));
    svg.append(s('text', { x: W - PAD.r, y: H - 4, 'text-anchor': 'end', text: labels[labels.length - 1] }));
  }
}

// bars draws stacked bars: total with the failed part on top.
export function bars(title, totals, fails, labels) {
  const maxY = Math.max(1, ...totals);
  const total = totals.reduce((a, b) => a + b, 0);
  const failed = (fails || []).reduce((a, b) => a + b, 0);
  const svg = frame(title, `${total} requests${fails ? `, ${failed} failed` : ''}, peak ${maxY} per step`);
  axes(svg, maxY, String, labels);
  const n = totals.length, bw = (W - PAD.l - PAD.r) / Math.max(n, 1);
  const scale = (v) => (H - PAD.t - PAD.b) * v / maxY;
  totals.forEach((v, i) => {
    if (!v) return;
    const x = PAD.l + i * bw + 0.5, y0 = H - PAD.b;
    svg.append(s('rect', { class: 'req', x, y: y0 - scale(v), width: Math.max(bw - 1, 1), height: scale(v) }));
    const f = fails ? fails[i] : 0;
    if (f) svg.append(s('rect', { class: 'fail', x, y: y0 - scale(v), width: Math.max(bw - 1, 1), height: scale(f) }));
  });
  return svg;
}

// lines draws one or more series as lines; zeros are gaps.
export function lines(title, series, labels, fmt) {
  const all = series.flatMap((x) => x.values);
  const maxY = Math.max(1, ...all);
  const svg = frame(title, series.map((x) => `${x.name} peak ${fmt(Math.max(0, ...x.values))}`).join(', '));
  axes(svg, maxY, fmt, labels);
  const n = Math.max(...series.map((x) => x.values.length), 1);
  const step = (W - PAD.l - PAD.r) / Math.max(n - 1, 1);
  for (const x of series) {
    let d = '';
    let pen = false;
    x.values.forEach((v, i) => {
      if (!v) { pen = false; return; }
      const px = PAD.l + i * step, py = H - PAD.b - (H - PAD.t - PAD.b) * v / maxY;
      d += `${pen ? 'L' : 'M'}${px.toFixed(1)} ${py.toFixed(1)} `;
      pen = true;
      svg.append(s('circle', { class: x.cls, cx: px.toFixed(1), cy: py.toFixed(1), r: 2 }));
    });
    svg.append(s('path', { class: x.cls, d: d || `M${PAD.l} ${H - PAD.b}` }));
  }
  return svg;
}

export function legend(items) {
  return h('div', { class: 'legend', 'aria-hidden': 'true' }, items.map(([cls, label]) => h('span', {}, h('span', { class: `k ${cls}` }), label)));
}
