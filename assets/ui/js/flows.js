// Flows: a filterable, paged list that grows live, and one flow's detail.
import { get } from './api.js';
import { h, append, clear, badge, ms, num, clock, time } from './dom.js';

const PAGE = 50;

function filterFrom(form) {
  const q = new URLSearchParams();
  for (const name of ['status', 'model', 'account', 'key', 'since']) {
    const v = form[name].value.trim();
    if (v) q.set(name, v);
  }
  if (form.until.value) q.set('until', new Date(form.until.value).toISOString());
  return q;
}

// matches says whether a live row belongs in the list as filtered.
function matches(r, q) {
  if (q.get('status') && r.status !== q.get('status')) return false;
  if (q.get('model') && r.client_model !== q.get('model') && r.kiro_model !== q.get('model')) return false;
  if (q.get('account') && r.account_id !== q.get('account')) return false;
  if (q.get('key') && r.key_name !== q.get('key')) return false;
  if (q.get('until')) return false;
  return true;
}

// COLUMNS head the list; a team gateway's list adds which instance
// served each flow.
const COLUMNS = ['Time', 'Status', 'Model', 'Account', 'Key', 'Surface', 'TTFB', 'Duration', 'Tokens in / out'];

function row(r, fresh, team) {
  const tokens = `${num(r.input_tokens)} / ${num(r.output_tokens)}`;
  return h('tr', { class: fresh ? 'new' : undefined, 'data-id': r.id },
    h('td', {}, h('a', { href: `#/flows/${encodeURIComponent(r.id)}`, 'aria-label': `Flow ${r.id} at ${clock(r.time)}` }, clock(r.time))),
    h('td', {}, badge(r.status), r.http_status && r.http_status !== 200 ? ` ${r.http_status}` : ''),
    h('td', { text: r.client_model || '–' }),
    h('td', { text: r.account_id || '–' }),
    h('td', { text: r.key_name || '–' }),
    h('td', { text: r.surface || '' }),
    h('td', { text: ms(r.ttfb_ms) }),
    h('td', { text: ms(r.duration_ms) }),
    h('td', { text: tokens }),
    team ? h('td', { text: r.instance || '–' }) : null);
}

async function list(root, ctx) {
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter flows' },
    h('label', { for: 'f-status' }, 'Status', h('select', { id: 'f-status', name: 'status' },
      h('option', { value: '' }, 'any'), h('option', { value: 'completed' }, 'completed'),
      h('option', { value: 'failed' }, 'failed'), h('option', { value: 'cancelled' }, 'cancelled'))),
    h('label', { for: 'f-model' }, 'Model', h('input', { id: 'f-model', name: 'model', size: 16 })),
    h('label', { for: 'f-account' }, 'Account', h('input', { id: 'f-account', name: 'account', size: 12 })),
    h('label', { for: 'f-key' }, 'Client key', h('input', { id: 'f-key', name: 'key', size: 8 })),
    h('label', { for: 'f-since' }, 'Since', h('select', { id: 'f-since', name: 'since' },
      h('option', { value: '' }, 'any time'), h('option', { value: '15m' }, 'last 15 minutes'),
      h('option', { value: '1h' }, 'last hour'), h('option', { value: '24h' }, 'last 24 hours'), h('option', { value: '7d' }, 'last 7 days'))),
    h('label', { for: 'f-until' }, 'Until', h('input', { id: 'f-until', name: 'until', type: 'datetime-local' })),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'));
  const body = h('tbody', { id: 'flow-rows' });
  const head = h('thead', {});
  let team = false;
  const header = () => head.replaceChildren(h('tr', {}, [...COLUMNS, ...(team ? ['Instance'] : [])].map((t) => h('th', { scope: 'col', text: t }))));
  header();
  const table = h('table', { 'aria-describedby': 'flows-caption' },
    h('caption', { id: 'flows-caption', text: 'Newest first; new requests appear as they finish.' }),
    head, body);
  const newer = h('button', { type: 'button' }, 'Newest');
  const older = h('button', { type: 'button' }, 'Older');
  const empty = h('p', { class: 'muted', text: 'No flows match.' });
  root.append(h('h1', { text: 'Flows' }), form, h('div', { class: 'scroll' }, table), empty, h('nav', { class: 'pager', 'aria-label': 'Flow pages' }, newer, older));

  let q = new URLSearchParams();
  let cursor = 0; // 0: the newest page, which grows live
  let next = 0;
  const load = async (before) => {
    const p = new URLSearchParams(q);
    p.set('limit', String(PAGE));
    if (before) p.set('before', String(before));
    const page = await get(`/api/flows?${p}`);
    cursor = before || 0;
    next = page.next;
    clear(body);
    if (!team && page.flows.some((r) => r.instance)) { team = true; header(); }
    for (const r of page.flows) body.append(row(r, false, team));
    empty.hidden = page.flows.length > 0;
    older.disabled = !next;
    newer.disabled = !cursor;
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); q = filterFrom(form); load(0); });
  older.addEventListener('click', () => load(next));
  newer.addEventListener('click', () => load(0));
  await load(0);
  return ctx.bus.on('flow', (r) => {
    if (cursor || !matches(r, q)) return;
    if (!team && r.instance) { team = true; header(); }
    body.prepend(row(r, true, team));
    empty.hidden = true;
    while (body.children.length > PAGE) body.lastChild.remove();
  });
}

