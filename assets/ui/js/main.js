// The dashboard's entry: sign-in, navigation between pages (the URL hash
// names the page), and the live-update stream every page listens to.
import { get, post, setCSRF, AuthError } from './api.js';
import { clear, toast } from './dom.js';
import * as overview from './overview.js';
import * as accounts from './accounts.js';
import * as flows from './flows.js';
import * as stats from './stats.js';
import * as speed from './speed.js';

const pages = { overview, accounts, flows, stats, speed };
const titles = { overview: 'Overview', accounts: 'Accounts', flows: 'Flows', stats: 'Stats', speed: 'Speed test' };

// bus carries live events ("flow", "accounts") to the page on screen.
const listeners = new Map();
const bus = {
  on(event, fn) {
    if (!listeners.has(event)) listeners.set(event, new Set());
    listeners.get(event).add(fn);
    return () => listeners.get(event).delete(fn);
  },
  emit(event, data) { for (const fn of listeners.get(event) || []) fn(data); },
};

let session = null;
let cleanup = null;
let renders = 0; // route() calls so far; a render that is not the latest is dropped
let events = null;

function $(id) { return document.getElementById(id); }

function showSignIn(note) {
  session = null;
  if (events) { events.close(); events = null; }
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('live-dot').hidden = true;
  clear($('page'));
  $('signin').hidden = false;
  if (note) $('signin-error').textContent = note;
  document.title = 'Sign in · kirobar';
  $('signin-key').focus();
}

function signedIn(info) {
  session = info;
  setCSRF(info.csrf);
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  $('live-dot').hidden = false;
  connect();
  route();
}

// connect opens the live-update stream.
function connect() {
  if (events) return;
  const dot = $('live-dot');
  events = new EventSource('/api/events');
  events.addEventListener('open', () => { dot.classList.add('on'); dot.setAttribute('aria-label', 'Live updates on'); });
  events.addEventListener('error', async () => {
    dot.classList.remove('on');
    dot.setAttribute('aria-label', 'Live updates off');
    if (events && events.readyState === EventSource.CLOSED) {
      events = null;
      try { await get('/api/session'); setTimeout(connect, 3000); } catch (e) { if (e instanceof AuthError) showSignIn('Your session ended; sign in again.'); }
    }
  });
  for (const name of ['flow', 'accounts']) {
    events.addEventListener(name, (ev) => bus.emit(name, JSON.parse(ev.data)));
  }
}

// route renders the page the hash names and moves focus to its heading,
// so keyboard and screen-reader users land on the new content.
async function route() {
  if (!session) return;
  const [name = 'overview', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const page = pages[name] ? name : 'overview';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (cleanup) { cleanup(); cleanup = null; }
  // Each page renders into a container of its own: a render still waiting
  // for its data when the user moves on finishes into its container, which
  // is no longer on the page, instead of adding to the new page.
  const gen = ++renders;
  const root = document.createElement('div');
  clear($('page')).append(root);
  document.title = `${titles[page]} · kirobar`;
  let done = null;
  try {
    done = await pages[page].render(root, { session, bus, args: rest.map(decodeURIComponent) }) || null;
  } catch (e) {
    if (gen !== renders) return;
    if (e instanceof AuthError) { showSignIn('Your session ended; sign in again.'); return; }
    toast(e.message);
  }
  if (gen !== renders) { if (done) done(); return; }
  cleanup = done;
  const heading = root.querySelector('h1');
  if (heading) { heading.tabIndex = -1; heading.focus(); }
}

async function boot() {
  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('signin-error').textContent = '';
    try {
      const info = await post('/api/session', { key: $('signin-key').value });
      $('signin-key').value = '';
      signedIn(info);
    } catch (e) {
      $('signin-error').textContent = e.message;
    }
  });
  $('logout').addEventListener('click', async () => {
    try { await post('/api/logout'); } catch { /* signed out either way */ }
    showSignIn('Signed out.');
  });
  window.addEventListener('hashchange', route);
  const expired = location.hash === '#link-expired';
  if (expired) history.replaceState(null, '', '/ui/');
  try {
    signedIn(await get('/api/session'));
  } catch (e) {
    showSignIn(expired ? 'That sign-in link was already used or has expired. Open the dashboard from the tray again, or enter a client key.' : '');
  }
}

boot();
