// Accounts: a card per account with live countdowns and actions, and the
// ways to add one.
import { get, post } from './api.js';
import { h, clear, badge, busy, ms, num, time, until, toast, syncClock } from './dom.js';

const zero = (iso) => !iso || iso.startsWith('0001');

function countdown(label, iso) {
  return h('span', { class: 'countdown', 'data-until': iso, 'data-label': label, text: `${label} ${until(iso)}` });
}

function quota(v) {
  if (!v.quota_limit) return h('span', { class: 'muted', text: 'unknown until checked' });
  const pct = Math.min(100, 100 * v.quota_used / v.quota_limit);
  const bar = h('div', {
    class: `bar${pct > 90 ? ' high' : ''}`, role: 'progressbar', 'aria-label': `Quota used by ${v.label}`,
    'aria-valuemin': '0', 'aria-valuemax': String(v.quota_limit), 'aria-valuenow': String(v.quota_used),
  }, h('span', { style: { width: `${pct}%` } }));
  // Overage (add-on credits): Kiro serves past the limit, billed as overage.
  const over = v.overage_enabled
    ? ` · overage on${v.overages ? `: ${num(v.overages, 1)}${v.overage_cap ? ` of ${num(v.overage_cap)}` : ''} used` : ''}`
    : '';
  return h('div', {}, bar,
    h('span', { class: 'muted', text: `${num(v.quota_used, 1)} of ${num(v.quota_limit)}${over}${zero(v.quota_reset) ? '' : ` · resets ${time(v.quota_reset)}`}` }));
}

// served says where Kiro serves the account: its profile, API region and
// host style, and the sign-in region when it differs.
function served(v) {
  const where = `${v.api_style || 'runtime'} · ${v.api_region || '–'}${v.region && v.region !== v.api_region ? ` (signs in in ${v.region})` : ''}`;
  const profile = v.profile_arn || (zero(v.profile_at) ? 'resolved at first use' : 'none (served without one)');
  return [
    h('dt', { text: 'Served on' }), h('dd', { text: where }),
    h('dt', { text: 'Profile' }), h('dd', { class: 'mono wrap', text: profile }),
    h('dt', { text: 'Models' }), h('dd', { class: 'wrap', text: v.models && v.models.length ? v.models.join(', ') : 'not listed yet (check the account)' }),
  ];
}

function card(v, ctx, reload) {
  const act = (name, label, fn, cls) => h('button', {
    type: 'button', class: cls, 'data-action': name, 'aria-label': `${label} ${v.label}`,
    onclick: (ev) => busy(ev.currentTarget, fn),
  }, label);
  const refresh = async () => { await post(`/api/accounts/${v.id}/refresh`); toast(`${v.label}: token refreshed`); await reload(); };
  const check = async () => {
    const r = await post(`/api/accounts/${v.id}/check`);
    toast(r.error ? `${v.label}: ${r.error}` : `${v.label}: ${r.status}, ${num(r.used, 1)} of ${num(r.limit)} used${r.overage ? `, ${num(r.overages, 1)} overage` : ''}`);
    await reload();
  };
  const toggle = async () => { await post(`/api/accounts/${v.id}/${v.enabled ? 'disable' : 'enable'}`); await reload(); };
  const remove = async () => {
    if (!confirm(`Remove ${v.label} from kirobar? Its linked token file is left alone.`)) return;
    await post(`/api/accounts/${v.id}/remove`); toast(`${v.label} removed`); await reload();
  };
  const relogin = async () => { const r = await post(`/api/accounts/${v.id}/relogin`); follow(r.id, ctx, reload); };
  const speed = async () => {
    const r = await post(`/api/accounts/${v.id}/speedtest`);
    toast(r.error ? `${v.label}: speed test failed: ${r.error}`
      : `${v.label}: first byte in ${ms(r.ttfb_ms)}, ${num(r.tokens_per_s, 1)} tokens/s, ${num(r.credits, 3)} credits spent`);
  };

  const timing = [countdown('token expires', v.expires_at)];
  if (!zero(v.cooldown_until) && Date.parse(v.cooldown_until) > Date.now() - 1000) timing.push(h('br'), countdown('cooldown ends', v.cooldown_until));
  return h('article', { class: 'card', id: `acct-${v.id}`, 'data-id': v.id, 'aria-labelledby': `acct-${v.id}-name` },
    h('header', {},
      h('h3', { id: `acct-${v.id}-name`, text: v.label }),
      badge(v.refreshing ? 'refreshing' : v.status)),
    h('dl', {},
      h('dt', { text: 'Email' }), h('dd', { text: v.email || '–' }),
      h('dt', { text: 'Kind' }), h('dd', { text: v.kind || v.auth_method }),
      h('dt', { text: 'Plan' }), h('dd', { text: v.plan || '–' }),
      h('dt', { text: 'Expiry' }), h('dd', {}, timing),
      h('dt', { text: 'Quota' }), h('dd', {}, quota(v)),
      served(v),
      h('dt', { text: 'Requests' }), h('dd', { text: `${num(v.requests)} · ${num(v.errors)} errors · ${num(v.credits, 2)} credits` }),
      h('dt', { text: 'Token' }), h('dd', { class: 'mono', text: v.refresh_token || '–' }),
      v.last_error ? [h('dt', { text: 'Last error' }), h('dd', { class: 'wrap warn', text: v.last_error })] : null),
    h('div', { class: 'actions' },
      act('refresh', 'Refresh', refresh, 'primary'),
      act('check', 'Check', check),
      act('toggle', v.enabled ? 'Disable' : 'Enable', toggle),
      ctx.session.login ? act('relogin', 'Sign in again', relogin) : null,
      Object.assign(act('speed', 'Speed test', speed), { title: 'Sends one short request to this account: spends a little of its quota' }),
      act('remove', 'Remove', remove, 'danger')));
}