function pretty(b) {
  if (!b) return null;
  if (b.json !== undefined) return JSON.stringify(b.json, null, 2);
  return b.text || '';
}

function bodySection(title, id, b) {
  const text = pretty(b);
  return h('section', { 'aria-labelledby': id },
    h('h2', { id, text: title }),
    text === null ? h('p', { class: 'muted', text: 'Not recorded.' })
      : [b.note ? h('p', { class: 'warn', text: b.note }) : null, h('pre', { tabindex: '0', 'aria-labelledby': id, text })]);
}

async function detail(root, id) {
  const { row: r, details: d, elsewhere } = await get(`/api/flows/${encodeURIComponent(id)}`);
  const dl = h('dl', { class: 'card' });
  const add = (k, v) => dl.append(h('dt', { text: k }), h('dd', { text: v }));
  add('Time', time(r.time)); add('Client', `${r.surface || '–'} ${r.path || ''}`);
  add('Model', `${r.client_model || '–'} → ${r.kiro_model || '–'}`); add('Account', r.account_id || '–');
  add('Client key', r.key_name || '–'); add('HTTP status', String(r.http_status));
  add('TTFB / duration', `${ms(r.ttfb_ms)} / ${ms(r.duration_ms)}`);
  add('Tokens', `${num(r.input_tokens)} in / ${num(r.output_tokens)} out · ${num(r.credits, 3)} credits`);
  if (r.stop_reason) add('Stop reason', r.stop_reason);
  if (r.error_message) add('Error', `${r.error_type}: ${r.error_message}`);
  if (r.details_lost) add('Details', `lost (${r.details_lost})`);
  if (r.instance) add('Served by', r.instance);

  const attempts = h('div', { class: 'scroll' }, h('table', {},
    h('caption', { text: 'Each upstream attempt, in order (failover happens before the first byte).' }),
    h('thead', {}, h('tr', {}, ['Account', 'Status', 'Class', 'Duration', 'Error'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, (r.attempts || []).map((a) => h('tr', {},
      h('td', { text: a.account_id || '–' }), h('td', { text: String(a.status) }), h('td', { text: a.error_class || '' }),
      h('td', { text: ms(a.duration_ms) }), h('td', { class: 'wrap', text: a.error || '' }))))));

  const events = d.upstream_events || [];
  const searches = events.filter((e) => e.type === 'kirobar.webSearch' && e.payload);
  const capture = d.capture;
  append(root, [
    h('p', {}, h('a', { href: '#/flows' }, '← All flows')),
    h('div', { class: 'detail-head' },
      h('h1', { text: `Flow ${r.id}` }), badge(r.status),
      h('a', { href: `/api/flows/${encodeURIComponent(r.id)}/bundle`, download: `kirobar-flow-${r.id}.zip`, class: 'button' }, 'Download diagnostic bundle')),
    dl,
    elsewhere ? h('p', { class: 'warn', role: 'note', text: `Instance ${elsewhere} served this flow and keeps its bodies and events: open its dashboard to see them.` }) : null,
    h('h2', { text: 'Attempts' }), attempts,
    bodySection('Client request', 'd-client', d.client_request),
    bodySection('Upstream request', 'd-upstream', d.upstream_request),
    bodySection('Response as the client saw it', 'd-response', d.response),
    searches.length ? searchSection(searches) : null,
    h('section', { 'aria-labelledby': 'd-events' },
      h('h2', { id: 'd-events', text: `Upstream events (${events.length}${d.events_omitted ? ` + ${d.events_omitted} omitted` : ''})` }),
      events.length ? h('pre', { tabindex: '0', 'aria-labelledby': 'd-events', text: events.map((e) => `${e.at_ms.toFixed(1)} ms  ${e.type}  ${e.payload ? JSON.stringify(e.payload) : e.text || ''}`).join('\n') })
        : h('p', { class: 'muted', text: 'None recorded.' })),
    h('section', { 'aria-labelledby': 'd-capture' },
      h('h2', { id: 'd-capture', text: 'Raw capture' }),
      capture ? [h('p', { text: `${capture.kind}: ${capture.size} bytes. ${capture.note || ''}` }), h('pre', { tabindex: '0', 'aria-labelledby': 'd-capture', text: hexdump(capture.bytes) })]
        : h('p', { class: 'muted', text: 'The upstream stream decoded cleanly; nothing was captured.' }))]);
}

// searchSection lists the web searches kirobar ran for the request: what
// the model asked, what went to Kiro, what came back, how long it took and
// what the model turn that asked for it metered.
function searchSection(searches) {
  return h('section', { 'aria-labelledby': 'd-searches' },
    h('h2', { id: 'd-searches', text: `Web searches (${searches.length})` }),
    h('table', {},
      h('caption', { text: 'Each search the model asked for, run with Kiro\'s web search on the same account.' }),
      h('thead', {}, h('tr', {}, ['Query', 'Results', 'Time', 'Round credits', 'Error'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, searches.map(({ payload: p }) => h('tr', {},
        h('td', { class: 'wrap', text: p.sent_query && p.sent_query !== p.query ? `${p.query} (sent: ${p.sent_query})` : p.query }),
        h('td', { text: p.found !== undefined && p.found !== p.results ? `${p.results} of ${p.found}` : String(p.results) }),
        h('td', { text: ms(p.duration_ms) }),
        h('td', { text: p.round_credits === undefined ? '–' : num(p.round_credits, 3) }),
        h('td', { class: 'wrap', text: p.error_code ? `${p.error_code}: ${p.error || ''}` : '' }))))));
}

// hexdump shows base64 capture bytes as offset, hex and printable text.
function hexdump(b64) {
  const bin = atob(b64 || '');
  const lines = [];
  for (let i = 0; i < bin.length && i < 16 * 256; i += 16) {
    const chunk = bin.slice(i, i + 16);
    const hex = [...chunk].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');
    const txt = [...chunk].map((c) => (c >= ' ' && c <= '~' ? c : '.')).join('');
    lines.push(`${i.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${txt}`);
  }
  return lines.join('\n');
}

export async function render(root, ctx) {
  if (!ctx.session.flows) {
    root.append(h('h1', { text: 'Flows' }), h('p', { text: 'Flow recording is off (flows.enabled = false in config.toml).' }));
    return null;
  }
  if (ctx.args[0]) { await detail(root, ctx.args[0]); return null; }
  return list(root, ctx);
}
