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
      const c = cookies.find((x) => x.name === 'kirobar_session');
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
      await shot(page, 'accounts');
    });

    let flowID = '';
    await step('a request appears in Flows live', async () => {
      await page.getByRole('link', { name: 'Flows' }).click();
      await page.getByRole('heading', { level: 1, name: 'Flows' }).waitFor();
      await page.waitForFunction(() => document.getElementById('live-dot').classList.contains('on'));
      const before = await page.locator('#flow-rows tr').count();
      await sendMessage('Hello from the browser test');
      await page.waitForFunction((n) => document.querySelectorAll('#flow-rows tr').length > n, before, { timeout: 10000 });
      flowID = await page.locator('#flow-rows tr').first().getAttribute('data-id');
      check(flowID, 'new row has no id');
      await sendMessage('A second one for the list');
      await page.waitForFunction((n) => document.querySelectorAll('#flow-rows tr').length > n + 1, before, { timeout: 10000 });
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

    await step('stats charts', async () => {
      await page.getByRole('link', { name: 'Stats' }).click();
      await page.getByRole('heading', { level: 1, name: 'Stats' }).waitFor();
      await page.locator('svg.chart').first().waitFor();
      const bars = await page.locator('svg.chart rect.req').count();
      check(bars > 0, 'no bars drawn');
      await shot(page, 'stats');
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
