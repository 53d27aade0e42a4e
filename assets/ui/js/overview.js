// Overview: is kirobar serving, how is the pool, how did today go, and how
// to point a client at it.
import { get } from './api.js';
import { h, ms, num, toast, syncClock, until } from './dom.js';

function tile(label, value, note) {
  return h('div', { class: 'card tile' },
    h('div', { class: 'num', text: value }),
    h('div', { class: 'lbl', text: label }),
    note ? h('div', { class: 'muted', text: note }) : null);
}

function snippet(id, label, text) {
  const pre = h('pre', { id, text });
  const copy = h('button', {
    type: 'button', 'aria-label': `Copy the ${label} command`,
    onclick: async () => {
      try { await navigator.clipboard.writeText(text); toast(`${label} command copied`); } catch {
        const r = document.createRange(); r.selectNodeContents(pre);
        const sel = getSelection(); sel.removeAllRanges(); sel.addRange(r);
        toast('Press Ctrl+C to copy');
      }
    },
  }, 'Copy');
  return h('div', {}, h('h3', { text: label }), h('div', { class: 'snippet' }, pre, copy));
}

// instances lists a team gateway's kirobar instances: which are alive,
// since when, and when each was last heard from.
function instances(list, storeUp) {
  const rows = list.map((p) => h('tr', {},
    h('td', {}, p.name, p.self ? h('span', { class: 'muted', text: ' (this one)' }) : null),
    h('td', {}, h('span', { class: `badge ${p.alive ? 'ready' : 'disabled'}`, text: p.alive ? 'alive' : 'gone' })),
    h('td', { text: p.host }),
    h('td', { text: p.version }),
    h('td', { text: until(p.started_at) }),
    h('td', { text: p.self ? 'now' : until(p.seen_at) })));
  return h('section', { 'aria-labelledby': 'team-h' },
    h('h2', { id: 'team-h', text: 'Instances' }),
    storeUp === false ? h('p', { class: 'badge error', role: 'alert', text: 'The shared database cannot be reached: serving from the last known state.' }) : null,
    h('table', { id: 'instances' },
      h('thead', {}, h('tr', {}, ...['Instance', 'State', 'Host', 'Version', 'Started', 'Last seen'].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, ...rows)));
}

export async function render(root, { bus }) {
  const o = await get('/api/overview');
  syncClock(o.now);
  const t = o.today;
  const a = o.accounts;
  const failRate = t && t.requests ? `${(100 * t.failures / t.requests).toFixed(1)} %` : '–';
  root.append(
    h('h1', { text: 'Overview' }),
    h('div', { class: 'grid', role: 'list', 'aria-label': 'Summary' },
      [
        tile('Server', o.running ? 'Running' : 'Stopped', o.addr),
        tile('Requests today', num(t ? t.requests : o.requests_today)),
        tile('Failure rate today', failRate, t ? `${num(t.failures)} failed` : 'flows are off'),
        tile('Time to first byte', t ? `${ms(t.ttfb_p50_ms)} / ${ms(t.ttfb_p95_ms)}` : '–', 'p50 / p95 today'),
        tile('Tokens today', t ? `${num(t.input_tokens)} in / ${num(t.output_tokens)} out` : '–'),
        tile('Credits today', t ? num(t.credits, 2) : '–'),
        tile('Accounts ready', `${a.ready} of ${a.total}`, `${a.cooling} cooling · ${a.needs_login} need login · ${a.disabled} off`),
        o.instances ? tile('Instances alive', `${o.instances.filter((p) => p.alive).length} of ${o.instances.length}`, o.store_up === false ? 'shared database unreachable' : 'sharing one database') : null,
      ].filter(Boolean).map((el) => { el.setAttribute('role', 'listitem'); return el; })),
    o.instances ? instances(o.instances, o.store_up) : null,
    h('h2', { text: 'Point a client at kirobar' }),
    h('p', { class: 'muted' }, 'Set ', h('code', { text: 'KIROBAR_KEY' }), ' to one of the client keys in config.toml first; the dashboard never shows a key. ',
      'In a terminal, ', h('code', { text: 'kirobar setup claude' }), ' (or ', h('code', { text: 'codex' }), ') prints these lines with your key, and ',
      h('code', { text: '--write' }), ' adds them to the client\'s own config.'),
    snippet('setup-claude', 'Claude Code', o.setup.claude),
    snippet('setup-codex', 'Codex CLI', o.setup.codex),
    h('p', { class: 'muted', text: `kirobar ${o.version}` }),
  );
  // A new flow or account change makes the numbers stale: redraw, at most
  // every few seconds.
  let timer = null;
  const again = () => {
    if (timer) return;
    timer = setTimeout(async () => {
      timer = null;
      try {
        const fresh = document.createElement('div');
        await render(fresh, { bus: { on: () => () => {} } });
        root.replaceChildren(...fresh.childNodes);
      } catch (e) { toast(e.message); }
    }, 3000);
  };
  const offs = [bus.on('flow', again), bus.on('accounts', again)];
  return () => { offs.forEach((off) => off()); clearTimeout(timer); };
}
