import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routingPlugin } from '../../src/routing/server.js';
import { CONFIDENCE_LEVELS } from '../../src/routing/server/page.js';
import { openLabelStore, type LabelStore } from '../../src/routing/store/index.js';

// End to end in headless Chromium (Debian's `chromium`; CI installs it with `apt-get install -y chromium`).
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const SKIP_REASON = HAVE_CHROMIUM ? '' : ` [SKIPPED: ${CHROMIUM} is missing; run \`apt-get install -y chromium\`]`;

let dir: string;
let store: LabelStore;
let app: FastifyInstance;
let browser: Browser | undefined;
let base: string;
let apiKey: string;

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-page-'));
  store = await openLabelStore(path.join(dir, 'labels.sqlite'));
  const pairs = ['first', 'second', 'third', 'fourth'].map((w, i) => ({ id: `w${i}`, prompt: `Say the ${w} word.`, responseA: `${w} A`, responseB: `${w} B` }));
  await store.addPairs(pairs);
  await store.recordRouting({ strategy: 'random', budget: 1 }, pairs.map((p, i) => ({ pairId: p.id, route: 'human' as const, gain: -i })));
  apiKey = (await store.createAnnotator('browser')).apiKey;
  app = Fastify();
  await app.register(routingPlugin({ store }), { prefix: '/routing' });
  base = `${await app.listen({ port: 0, host: '127.0.0.1' })}/routing`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await store?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('annotator page in headless Chromium', () => {
  it.skipIf(!HAVE_CHROMIUM)(`labels three pairs with the keyboard, the key typed into its field, and the labels land in SQLite${SKIP_REASON}`, async () => {
    const page = await browser!.newPage();
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base.replace(/\/routing$/, ''))) external.push(r.url());
    });
    // The key goes into the page's key field, never into the URL.
    await page.goto(`${base}/annotate`);
    await page.waitForSelector('body[data-ready="1"]');
    await page.fill('#key', apiKey);
    await page.click('#start');
    await page.waitForSelector('body[data-pair-id="w0"]');
    expect(page.url()).not.toContain(apiKey);
    expect(await page.textContent('#responseA')).toBe('first A');

    // Pair w0: "1" = A clearly better at the default (medium) confidence.
    await page.keyboard.press('1');
    await page.waitForSelector('body[data-pair-id="w1"][data-saved="1"]');
    // Pair w1: "e" = high confidence, then "5" = B clearly better.
    await page.keyboard.press('e');
    await page.keyboard.press('5');
    await page.waitForSelector('body[data-pair-id="w2"][data-saved="2"]');
    // Pair w2: "q" = low confidence, "3" = tie.
    await page.keyboard.press('q');
    await page.keyboard.press('3');
    await page.waitForSelector('body[data-pair-id="w3"][data-saved="3"]');
    expect(await page.textContent('#status')).toMatch(/Saved label #\d+ for pair w2/);

    const labels = (await store.humanLabels()).map((l) => [l.pairId, l.scale, l.preference, l.confidence]);
    expect(labels).toEqual([
      ['w0', -2, 'A', CONFIDENCE_LEVELS.medium],
      ['w1', 2, 'B', CONFIDENCE_LEVELS.high],
      ['w2', 0, 'tie', CONFIDENCE_LEVELS.low],
    ]);
    // Pair w3 fills up meanwhile (an admin override for another annotator): the page says why and moves on.
    const other = await store.createAnnotator('other');
    await store.submitHumanLabel({ pairId: 'w3', annotatorId: other.id, scale: 1, confidence: 1, override: true });
    await page.keyboard.press('4');
    await page.waitForSelector('#done:not([hidden])');
    expect(await page.textContent('#status')).toMatch(/already has the 1 human label/);
    expect(external).toEqual([]);
    await page.close();
  });
});