// follow polls a running sign-in and shows its device code and progress.
function follow(id, ctx, reload) {
  const box = document.getElementById('login-progress');
  clear(box).hidden = false;
  const status = h('p', { role: 'status', text: 'Starting sign-in…' });
  const code = h('div');
  const cancel = h('button', { type: 'button', onclick: () => post(`/api/logins/${id}/cancel`).catch((e) => toast(e.message)) }, 'Cancel sign-in');
  box.append(h('h3', { text: 'Signing in' }), code, status, cancel);
  const tick = async () => {
    let st;
    try { st = await get(`/api/logins/${id}`); } catch (e) { status.textContent = e.message; return; }
    clear(code);
    if (st.device) {
      code.append(h('p', {}, 'Enter this code at ', h('a', { href: st.device.verification_uri, target: '_blank', rel: 'noopener noreferrer' }, st.device.verification_uri), ':'),
        h('p', { class: 'device', 'aria-label': `Device code ${st.device.user_code.split('').join(' ')}`, text: st.device.user_code }));
    }
    if (st.url) code.append(h('p', {}, h('a', { href: st.url, target: '_blank', rel: 'noopener noreferrer' }, 'Open the sign-in page')));
    status.textContent = st.status || st.state;
    if (st.state === 'running') { setTimeout(tick, 1500); return; }
    cancel.remove();
    if (st.state === 'done') { status.textContent = `Signed in: ${st.account.label}`; await reload(); } else status.textContent = st.error || st.state;
  };
  tick();
}

