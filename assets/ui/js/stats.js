// Stats: requests, failures and time to first byte over time, and per
// account, model and client key.
import { get } from './api.js';
import { h, clear, ms, num } from './dom.js';
import { bars, lines, legend } from './charts.js';

function label(iso, stepS) {
  const d = new Date(iso);
  if (stepS >= 86400) return d.toLocaleDateString();
  if (stepS >= 1800) return d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

// named shows account labels instead of ids.
function named(list, labels) {
  return list.map((x) => ({ ...x, name: labels.get(x.name) || x.name }));
}

function groupTable(caption, groups) {
  return h('table', {},
    h('caption', { text: caption }),
    h('thead', {}, h('tr', {}, ['Name', 'Requests', 'Failures', 'TTFB p50', 'TTFB p95', 'Tokens in', 'Tokens out', 'Credits'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, groups.map((g) => h('tr', {},
      h('th', { scope: 'row', text: g.name || '(none)' }), h('td', { text: num(g.requests) }), h('td', { text: num(g.failures) }),
      h('td', { text: ms(g.ttfb_p50_ms) }), h('td', { text: ms(g.ttfb_p95_ms) }),
      h('td', { text: num(g.input_tokens) }), h('td', { text: num(g.output_tokens) }), h('td', { text: num(g.credits, 2) })))));
}

function small(title, list, labels) {
  return h('section', { class: 'card', 'aria-label': title },
    h('h3', { text: title }),
    list.length ? list.map((x) => h('div', {}, h('div', { class: 'muted', text: `${x.name}: ${num(x.total)}` }), bars(`${title}: ${x.name}`, x.requests, null, labels)))
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
    const labels = p.buckets.map((b) => label(b.t, p.step_s));
    const t = p.stats.total;
    clear(body).append(
      h('p', { text: `${num(t.requests)} requests, ${num(t.failures)} failed, time to first byte ${ms(t.ttfb_p50_ms)} p50 / ${ms(t.ttfb_p95_ms)} p95, ${num(t.credits, 2)} credits.` }),
      h('div', { class: 'charts' },
        h('section', { class: 'card', 'aria-label': 'Requests over time' }, h('h3', { text: 'Requests and failures' }),
          bars('Requests and failures over time', p.buckets.map((b) => b.requests), p.buckets.map((b) => b.failures), labels),
          legend([['req', 'requests'], ['fail', 'failed']])),
        h('section', { class: 'card', 'aria-label': 'Time to first byte over time' }, h('h3', { text: 'Time to first byte' }),
          lines('Time to first byte over time', [
            { name: 'p50', cls: 'p50', values: p.buckets.map((b) => b.ttfb_p50_ms) },
            { name: 'p95', cls: 'p95', values: p.buckets.map((b) => b.ttfb_p95_ms) }], labels, ms),
          legend([['req', 'p50'], ['p95', 'p95']])),
        small('Per account', named(p.accounts, names), labels),
        small('Per model', p.models, labels),
        small('Per client key', p.keys, labels)),
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
