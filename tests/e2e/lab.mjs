// lab.mjs - the lab (`strata serve`) end to end in real headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core; no browser is downloaded).
//
//   STRATA_URL=http://127.0.0.1:PORT BASICS_URL=http://127.0.0.1:PORT2 SHOTS=DIR node lab.mjs
//
// Starts no server: tests/e2e/run.sh starts `strata serve` on a fresh data directory and
// `strata example basics` (the Module 1 reference app), then runs this. Each step is one TAP
// line; a screenshot of each step goes to SHOTS (PNG). Every page is watched for console
// errors, uncaught exceptions and Content-Security-Policy violations; a final step fails
// if any was seen.
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

const LAB = (process.env.STRATA_URL || '').replace(/\/+$/, '');
const BASICS = (process.env.BASICS_URL || '').replace(/\/+$/, '');
const SHOTS = process.env.SHOTS || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 15000;

let n = 0;
let failed = 0;
const oneLine = (s) => String(s).replace(/\s+/g, ' ').trim().slice(0, 400);

function tap(pass, name, why) {
  n++;
  if (pass) {
    console.log(`ok ${n} - ${name}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${name}${why ? ' # ' + oneLine(why) : ''}`);
  }
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

if (!LAB || !BASICS || !SHOTS) {
  tap(false, 'environment', 'set STRATA_URL, BASICS_URL and SHOTS');
  console.log(`1..${n}`);
  process.exit(1);
}
mkdirSync(SHOTS, { recursive: true });

// What the pages report that should never happen: console errors, uncaught exceptions,
// CSP violations (Chromium logs them as console errors; the securitypolicyviolation event
// is recorded too, by a script injected through the DevTools protocol, which CSP does not
// apply to), and failed requests.
const problems = [];
function watch(page, label) {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      problems.push(`${label}: console ${m.type()}: ${m.text()} (${page.url()})`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message} (${page.url()})`));
  page.on('requestfailed', (r) => {
    const f = r.failure();
    // An EventSource closed by the page's script, or a navigation away, aborts its request.
    if (f && /ERR_ABORTED/.test(f.errorText) && /\/events/.test(r.url())) return;
    problems.push(`${label}: request failed: ${r.method()} ${r.url()}: ${f ? f.errorText : '?'}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${label}: HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
}
const cspScript = () => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
  });
};
async function cspViolations(page) {
  return page.evaluate(() => window.__csp || []);
}