function addSection(ctx, reload) {
  const importBtn = h('button', {
    type: 'button', class: 'primary',
    onclick: (ev) => busy(ev.currentTarget, async () => {
      const views = await post('/api/accounts/import');
      toast(`Imported ${views.length} account${views.length === 1 ? '' : 's'} from the Kiro IDE`);
      await reload();
    }),
  }, 'Import from the Kiro IDE');

  const tokenForm = h('form', { class: 'filters', 'aria-labelledby': 'add-token-title' },
    h('label', { for: 'add-token' }, 'Refresh token', h('input', { id: 'add-token', name: 'refresh_token', type: 'password', required: true, autocomplete: 'off', spellcheck: 'false' })),
    h('label', { for: 'add-label' }, 'Label (optional)', h('input', { id: 'add-label', name: 'label' })),
    h('button', { type: 'submit' }, 'Add'));
  tokenForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(ev.submitter || tokenForm.querySelector('button'), async () => {
      const v = await post('/api/accounts/add', { refresh_token: tokenForm.refresh_token.value, label: tokenForm.label.value });
      tokenForm.reset();
      toast(v.last_error ? `${v.label} added: ${v.last_error}` : `${v.label} added`);
      await reload();
    });
  });

  let loginForm = null;
  if (ctx.session.login) {
    const startURL = h('label', { for: 'login-start', hidden: true }, 'Start URL', h('input', { id: 'login-start', name: 'start_url', type: 'url', placeholder: 'https://example.awsapps.com/start' }));
    const region = h('label', { for: 'login-region', hidden: true }, 'Region', h('input', { id: 'login-region', name: 'region', value: 'us-east-1' }));
    const kind = h('select', { id: 'login-kind', name: 'kind', onchange: () => { startURL.hidden = region.hidden = kind.value !== 'idc'; } },
      h('option', { value: 'builder-id' }, 'AWS Builder ID'),
      h('option', { value: 'idc' }, 'IAM Identity Center'),
      h('option', { value: 'google' }, 'Google'),
      h('option', { value: 'github' }, 'GitHub'));
    loginForm = h('form', { class: 'filters', 'aria-labelledby': 'add-login-title' },
      h('label', { for: 'login-kind' }, 'Sign in with', kind), startURL, region,
      h('button', { type: 'submit' }, 'Sign in'));
    loginForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(ev.submitter || loginForm.querySelector('button'), async () => {
        const body = { kind: kind.value };
        if (kind.value === 'idc') { body.start_url = loginForm.start_url.value; body.region = loginForm.region.value; }
        const r = await post('/api/accounts/login', body);
        follow(r.id, ctx, reload);
      });
    });
  }
  return h('section', { 'aria-labelledby': 'add-title' },
    h('h2', { id: 'add-title', text: 'Add an account' }),
    h('div', { class: 'add-ways' },
      h('section', { class: 'card', id: 'add-login' },
        h('h3', { id: 'add-login-title', text: 'Sign in' }),
        loginForm ? [h('p', { class: 'muted', text: 'Builder ID and IAM Identity Center show a code to enter in the browser; Google and GitHub open their sign-in page.' }), loginForm]
          : h('p', { class: 'muted', text: 'Signing in from the dashboard is not available in this build: import the Kiro IDE login or paste a refresh token.' })),
      h('section', { class: 'card', id: 'add-import' },
        h('h3', { text: 'Import from the Kiro IDE' }),
        h('p', { class: 'muted', text: 'Takes the login the Kiro IDE keeps in ~/.aws/sso/cache, and follows it when the IDE refreshes it.' }),
        h('div', { class: 'actions' }, importBtn)),
      h('section', { class: 'card', id: 'add-token-card' },
        h('h3', { id: 'add-token-title', text: 'Paste a refresh token' }),
        tokenForm)),
    h('div', { id: 'login-progress', class: 'card', hidden: true }));
}

export async function render(root, ctx) {
  const list = h('div', { class: 'cards', id: 'account-cards' });
  const draw = (data) => {
    syncClock(data.now);
    const focused = document.activeElement && document.activeElement.closest('article.card');
    const focusID = focused && focused.dataset.id;
    const focusAction = document.activeElement && document.activeElement.dataset.action;
    clear(list);
    if (!data.accounts.length) list.append(h('p', { class: 'muted', text: 'No account yet: add one below.' }));
    for (const v of data.accounts) list.append(card(v, ctx, reload));
    if (focusID && focusAction) {
      const b = list.querySelector(`article[data-id="${CSS.escape(focusID)}"] [data-action="${CSS.escape(focusAction)}"]`);
      if (b) b.focus();
    }
  };
  const reload = async () => draw(await get('/api/accounts'));
  const checkAll = h('button', {
    type: 'button',
    onclick: (ev) => busy(ev.currentTarget, async () => {
      const res = await post('/api/accounts/check');
      toast(`Checked ${res.length}: ${res.filter((r) => !r.error).length} answered`);
      await reload();
    }),
  }, 'Check all');
  root.append(h('h1', { text: 'Accounts' }), h('div', { class: 'toolbar' }, checkAll), list, addSection(ctx, reload));
  await reload();
  const tick = setInterval(() => {
    for (const el of root.querySelectorAll('.countdown')) el.textContent = `${el.dataset.label} ${until(el.dataset.until)}`;
  }, 1000);
  const off = ctx.bus.on('accounts', draw);
  return () => { clearInterval(tick); off(); };
}
