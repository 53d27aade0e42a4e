// Browser end-to-end test of kirobar's dashboard, driven by e2e_test.go:
// Debian's chromium through playwright-core, against a kirobar in front of
// the fake Kiro upstream. It prints one JSON line and exits non-zero on the
// first failed step.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const base = process.env.KIROBAR_URL;
const loginURL = process.env.KIROBAR_LOGIN_URL;
const apiKey = process.env.KIROBAR_KEY;
const shots = process.env.KIROBAR_SHOTS;
const steps = [];
const problems = [];

function check(cond, msg) { if (!cond) throw new Error(msg); }

async function step(name, fn) {
  const t0 = Date.now();
  await fn();
  steps.push({ name, ms: Date.now() - t0 });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

// WIDTHS are the window widths the layout is checked and shown at: a
// laptop and a half-screen window.
const WIDTHS = [1280, 800];

async function box(locator, what) {
  const b = await locator.boundingBox();
  check(b, `${what} is not on the page`);
  return b;
}

// apart fails when two boxes overlap or sit closer than gap pixels.
function apart(a, b, gap, what) {
  const h = Math.max(b.x - (a.x + a.width), a.x - (b.x + b.width));
  const v = Math.max(b.y - (a.y + a.height), a.y - (b.y + b.height));
  check(Math.max(h, v) >= gap, `${what}: ${Math.max(h, v).toFixed(1)} px apart, want at least ${gap} (${JSON.stringify(a)} ${JSON.stringify(b)})`);
}

// fitsWidth fails when the page scrolls sideways.
async function fitsWidth(page, what) {
  const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check(sw <= iw, `${what}: the page is ${sw} px wide in a ${iw} px window`);
}

// controlsApart fails when any two visible buttons, links or inputs in
// the selector's elements overlap.
async function controlsApart(page, selector, what) {
  const clash = await page.evaluate((sel) => {
    for (const root of document.querySelectorAll(sel)) {
      const els = [...root.querySelectorAll('button, a, input, select, label')].filter((e) => e.offsetParent !== null)
        .filter((e) => !(e.tagName === 'LABEL' && e.querySelector('input, select')));
      const r = els.map((e) => e.getBoundingClientRect());
      for (let i = 0; i < r.length; i++) {
        for (let j = i + 1; j < r.length; j++) {
          if (els[i].contains(els[j]) || els[j].contains(els[i])) continue;
          if (r[i].left < r[j].right - 0.5 && r[j].left < r[i].right - 0.5 && r[i].top < r[j].bottom - 0.5 && r[j].top < r[i].bottom - 0.5) {
            return `${els[i].outerHTML.slice(0, 60)} overlaps ${els[j].outerHTML.slice(0, 60)}`;
          }
        }
      }
    }
    return '';
  }, selector);
  check(!clash, `${what}: ${clash}`);
}

async function sendMessage(text) {
  const resp = await fetch(`${base}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: text }] }),
  });
  check(resp.ok, `message: ${resp.status}`);
  return resp.json();
}

// sendSearch asks for an answer with the web search server tool, as
// Claude Code's WebSearch does; the fake model searches once.
async function sendSearch(query) {
  const resp = await fetch(`${base}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: 'claude-sonnet-4-5', max_tokens: 64,
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 8 }],
      messages: [{ role: 'user', content: `Perform a web search for the query: ${query}` }],
    }),
  });
  check(resp.ok, `search message: ${resp.status}`);
  return resp.json();
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kirobar-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 820 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const foreign = [];
  // The dashboard must ask nothing of anyone but kirobar.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith('data:')) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const page = context.pages()[0] || await context.newPage();
  // 401s are expected while signed out; any other console error (a CSP
  // violation, a script error) fails the test.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.setDefaultTimeout(15000);

  try {
    await step('sign-in form refuses a wrong key', async () => {
      await page.goto(`${base}/ui/`);
      await page.getByLabel('Client key').fill('kb-wrong-key-000000000');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'not one of the client keys' }).waitFor();
      check(await page.getByRole('navigation', { name: 'Dashboard pages' }).isHidden(), 'navigation shown before sign-in');
      await shot(page, 'signin');
    });

    await step('one-time link signs in and leaves no token in the URL', async () => {
      await page.goto(loginURL);
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      check(!page.url().includes('token'), `token left in ${page.url()}`);
      const cookies = await context.cookies(base);
      const c = cookies.find((x) => x.name === `kirobar_session_${new URL(base).port}`);
      check(c && c.httpOnly && c.sameSite === 'Strict', `cookie ${JSON.stringify(c)}`);
      check(await page.evaluate(() => document.cookie) === '', 'session cookie readable by scripts');
      await page.locator('#setup-claude').waitFor();
      await shot(page, 'overview');
    });

    await step('a replayed link is refused', async () => {
      const resp = await fetch(loginURL, { redirect: 'manual' });
      check(resp.status === 303 && resp.headers.get('location').endsWith('#link-expired'), `replay: ${resp.status} ${resp.headers.get('location')}`);
      check(!resp.headers.get('set-cookie'), 'replay set a cookie');
    });

    await step('keyboard: tab to Accounts and open it', async () => {
      await page.goto(`${base}/ui/#/overview`);
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      await page.keyboard.press('Tab'); // skip link
      let found = false;
      for (let i = 0; i < 8 && !found; i++) {
        await page.keyboard.press('Tab');
        found = await page.evaluate(() => document.activeElement && document.activeElement.textContent === 'Accounts');
      }
      check(found, 'Accounts link not reachable with Tab');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor();
      await page.waitForFunction(() => document.activeElement.tagName === 'H1' && document.activeElement.textContent === 'Accounts', null, { timeout: 5000 })
        .catch(async () => { throw new Error(`focus after navigation is on ${await page.evaluate(() => document.activeElement.outerHTML.slice(0, 80))}`); });
    });

    let firstLabel = '';
    await step('accounts show live countdowns', async () => {
      const cards = page.locator('article.card');
      await cards.first().waitFor();
      check(await cards.count() === 2, `${await cards.count()} account cards`);
      firstLabel = (await cards.first().locator('h3').textContent()).trim();
      const cd = cards.first().locator('.countdown').first();
      const before = await cd.textContent();
      check(/token expires in \d+m \d+s/.test(before), `countdown ${before}`);
      await page.waitForFunction((b) => document.querySelector('article.card .countdown').textContent !== b, before, { timeout: 5000 });
    });

    await step('check all fills the quota bars', async () => {
      await page.getByRole('button', { name: 'Check all' }).click();
      await page.waitForFunction(() => /Checked 2/.test(document.getElementById('toast').textContent), null, { timeout: 15000 })
        .catch(async () => { throw new Error(`toast after check all: ${await page.locator('#toast').textContent()}`); });
      // A check learns the email, which becomes the label kirobar made up.
      firstLabel = (await page.locator('article.card h3').first().textContent()).trim();
      await page.getByRole('progressbar', { name: `Quota used by ${firstLabel}` }).waitFor();
      // Where Kiro serves the account, and what it offers it.
      const card = await page.locator('article.card').first().textContent();
      check(/Served onruntime · us-east-1/.test(card) && card.includes('arn:aws:codewhisperer:') && card.includes('claude-sonnet-4.5'),
        `card does not say where the account is served: ${card}`);
    });

    await step('accessibility tree names every control', async () => {
      const tree = await page.locator('body').ariaSnapshot();
      for (const want of ['navigation "Dashboard pages"', 'link "Accounts"', `button "Refresh ${firstLabel}"`, `button "Check ${firstLabel}"`,
        `button "Remove ${firstLabel}"`, `progressbar "Quota used by ${firstLabel}"`, 'textbox "Refresh token"', 'button "Import from the Kiro IDE"']) {
        check(tree.includes(want), `accessibility tree lacks ${want}:\n${tree}`);
      }
      const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, input, select, a[href]')]
        .filter((el) => el.offsetParent !== null)
        .filter((el) => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()))
        .map((el) => el.outerHTML.slice(0, 80)));
      check(unnamed.length === 0, `controls without a name: ${unnamed.join(', ')}`);
    });

    await step('refresh one account', async () => {
      await page.getByRole('button', { name: `Refresh ${firstLabel}` }).click();
      await page.getByRole('status').filter({ hasText: `${firstLabel}: token refreshed` }).waitFor();
    });

    await step('accounts page reads well at 1280 and 800 px', async () => {
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 900 });
        await page.waitForTimeout(100);
        const cards = page.locator('article.card');
        apart(await box(page.getByRole('button', { name: 'Check all' }), 'Check all'), await box(cards.first(), 'first card'), 8,
          `${width} px: Check all and the first account card`);
        apart(await box(page.getByRole('button', { name: 'Import from the Kiro IDE' }), 'import button'),
          await box(page.getByText('Refresh token', { exact: true }), 'refresh token label'), 12,
          `${width} px: the import button and the refresh-token label`);
        check(await page.locator('article.card a').count() === 0, `${width} px: an account card still has a link among its buttons`);
        await page.getByRole('button', { name: `Speed test ${firstLabel}` }).waitFor();
        check(await page.getByLabel('Start URL').isHidden(), `${width} px: the Identity Center start URL shows for a Builder ID sign-in`);
        await controlsApart(page, 'article.card, #add-login, #add-import, #add-token-card, .toolbar', `${width} px`);
        await fitsWidth(page, `accounts at ${width} px`);
        await page.locator('#toast').evaluate((t) => { t.textContent = ''; });
        await shot(page, width === 1280 ? 'accounts' : `accounts-${width}`);
      }
      await page.setViewportSize({ width: 1280, height: 820 });
    });

    let flowID = '';
    await step('a request appears in Flows live', async () => {
      await page.getByRole('link', { name: 'Flows' }).click();
      await page.getByRole('heading', { level: 1, name: 'Flows' }).waitFor();
      await page.waitForFunction(() => document.getElementById('live-dot').classList.contains('on'));
      // The list first shows the seeded day's flows; take the new row only
      // once they are all there, or a seeded row passes for the new one.
      await page.waitForFunction(() => document.querySelectorAll('#flow-rows tr[data-id^="msg_seed"]').length >= 30, null, { timeout: 15000 });
      const ids = () => page.$$eval('#flow-rows tr', (rows) => rows.map((r) => r.getAttribute('data-id')));
      const before = await ids();
      await sendMessage('Hello from the browser test');
      await page.waitForFunction((old) => [...document.querySelectorAll('#flow-rows tr')].some((r) => !old.includes(r.getAttribute('data-id'))), before, { timeout: 10000 });
      flowID = (await ids()).find((id) => !before.includes(id));
      check(flowID, 'new row has no id');
      await sendMessage('A second one for the list');
      await page.waitForFunction((n) => document.querySelectorAll('#flow-rows tr').length > n + 1, before.length, { timeout: 10000 });
      await shot(page, 'flows');
    });

    await step('open the flow detail', async () => {
      await page.locator(`#flow-rows tr[data-id="${flowID}"] a`).click();
      await page.getByRole('heading', { level: 1, name: `Flow ${flowID}` }).waitFor();
      for (const h of ['Attempts', 'Client request', 'Upstream request', 'Response as the client saw it', 'Raw capture']) {
        await page.getByRole('heading', { level: 2, name: h, exact: false }).first().waitFor();
      }
      const client = await page.locator('pre[aria-labelledby="d-client"]').textContent();
      check(client.includes('Hello from the browser test'), 'client request not shown');
      const href = await page.getByRole('link', { name: 'Download diagnostic bundle' }).getAttribute('href');
      const zip = await page.evaluate(async (u) => { const r = await fetch(u); return [r.status, r.headers.get('content-type')]; }, href);
      check(zip[0] === 200 && zip[1] === 'application/zip', `bundle ${zip}`);
      await shot(page, 'flow-detail');
    });

    await step('a web search shows in its flow', async () => {
      await page.goto(`${base}/ui/#/flows`);
      await page.locator('#flow-rows tr').first().waitFor();
      const before = await page.locator('#flow-rows tr').count();
      const answer = await sendSearch('kiro web search');
      check(answer.content.some((b) => b.type === 'web_search_tool_result'), `no search result in ${JSON.stringify(answer)}`);
      await page.waitForFunction((n) => document.querySelectorAll('#flow-rows tr').length > n, before, { timeout: 10000 });
      await page.locator('#flow-rows tr').first().locator('a').click();
      await page.getByRole('heading', { level: 2, name: 'Web searches (1)' }).waitFor();
      const cells = await page.locator('section[aria-labelledby="d-searches"] tbody tr').first().locator('td').allTextContents();
      check(cells[0] === 'kiro web search' && cells[1] === '3' && cells[4] === '', `search row: ${cells}`);
    });

    await step('filter flows', async () => {
      await page.goto(`${base}/ui/#/flows`);
      await page.getByLabel('Status').selectOption('failed');
      await page.getByLabel('Since').selectOption('15m'); // the day of flows before the test has failures, none this recent
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByText('No flows match.').waitFor();
      await page.getByLabel('Status').selectOption('completed');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.locator('#flow-rows tr').first().waitFor();
    });

    await step('run a speed test', async () => {
      await page.getByRole('link', { name: 'Speed test' }).click();
      await page.getByRole('heading', { level: 1, name: 'Speed test' }).waitFor();
      await page.getByText('spends a little of its quota').waitFor();
      await page.getByRole('button', { name: `Run speed test on ${firstLabel}` }).click();
      const result = page.locator('td[data-result]').first();
      await result.waitFor();
      const text = await result.textContent();
      check(/First byte [\d.]+ (ms|s)/.test(text) && (await result.getAttribute('data-result')) === 'ok', `speed result ${text}`);
      await shot(page, 'speed');
    });

    await step('stats charts span the period with labelled time buckets', async () => {
      await page.getByRole('link', { name: 'Stats' }).click();
      await page.getByRole('heading', { level: 1, name: 'Stats' }).waitFor();
      await page.locator('svg.chart').first().waitFor();
      const first = page.locator('svg.chart').first();
      const xs = await first.locator('rect.req').evaluateAll((rs) => [...new Set(rs.map((r) => r.getAttribute('x')))]);
      check(xs.length >= 8, `the day of requests is drawn in ${xs.length} buckets`);
      const buckets = await first.locator('line.bucket').count();
      check(buckets >= 48, `${buckets} bucket marks for 24 hours of 30-minute buckets`);
      const ticks = await first.locator('text.tick').allTextContents();
      check(ticks.length >= 4 && ticks.every((t) => /\d/.test(t)), `time ticks ${JSON.stringify(ticks)}`);
      const period = await page.locator('#stats-period').textContent();
      check(/the last 24 hours, one bar per 30 minutes/.test(period), `period line: ${period}`);
      check(/Mon|Tue|Wed|Thu|Fri|Sat|Sun|:/.test(await first.locator('rect.req title').first().textContent()), 'bars do not say their bucket');
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 900 });
        await page.waitForTimeout(100);
        const boxes = await first.locator('text.tick').evaluateAll((ts) => ts.map((t) => { const r = t.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; }));
        for (let i = 1; i < boxes.length; i++) apart(boxes[i - 1], boxes[i], 2, `${width} px: tick labels ${ticks[i - 1]} and ${ticks[i]}`);
        await fitsWidth(page, `stats at ${width} px`);
        await page.locator('#toast').evaluate((t) => { t.textContent = ''; });
        await shot(page, width === 1280 ? 'stats' : `stats-${width}`);
      }
      await page.getByLabel('Period').selectOption('7d');
      await page.waitForFunction(() => /7 days/.test(document.getElementById('stats-period').textContent));
      const weekTicks = await page.locator('svg.chart').first().locator('text.tick').count();
      check(weekTicks >= 4, `${weekTicks} ticks over 7 days`);
      await page.setViewportSize({ width: 1280, height: 820 });
    });

    await step('overview and flows at 800 px', async () => {
      await page.setViewportSize({ width: 800, height: 900 });
      for (const [name, hash, heading] of [['overview', 'overview', 'Overview'], ['flows', 'flows', 'Flows']]) {
        await page.goto(`${base}/ui/#/${hash}`);
        await page.getByRole('heading', { level: 1, name: heading }).waitFor();
        await page.waitForTimeout(300);
        await fitsWidth(page, `${name} at 800 px`);
        await shot(page, `${name}-800`);
      }
      await page.setViewportSize({ width: 1280, height: 820 });
    });

    check(foreign.length === 0, `requests outside kirobar: ${foreign.join(', ')}`);
    check(problems.length === 0, problems.join('\n'));
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => {
  console.log(JSON.stringify({ ok: true, steps }));
}, (e) => {
  console.log(JSON.stringify({ ok: false, steps, error: [String(e && e.stack || e), ...problems].join('\n') }));
  process.exit(1);
});
