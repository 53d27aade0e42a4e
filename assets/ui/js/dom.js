// Small DOM helpers: elements are built with h(), never from HTML strings,
// so nothing the API returns can become markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'style') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c) el.append(c);
  return el;
}

// Server time: countdowns use the server's clock, not the browser's.
let offset = 0;
export function syncClock(serverNow) {
  if (serverNow) offset = Date.parse(serverNow) - Date.now();
}
export function now() { return Date.now() + offset; }

export function ms(v) {
  if (v === undefined || v === null) return '–';
  if (v < 1000) return `${Math.round(v)} ms`;
  return `${(v / 1000).toFixed(v < 10000 ? 2 : 1)} s`;
}

// span renders a number of seconds as "2d 3h", "42m 10s" or "8s".
export function span(sec) {
  sec = Math.max(0, Math.floor(sec));
  const d = Math.floor(sec / 86400), hh = Math.floor(sec % 86400 / 3600);
  const m = Math.floor(sec % 3600 / 60), ss = sec % 60;
  if (d) return `${d}d ${hh}h`;
  if (hh) return `${hh}h ${m}m`;
  if (m) return `${m}m ${ss}s`;
  return `${ss}s`;
}

// until says how long until an ISO time, by the server's clock.
export function until(iso) {
  if (!iso || iso.startsWith('0001')) return '';
  const sec = (Date.parse(iso) - now()) / 1000;
  return sec >= 0 ? `in ${span(sec)}` : `${span(-sec)} ago`;
}

export function time(iso) {
  if (!iso || iso.startsWith('0001')) return '–';
  return new Date(iso).toLocaleString();
}

export function clock(iso) {
  if (!iso) return '–';
  return new Date(iso).toLocaleTimeString();
}

export function num(v, digits = 0) {
  if (v === undefined || v === null) return '–';
  return Number(v).toLocaleString(undefined, { maximumFractionDigits: digits });
}

let toastTimer;
export function toast(msg) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.textContent = ''; }, 6000);
}

export function badge(status) {
  return h('span', { class: `badge ${status}`, text: String(status || '').replace('_', ' ') });
}

// busy disables a button while fn runs and reports its error.
export async function busy(button, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } catch (e) {
    toast(e.message);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}