let shot = 0;
async function screenshot(page, name) {
  shot++;
  const file = path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

// step NAME FN: one TAP line; FN throws to fail; a screenshot either way.
async function step(name, page, shotName, fn) {
  try {
    await fn();
    const csp = await cspViolations(page).catch(() => []);
    check(csp.length === 0, `CSP violations: ${csp.join('; ')}`);
    tap(true, name);
  } catch (e) {
    tap(false, name, e && e.message ? e.message : e);
  }
  try {
    await screenshot(page, shotName);
  } catch (e) {
    problems.push(`screenshot ${shotName}: ${e.message}`);
  }
}

async function doneCount(page) {
  const t = await page.locator('main p.big', { hasText: 'questions done' }).first().innerText();
  const m = /(\d+)\s+of\s+500\s+questions done/.exec(t);
  check(m, `no "N of 500 questions done" in ${JSON.stringify(t)}`);
  return Number(m[1]);
}

// A TCP relay to BASICS that connects each connection DELAY ms late, so a
// grading run lasts long enough for the attempt page to be served while it runs and then
// follow it live (Server-Sent Events). Runs in this process, on a free port.
function slowRelay(target, delayMs) {
  const u = new URL(target);
  const server = net.createServer((client) => {
    client.pause();
    client.on('error', () => {});
    setTimeout(() => {
      const up = net.connect(Number(u.port), u.hostname, () => {
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
      client.on('close', () => up.destroy());
    }, delayMs);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let code = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(TIMEOUT);
  await context.addInitScript(cspScript);
  const page = await context.newPage();
  watch(page, 'desktop');

  // ---- 1. dashboard ----
  let before = -1;
  await step('dashboard loads: title, progress bars, what to do next', page, 'dashboard', async () => {
    const r = await page.goto(LAB + '/');
    check(r && r.status() === 200, `GET / answered ${r && r.status()}`);
    const csp = r.headers()['content-security-policy'] || '';
    check(/default-src 'self'/.test(csp), `CSP header: ${JSON.stringify(csp)}`);
    check(/^Dashboard/.test(await page.title()), `title ${JSON.stringify(await page.title())}`);
    check((await page.locator('h1').innerText()) === 'Your lab', 'no h1 "Your lab"');
    const bars = await page.locator('svg.bar[role=img]').count();
    check(bars >= 31, `${bars} progress bars, wanted the total + 5 levels + 25 modules`);
    // the stylesheet applied (served from 'self' and not blocked): bars are 10px high
    const h = await page.locator('svg.bar').first().evaluate((e) => e.getBoundingClientRect().height);
    check(Math.round(h) === 10, `progress bar is ${h}px high: the stylesheet did not apply`);
    before = await doneCount(page);
  });

  // ---- 2. a question through the links ----
  await step('navigate to a question through links (Questions, a module, Q1)', page, 'question', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Questions' }).click();
    await page.waitForURL(/\/levels\/1$/);
    await page.locator('main a[href="/modules/1"]').first().click();
    await page.waitForURL(/\/modules\/1$/);
    await page.locator('main a[href="/questions/1"]').first().click();
    await page.waitForURL(/\/questions\/1$/);
    const h1 = await page.locator('h1').innerText();
    check(/^Q1\./.test(h1), `h1 ${JSON.stringify(h1)}`);
    check(await page.locator('#h-answer').isVisible(), 'no Answer section');
  });

  // ---- 3. mark it done ----
  await step('mark Q1 done with the status form; the status and the dashboard count change', page, 'marked-done', async () => {
    const form = page.locator('form[action="/questions/1/status"]');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/questions/1/status') && r.request().method() === 'POST'),
      form.locator('button[value=done]').click(),
    ]);
    check(resp.status() === 303, `POST /questions/1/status answered ${resp.status()}: ${await resp.text().catch(() => '')}`);
    await page.waitForURL(/\/questions\/1$/);
    await page.waitForLoadState('load');
    const badge = (await form.locator('legend .badge').innerText()).trim();
    check(badge === 'done', `status badge says ${JSON.stringify(badge)}`);
    check((await form.locator('button[value=done]').getAttribute('aria-pressed')) === 'true', 'done is not pressed');
    await page.locator('a.brand').click();
    await page.waitForURL(LAB + '/');
    const after = await doneCount(page);
    check(after === before + 1, `dashboard says ${after} done, was ${before}`);
    const recent = await page.locator('main').innerText();
    check(/Q1\b/.test(recent.split('Recent activity')[1] || ''), 'Q1 not in recent activity');
  });

  // ---- 4. search ----
  await step('search "consistent hashing": Q242 first, with a highlighted snippet', page, 'search', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click();
    await page.waitForURL(/\/search$/);
    await page.locator('#q').fill('consistent hashing');
    await page.locator('form[role=search] button[type=submit]').click();
    await page.waitForURL(/\/search\?.*q=consistent\+hashing/);
    const first = page.locator('ol.hits > li').first();
    const href = await first.locator('a').first().getAttribute('href');
    check(href === '/questions/242', `first hit links to ${href}`);
    const marks = await first.locator('p mark').allInnerTexts();
    check(marks.length >= 2 && marks.some((m) => /consistent/i.test(m)) && marks.some((m) => /hashing/i.test(m)),
      `snippet marks: ${JSON.stringify(marks)}`);
    // the highlight is styled (a background, not the UA's default only through our CSS)
    const bg = await first.locator('p mark').first().evaluate((e) => getComputedStyle(e).borderRadius);
    check(bg === '2px', `mark is not styled by the lab's stylesheet (border-radius ${bg})`);
  });

  // ---- 5. a note with a script in it ----
  const evil = 'Remember: <script>window.__pwned=1</script> & <b>not bold</b>';
  await step('a note containing <script> is saved and shown as text; no script ran', page, 'note', async () => {
    await page.locator('ol.hits > li').first().locator('a').first().click();
    await page.waitForURL(/\/questions\/242$/);
    await page.locator('#note').fill(evil);
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/questions/242/note') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Save note' }).click(),
    ]);
    check(resp.status() === 303, `POST /questions/242/note answered ${resp.status()}`);
    await page.waitForURL(/\/questions\/242$/);
    await page.waitForLoadState('load');
    check((await page.locator('#note').inputValue()) === evil, `textarea holds ${JSON.stringify(await page.locator('#note').inputValue())}`);
    check((await page.evaluate(() => typeof window.__pwned)) === 'undefined', 'window.__pwned is set on the question page');
    // the notes page shows it as text, inside the page's one element, without markup
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notes' }).click();
    await page.waitForURL(/\/notes$/);
    const note = page.locator('main .note').first();
    check((await note.innerText()).includes(evil), `notes page shows ${JSON.stringify(await note.innerText())}`);
    check((await note.locator('script, b').count()) === 0, 'the note became markup');
    check((await page.evaluate(() => typeof window.__pwned)) === 'undefined', 'window.__pwned is set on the notes page');
    check((await page.locator('main script').count()) === 0, 'a <script> element in main');
  });

  // ---- 6. grade the Module 1 reference app ----
  let attemptUrl = '';
  await step('grade Q11 from the browser against the basics app: the attempt reaches "passed"', page, 'attempt', async () => {
    await page.goto(LAB + '/questions/10');
    await page.locator('a[rel=next]').click(); // Q10 -> Q11 through the page's own link
    await page.waitForURL(/\/questions\/11$/);
    await page.getByLabel('Address of your server').fill(BASICS);
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/questions/11/grade') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Grade it' }).click(),
    ]);
    check(resp.status() === 303, `POST /questions/11/grade answered ${resp.status()}: ${await resp.text().catch(() => '')}`);
    await page.waitForURL(/\/attempts\/\d+$/);
    attemptUrl = page.url();
    const state = page.locator('#attempt-state');
    await page.waitForFunction(() => /passed|failed|error/.test(document.getElementById('attempt-state')?.textContent || ''), null, { timeout: 30000 });
    check((await state.innerText()) === 'passed', `state ${await state.innerText()}: ${await page.locator('#attempt-log').innerText()}`);
    check((await page.locator('#attempt-checks').innerText()) === '3/3', `checks ${await page.locator('#attempt-checks').innerText()}`);
    const log = await page.locator('#attempt-log').innerText();
    check(log.includes('Q11: 3/3 checks passed') && log.includes(BASICS), `log: ${log}`);
  });

  await step('the attempt is listed on the question page', page, 'attempts-list', async () => {
    await page.goto(LAB + '/questions/11');
    const href = new URL(attemptUrl).pathname;
    check((await page.locator(`main a[href="${href}"]`).count()) >= 1, `no link to ${href} on Q11`);
  });

  // ---- 7. the live log: the same grading, slowed down so the page is served while it runs ----
  const relay = await slowRelay(BASICS, 400);
  const relayUrl = `http://127.0.0.1:${relay.address().port}`;
  await step('while grading runs, the attempt page streams the log (SSE + grade.js) and turns "passed"', page, 'attempt-live', async () => {
    await page.getByLabel('Address of your server').fill(relayUrl);
    const events = [];
    const onReq = (r) => { if (/\/attempts\/\d+\/events/.test(r.url())) events.push(r.url()); };
    page.on('request', onReq);
    const [doc] = await Promise.all([
      page.waitForResponse((r) => /\/attempts\/\d+$/.test(r.url()) && r.request().method() === 'GET'),
      page.getByRole('button', { name: 'Grade it' }).click(),
    ]);
    const html = await doc.text();
    check(/data-events="\/attempts\/\d+\/events"/.test(html) && /state-running/.test(html),
      'the attempt page was not served while running (the relay did not slow the grader enough)');
    const servedLines = (/<pre id="attempt-log"[^>]*>([\s\S]*?)<\/pre>/.exec(html) || ['', ''])[1].split('\n').filter(Boolean).length;
    await page.waitForLoadState('domcontentloaded');
    await screenshot(page, 'attempt-running').catch((e) => problems.push(`screenshot: ${e.message}`));
    await page.waitForFunction(() => document.getElementById('attempt-state')?.textContent === 'passed', null, { timeout: 30000 });
    page.off('request', onReq);
    check(events.length >= 1, 'the page opened no event stream');
    const log = await page.locator('#attempt-log').innerText();
    const lines = log.split('\n').filter(Boolean);
    check(lines.length > servedLines && log.includes('Q11: 3/3 checks passed'),
      `log did not grow live (served ${servedLines} lines, now ${lines.length}): ${log}`);
    check(new Set(lines).size === lines.length, `a line came twice: ${log}`);
    check((await page.locator('#attempt-checks').innerText()) === '3/3', 'checks not updated to 3/3');
    check((await page.locator('#attempt-state').getAttribute('class')) === 'state state-passed', 'state class not updated');
    check((await page.locator('#attempt-log').getAttribute('data-events')) === null, 'the stream was not closed');
    // a reload shows the same, now from the finished attempt
    await page.reload();
    check((await page.locator('#attempt-state').innerText()) === 'passed', 'not passed after a reload');
    check((await page.locator('#attempt-log').innerText()).trim() === log.trim(), 'the stored log differs from the live one');
  });
  relay.close();

  // ---- 8. review ----
  await step('the review page loads', page, 'review', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Review' }).click();
    await page.waitForURL(/\/review$/);
    check((await page.locator('h1').innerText()) === 'Review', 'no h1 Review');
    check((await page.locator('a[aria-current=page]', { hasText: 'Review' }).count()) === 1, 'Review is not the current nav item');
  });

  // ---- 9. keyboard ----
  await step('keyboard: Tab reaches the skip link first, Enter moves focus to main', page, 'keyboard', async () => {
    await page.goto(LAB + '/questions/11');
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => {
      const a = document.activeElement;
      return { cls: a && a.className, href: a && a.getAttribute('href'), text: a && a.textContent };
    });
    check(first.cls === 'skip' && first.href === '#main', `first Tab stop: ${JSON.stringify(first)}`);
    const seen = await page.locator('a.skip').evaluate((e) => { const r = e.getBoundingClientRect(); return r.left >= 0 && r.top >= 0; });
    check(seen, 'the focused skip link is off screen');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'main');
    // then Tab goes on inside main, to the breadcrumb
    await page.keyboard.press('Tab');
    const inside = await page.evaluate(() => !!document.activeElement.closest('main'));
    check(inside, 'Tab after the skip link did not stay in main');
    // the status buttons are reachable and pressable with the keyboard alone
    await page.locator('form[action="/questions/11/status"] button[value=doing]').focus();
    await Promise.all([page.waitForURL(/\/questions\/11$/), page.waitForEvent('load'), page.keyboard.press('Enter')]);
    const badge = (await page.locator('form[action="/questions/11/status"] legend .badge').innerText()).trim();
    check(badge === 'doing', `after Enter on "doing" the status is ${JSON.stringify(badge)}`);
  });

  // ---- 10. a phone ----
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  phone.setDefaultTimeout(TIMEOUT);
  await phone.addInitScript(cspScript);
  const ppage = await phone.newPage();
  watch(ppage, 'phone');
  for (const [pathName, label] of [['/questions/11', 'question'], ['/', 'dashboard'], [new URL(attemptUrl || LAB + '/').pathname, 'attempt']]) {
    await step(`phone (390x844): the ${label} page has no horizontal scroll`, ppage, `phone-${label}`, async () => {
      await ppage.goto(LAB + pathName);
      const m = await ppage.evaluate(() => ({
        sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth,
        bw: document.body.scrollWidth, iw: window.innerWidth,
      }));
      check(m.sw <= m.cw && m.bw <= m.cw, `scrollWidth ${m.sw}/${m.bw} > clientWidth ${m.cw} (innerWidth ${m.iw})`);
      const wide = await ppage.evaluate(() => {
        const out = [];
        for (const e of document.querySelectorAll('main *')) {
          const r = e.getBoundingClientRect();
          if (r.right > document.documentElement.clientWidth + 1 && !e.closest('pre, .scroll')) out.push(`${e.tagName.toLowerCase()}.${e.className}`);
        }
        return out.slice(0, 5);
      });
      check(wide.length === 0, `elements wider than the screen: ${wide.join(', ')}`);
    });
  }
  await phone.close();

  // ---- 11. nothing went wrong on any page ----
  tap(problems.length === 0, 'no console errors, page errors, CSP violations or failed requests',
    problems.slice(0, 5).join(' | '));
  for (const p of problems) console.log('# ' + oneLine(p));
  await context.close();
} catch (e) {
  tap(false, 'the run', e && e.stack ? e.stack : e);
  code = 1;
} finally {
  await browser.close();
}
console.log(`1..${n}`);
process.exit(failed || code ? 1 : 0);
