// Stats: requests, failures and time to first byte over time, and per
// account, model and client key.
import { get } from './api.js';
import { h, clear, ms, num } from './dom.js';
import { bars, lines, legend, timeAxis } from './charts.js';

const periods = { '1h': 'the last hour', '24h': 'the last 24 hours', '7d': 'the last 7 days', '30d': 'the last 30 days' };

// every says how long one bucket is: "2 minutes", "30 minutes", "4 hours", "day".
function every(stepS) {
  if (stepS >= 86400 && stepS % 86400 === 0) return stepS === 86400 ? 'day' : `${stepS / 86400} days`;
  if (stepS >= 3600 && stepS % 3600 === 0) return stepS === 3600 ? 'hour' : `${stepS / 3600} hours`;
  return `${Math.round(stepS / 60)} minutes`;
}

// named shows account labels instead of ids.
function named(list, labels) {
  return list.map((x) => ({ ...x, name: labels.get(x.name) || x.name }));
}

function groupTable(caption, groups) {
  return h('div', { class: 'scroll' }, h('table', {},
    h('caption', { text: caption }),
    h('thead', {}, h('tr', {}, ['Name', 'Requests', 'Failures', 'TTFB p50', 'TTFB p95', 'Tokens in', 'Tokens out', 'Credits'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, groups.map((g) => h('tr', {},
      h('th', { scope: 'row', text: g.name || '(none)' }), h('td', { text: num(g.requests) }), h('td', { text: num(g.failures) }),
      h('td', { text: ms(g.ttfb_p50_ms) }), h('td', { text: ms(g.ttfb_p95_ms) }),
      h('td', { text: num(g.input_tokens) }), h('td', { text: num(g.output_tokens) }), h('td', { text: num(g.credits, 2) }))))));
}

function small(title, list, axis) {
  return h('section', { class: 'card', 'aria-label': title },
    h('h3', { text: title }),
    list.length ? list.map((x) => h('div', {}, h('div', { class: 'muted', text: `${x.name}: ${num(x.total)}` }), bars(`${title}: ${x.name}`, x.requests, null, axis)))
      : h('p', { class: 'muted', text: 'No requests.' }));
}

export async function render(root, ctx) {
  const span = h('select', { id: 'stats-span' },
    ['1h', '24h', '7d', '30d'].map((v) => h('option', { value: v, selected: v === '24h' }, `last ${v}`)));
  const body = h('div');
  root.append(h('h1', { text: 'Stats' }), h('div', { class: 'filters' }, h('label', { for: 'stats-span' }, 'Period', span)), body);
  const draw = async () => {
    const [p, acc] = await Promise.all([get(`/api/stats?span=${span.value}`), get('/api/accounts')]);
    const names = new Map(acc.accounts.map((v) => [v.id, v.label]));
    const axis = timeAxis(p.buckets.map((b) => b.t), p.step_s);
    const t = p.stats.total;
    clear(body).append(
      h('p', { id: 'stats-period', text: `Over ${periods[p.span] || p.span}, one bar per ${every(p.step_s)}: ${num(t.requests)} requests, ${num(t.failures)} failed, time to first byte ${ms(t.ttfb_p50_ms)} p50 / ${ms(t.ttfb_p95_ms)} p95, ${num(t.credits, 2)} credits.` }),
      h('div', { class: 'charts' },
        h('section', { class: 'card', 'aria-label': 'Requests over time' }, h('h3', { text: `Requests and failures per ${every(p.step_s)}` }),
          bars(`Requests and failures per ${every(p.step_s)} over ${periods[p.span] || p.span}`, p.buckets.map((b) => b.requests), p.buckets.map((b) => b.failures), axis),
          legend([['req', 'requests'], ['fail', 'failed']])),
        h('section', { class: 'card', 'aria-label': 'Time to first byte over time' }, h('h3', { text: `Time to first byte per ${every(p.step_s)}` }),
          lines(`Time to first byte per ${every(p.step_s)} over ${periods[p.span] || p.span}`, [
            { name: 'p50', cls: 'p50', values: p.buckets.map((b) => b.ttfb_p50_ms) },
            { name: 'p95', cls: 'p95', values: p.buckets.map((b) => b.ttfb_p95_ms) }], axis, ms),
          legend([['req', 'p50'], ['p95', 'p95']])),
        small('Per account', named(p.accounts, names), axis),
        small('Per model', p.models, axis),
        small('Per client key', p.keys, axis)),
      groupTable('Per account', named(p.stats.accounts || [], names)),
      groupTable('Per model', p.stats.models || []),
      groupTable('Per client key', p.stats.keys || []));
  };
  span.addEventListener('change', draw);
  await draw();
  let timer = null;
  const off = ctx.bus.on('flow', () => { if (!timer) timer = setTimeout(() => { timer = null; draw().catch(() => {}); }, 5000); });
  return () => { off(); clearTimeout(timer); };
}
