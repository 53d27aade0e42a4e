// Speed test: one tiny request per account, on demand only.
import { get, post } from './api.js';
import { h, badge, busy, ms, num, toast } from './dom.js';

export async function render(root) {
  const data = await get('/api/accounts');
  const rows = data.accounts.map((v) => {
    const out = h('td', { class: 'wrap', 'aria-live': 'polite', text: '–' });
    const run = h('button', {
      type: 'button', class: 'primary', 'aria-label': `Run speed test on ${v.label}`,
      onclick: (ev) => busy(ev.currentTarget, async () => {
        out.textContent = 'Running…';
        const r = await post(`/api/accounts/${v.id}/speedtest`);
        out.textContent = r.error
          ? `Failed: ${r.error}`
          : `First byte ${ms(r.ttfb_ms)} · total ${ms(r.total_ms)} · ${num(r.output_tokens)} tokens at ${num(r.tokens_per_s, 1)} tokens/s (${num(r.chars_per_s)} chars/s) · ${num(r.credits, 3)} credits · ${r.model}`;
        out.dataset.result = r.error ? 'error' : 'ok';
        if (!r.error) toast(`${v.label}: first byte in ${ms(r.ttfb_ms)}`);
      }),
    }, 'Run speed test');
    return h('tr', { 'data-id': v.id }, h('th', { scope: 'row', text: v.label }), h('td', {}, badge(v.status)), h('td', {}, run), out);
  });
  root.append(
    h('h1', { text: 'Speed test' }),
    h('p', { class: 'warn', text: 'Each test sends one short request through kirobar to that account and spends a little of its quota (usually well under one credit). Tests run only when you press the button.' }),
    h('div', { class: 'scroll' }, h('table', {},
      h('caption', { text: 'Time to first byte and throughput of a tiny request, per account.' }),
      h('thead', {}, h('tr', {}, ['Account', 'State', 'Test', 'Result'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: '4', text: 'No accounts.' }))))));
  return null;
}
