/**
 * The web UI in headless Chromium (playwright-core), against one seeded server: the pages render, a
 * 6,000-build graph becomes usable and a neighbourhood opens (both timed and printed, never asserted), a
 * state change arrives live over SSE, everything but the overview works with JavaScript off, and a
 * phone-sized screen does not scroll sideways. Screenshots go to test-artifacts/web-ui/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumSkipReason, reportSkip } from '../support/capabilities.js';
import { largeBuildSet, seedBuildSet } from '../support/build-set-seed.js';
import { API_TOKEN, startRig, type Rig } from '../server/server-harness.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/web-ui/', import.meta.url));
const skip = reportSkip(chromiumSkipReason(), 'web UI in Chromium');
const LARGE = 6000;
/** Resolves (in the page) with the milliseconds the script measured once the next neighbourhood is in the page. */
const NEIGHBOURHOOD_OPENED = "new Promise((resolve) => document.addEventListener('quarters:neighbourhood', (e) => resolve(e.detail.ms), { once: true }))";

describe.skipIf(skip)('web UI in headless Chromium', () => {
  let rig: Rig;
  let browser: Browser;
  let small: { ids: number[] };
  let large: { ids: number[] };
  const shots: string[] = [];

  const screenshot = async (page: Page, name: string) => {
    const path = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path, fullPage: false });
    shots.push(path);
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    rig = await startRig();
    small = seedBuildSet(rig.server.store, {
      name: 'gtk-stack', origins: ['zlib@main'], packager: 'Jane Packager <jane@example.org>',
      builds: [
        { pkgbase: 'zlib', state: 'built' },
        { pkgbase: 'libpng', depends: [0], state: 'building', because: { to: 'zlib', kind: 'run', binary: 'zlib', clause: 'zlib' } },
        { pkgbase: 'pixman', depends: [0], state: 'failed', reason: 'script_failure', because: { to: 'zlib', kind: 'build', binary: 'zlib', clause: 'zlib' } },
        { pkgbase: 'cairo', depends: [1, 2], state: 'dependency-failed', reason: 'dependency pixman/x86_64 failed: script_failure', because: { to: 'libpng', kind: 'build', binary: 'libpng', clause: 'libpng>=1.6' } },
        { pkgbase: 'pango', depends: [3], state: 'blocked', because: { to: 'cairo', kind: 'build', binary: 'cairo', clause: 'cairo' } },
        { pkgbase: 'gtk', depends: [4, 1], state: 'blocked', because: { to: 'pango', kind: 'build', binary: 'pango', clause: 'pango' } },
      ],
    });
    large = seedBuildSet(rig.server.store, { name: 'world-rebuild', origins: ['pkg0000@main'], packager: 'Release Team <release@example.org>', builds: largeBuildSet(LARGE) });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] });
  });
  afterAll(async () => {
    await browser?.close();
    await rig?.close();
    if (shots.length) process.stdout.write(`web UI screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}\n`);
  });

  it('renders the home, build set, build and builders pages', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${rig.url}/`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Build sets');
    await expect(page.locator('tr[data-namespace="world-rebuild"] [data-count="world-rebuild/x86_64:total"]').textContent()).resolves.toBe(String(LARGE));
    await screenshot(page, 'home');

    await page.goto(`${rig.url}/ui/namespaces/gtk-stack`);
    await expect(page.locator(`tr[data-build="${small.ids[3]}"] .why`).textContent()).resolves.toContain('libpng (build: libpng>=1.6) → zlib (run: zlib)');
    // The copy button exists only with the script, which shows it.
    await expect(page.locator('button.copy').isVisible()).resolves.toBe(true);
    await screenshot(page, 'build-set');

    await page.goto(`${rig.url}/ui/builds/${small.ids[2]}`);
    await expect(page.locator('h1').textContent()).resolves.toBe('pixman/x86_64');
    await screenshot(page, 'build');

    await page.goto(`${rig.url}/ui/builders`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Builders');
    await screenshot(page, 'builders');
    await page.close();
  });

  it(`makes a ${LARGE}-build graph usable and opens a neighbourhood without a reload`, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const started = Date.now();
    await page.goto(`${rig.url}/ui/namespaces/world-rebuild/graph`);
    await page.waitForFunction('window.quartersGraph?.ready === true', undefined, { timeout: 60_000 });
    const wall = Date.now() - started;
    const figures = (await page.evaluate('window.quartersGraph')) as { nodes: number; edges: number; readyAt: number; readyMs: number; drawMs: number };
    expect(figures.nodes).toBe(LARGE);
    await screenshot(page, 'graph-overview');

    // A package in the middle of the graph, by the form (Enter in the field), as a keyboard user would.
    const focus = 'pkg3000';
    await page.evaluate('window.reloaded = false');
    await page.fill('#focus-input', focus);
    const before = Date.now();
    const opened = page.evaluate(NEIGHBOURHOOD_OPENED) as Promise<number>;
    await page.press('#focus-input', 'Enter');
    const hoodMs = await opened;
    const hoodWall = Date.now() - before;
    await expect(page.locator('#neighbourhood').getAttribute('data-focus')).resolves.toBe(focus);
    await expect(page.locator('#neighbourhood svg a').count()).resolves.toBeGreaterThan(1);
    // No reload happened: the marker set before is still there.
    await expect(page.evaluate('window.reloaded')).resolves.toBe(false);
    expect(page.url()).toContain(`focus=${focus}`);
    await screenshot(page, 'graph-neighbourhood');

    // The build set's page lists the first 500 builds of the 6,000 with why each is there.
    const setStarted = Date.now();
    await page.goto(`${rig.url}/ui/namespaces/world-rebuild`);
    const setPageMs = Date.now() - setStarted;
    await expect(page.locator('table.builds tbody tr').count()).resolves.toBe(500);
    await page.goBack();
    await page.waitForFunction('window.quartersGraph?.ready === true');

    // A build of the neighbourhood, by keyboard: focus its link, Enter: its own neighbourhood.
    const next = await page.locator('#neighbourhood svg a:not([data-focus="pkg3000"])').first().getAttribute('data-focus');
    await page.locator(`#neighbourhood svg a[data-focus="${next}"]`).first().focus();
    const again = page.evaluate(NEIGHBOURHOOD_OPENED) as Promise<number>;
    await page.keyboard.press('Enter');
    const secondMs = await again;
    await expect(page.locator('#neighbourhood').getAttribute('data-focus')).resolves.toBe(next);

    process.stdout.write(
      `graph of ${figures.nodes} builds, ${figures.edges} edges (headless Chromium ${browser.version()}): usable ${Math.round(figures.readyAt)} ms after navigation start ` +
      `(${wall} ms wall from goto; graph.json fetched and drawn in ${Math.round(figures.readyMs)} ms, a redraw ${figures.drawMs.toFixed(1)} ms); ` +
      `neighbourhood of ${focus} in ${Math.round(hoodMs)} ms (${hoodWall} ms wall), of ${next} in ${Math.round(secondMs)} ms; ` +
      `the build set's page (500 of ${LARGE} builds listed) loaded in ${setPageMs} ms\n`,
    );
    await page.close();
  });

  it('shows a state change live over SSE, without a reload', async () => {
    const page = await browser.newPage();
    await page.goto(`${rig.url}/ui/namespaces/gtk-stack`);
    await page.waitForFunction('window.quartersLive?.connected === true');
    await page.evaluate('window.reloaded = false');
    const row = page.locator(`tr[data-build="${small.ids[5]}"] [data-state-label]`);
    await expect(row.textContent()).resolves.toBe('blocked');
    const cancelledBefore = Number(await page.locator('[data-count="gtk-stack/x86_64:cancelled"]').textContent());
    // A person cancels gtk through the API; the page hears it.
    const res = await fetch(`${rig.url}/api/v1/namespaces/gtk-stack/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ pkgbases: ['gtk'] }) });
    expect(res.status).toBe(200);
    await page.waitForFunction(`document.querySelector('tr[data-build="${small.ids[5]}"]')?.getAttribute('data-state') === 'cancelled'`);
    await expect(row.textContent()).resolves.toBe('cancelled');
    await expect(page.locator('[data-count="gtk-stack/x86_64:cancelled"]').textContent()).resolves.toBe(String(cancelledBefore + 1));
    await expect(page.evaluate('window.reloaded')).resolves.toBe(false);
    await screenshot(page, 'build-set-live');
    await page.close();
  });

  it('works with JavaScript off: pages, filters and the neighbourhood are there, only the overview and live updates are not', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${rig.url}/ui/namespaces/gtk-stack`);
    await page.selectOption('select[name="state"]', 'failed');
    await page.click('form.filters button[type="submit"]');
    expect(page.url()).toContain('state=failed');
    await expect(page.locator('table.builds tbody tr').count()).resolves.toBe(1);
    await expect(page.locator('button.copy').isVisible()).resolves.toBe(false);

    await page.goto(`${rig.url}/ui/namespaces/world-rebuild/graph`);
    await page.fill('#focus-input', 'pkg1234');
    await page.click('#hood-form button[type="submit"]');
    await expect(page.locator('#neighbourhood').getAttribute('data-focus')).resolves.toBe('pkg1234');
    await expect(page.locator('#overview').getAttribute('data-ready')).resolves.toBeNull();
    await screenshot(page, 'graph-no-js');

    await page.goto(`${rig.url}/`);
    await page.fill('#q', 'pixman');
    await page.press('#q', 'Enter');
    await expect(page.locator('h1').textContent()).resolves.toBe('Search: pixman');
    await expect(page.locator('main table a').first().textContent()).resolves.toBe('pixman/x86_64');
    await context.close();
  });

  it('fits a phone screen and starts keyboard navigation at the skip link', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    for (const path of ['/', '/ui/namespaces/gtk-stack', `/ui/builds/${large.ids[10]}`]) {
      await page.goto(`${rig.url}${path}`);
      const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
      expect(overflow, path).toBeLessThanOrEqual(1);
    }
    await page.goto(`${rig.url}/ui/namespaces/gtk-stack`);
    await screenshot(page, 'phone-build-set');
    await page.keyboard.press('Tab');
    await expect(page.evaluate('document.activeElement?.textContent')).resolves.toBe('Skip to content');
    await context.close();
  });
});
