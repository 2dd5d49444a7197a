// The dashboard in a real browser: Playwright (playwright-core) driving Debian's /usr/bin/chromium
// against a real `run` runtime on port 0. The page renders its charts, a decision appears within
// seconds of being made, and pausing from the page stops actions. Screenshots (1280 px and phone
// width) are written to docs/images/ when SHADOWSCALE_SCREENSHOTS=1.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { loadConfig } from '../../src/config/load.js';
import { Runtime } from '../../src/control/runtime.js';
import { component, driveTraffic, prefixProxy, ROOT, smallRunConfig, tempDir, until } from '../helpers.js';

describe('dashboard in chromium', () => {
  it('renders the charts, shows a new decision within seconds, and pauses from the page', async (t) => {
    const browserPath = component(t, '/usr/bin/chromium', 'chromium');
    if (!browserPath) return;
    const dir = tempDir(t);
    const file = smallRunConfig(dir);
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {} });
    t.after(() => rt.stop({ deleteInstances: true }));
    // Some traffic, so the charts have lines.
    driveTraffic(t, `${rt.listen}/work`);
    await until('a live instance routed', async () => (await fetch(`${rt.listen}/work`)).status === 200, 20_000);

    // A campaign announced for a minute from now: the summary says it is coming (and the demand chart bands it).
    const soon = Date.now() + 60_000;
    const declared = await fetch(`${rt.apiUrl}/api/v1/services/web/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'launch', start: new Date(soon).toISOString(), end: new Date(soon + 600_000).toISOString(), multiplier: 3 }) });
    assert.equal(declared.status, 201);

    const browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    t.after(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const started = Date.now();
    await page.goto(`${rt.apiUrl}/`);
    // The four charts are drawn by uPlot (a canvas each) and the summary filled.
    // (Expressions as strings: they run in the page, whose DOM types this Node project does not compile against.)
    await page.waitForFunction("document.querySelectorAll('.uplot canvas').length === 4 && document.querySelectorAll('#summary .card').length > 0", undefined, { timeout: 10_000 });
    const firstPaintMs = Date.now() - started;
    assert.deepEqual(errors, []);
    assert.match((await page.textContent('#state')) ?? '', /acting/);
    assert.match((await page.textContent('#summary')) ?? '', /next known event at [^\n]*launch ×3/);

    // A decision made now (an operator's bounds change is one) is on the page within seconds.
    const change = await fetch(`${rt.apiUrl}/api/v1/services/web/bounds`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ max: 2, seconds: 600, note: 'browser test' }) });
    const seq = ((await change.json()) as { seq: number }).seq;
    const shown = Date.now();
    await page.waitForSelector(`#decisions tr[data-seq="${seq}"]`, { timeout: 10_000 });
    const appearedMs = Date.now() - shown;
    assert.ok(appearedMs < 5000, `decision shown after ${appearedMs} ms`);

    if (process.env.SHADOWSCALE_SCREENSHOTS === '1') {
      const out = join(ROOT, 'docs', 'images');
      mkdirSync(out, { recursive: true });
      await page.screenshot({ path: join(out, 'dashboard-1280.png'), fullPage: true });
    }

    // Pause from the page: the loop records it and stops acting; a forced minimum is not acted on.
    await page.click('#pause');
    await page.waitForFunction("document.querySelector('#state').textContent.includes('paused')", undefined, { timeout: 10_000 });
    assert.equal(rt.loop.state().paused, true);
    const before = (await rt.provider.list({ pool: 'live' })).length;
    await fetch(`${rt.apiUrl}/api/v1/services/web/bounds`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ min: 2, max: 3, seconds: 600 }) });
    await until('a decision that would have acted', async () => {
      const r = (await (await fetch(`${rt.apiUrl}/api/v1/services/web/decisions?limit=1&reason=min_instances`)).json()) as { decisions: { wouldHave: { why: string } | null }[] };
      return r.decisions[0]?.wouldHave?.why === 'paused';
    });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await rt.provider.list({ pool: 'live' })).length, before, 'paused from the page: no action');
    await page.waitForSelector('#decisions tr.would', { timeout: 10_000 });

    // Phone width: the page still lays out (charts resized to the screen, no horizontal overflow).
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    assert.ok(overflow <= 1, `horizontal overflow ${overflow} px at phone width`);
    if (process.env.SHADOWSCALE_SCREENSHOTS === '1') await page.screenshot({ path: join(ROOT, 'docs', 'images', 'dashboard-phone.png'), fullPage: true });
    assert.deepEqual(errors, []);

    // Behind a proxy under a path prefix (an ingress at /ss/): every path of the page is relative, so it
    // loads and reads the API through the prefix; the prefix without its slash gets one.
    const proxy = await prefixProxy(t, '/ss', rt.apiUrl as string);
    const behind = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const missing: string[] = [];
    const behindErrors: string[] = [];
    behind.on('pageerror', (e) => behindErrors.push(e.message));
    behind.on('response', (r) => {
      if (r.status() >= 400) missing.push(`${r.status()} ${r.url()}`);
    });
    await behind.goto(`${proxy}/ss`);
    await behind.waitForURL(`${proxy}/ss/`, { timeout: 10_000 });
    // (Before the slash is added the browser may already have asked for the stylesheets off the prefix.)
    missing.length = 0;
    await behind.reload();
    await behind.waitForFunction("document.querySelectorAll('.uplot canvas').length === 4 && document.querySelectorAll('#summary .card').length > 0", undefined, { timeout: 10_000 });
    assert.match((await behind.textContent('#state')) ?? '', /paused/);
    assert.deepEqual(missing, []);
    assert.deepEqual(behindErrors, []);
    t.diagnostic(`first paint with charts ${firstPaintMs} ms; decision shown after ${appearedMs} ms`);
  });
});
