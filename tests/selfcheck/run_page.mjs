// Drives the self-check page in Debian's Chromium (playwright-core: no browser download),
// opened from file:// with the network off, and reports what it saw as JSON on stdout.
//
//   node run_page.mjs check PAGE FILE...   every file through window.bcfCheck: each answer, how
//                                          long each took, and every request the page made
//   node run_page.mjs ui PAGE FILE SHOTS   a person's use: pick FILE, wait for the result, read
//                                          the verdict and findings off the page, run axe-core,
//                                          measure at 1,280 px and at phone width, print to PDF
//                                          and screenshot into SHOTS; then check a second file
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const [mode, pagePath, ...rest] = process.argv.slice(2);
const pageUrl = pathToFileURL(resolve(pagePath)).href;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-extensions'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
const requests = [];
context.on('request', (r) => requests.push(r.url()));
await context.addInitScript(() => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
});
const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
await page.goto(pageUrl);
await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: 60000 });
const startState = await page.evaluate(() => document.body.dataset.state);

async function check(file) {
  const b64 = readFileSync(file).toString('base64');
  const started = performance.now();
  const answer = await page.evaluate(async ([b64, name]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return window.bcfCheck(bytes, name);
  }, [b64, basename(file)]);
  return { file, answer, ms: performance.now() - started };
}

let report = { startState };
if (mode === 'check') {
  report.results = [];
  for (const file of rest) report.results.push(await check(file));
} else if (mode === 'ui') {
  const [file, shots, second] = rest;
  mkdirSync(shots, { recursive: true });
  report.ui = await person(file, shots);
  if (second) report.second = await person(second, shots);
} else {
  throw new Error(`unknown mode ${mode}`);
}

async function person(file, shots) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.evaluate(() => { document.body.dataset.state = 'ready'; });
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: 120000 });
  const seen = await page.evaluate(() => ({
    state: document.body.dataset.state,
    status: document.getElementById('status').textContent,
    verdict: document.querySelector('.verdict h2')?.textContent ?? null,
    verdictClass: document.querySelector('.verdict')?.className ?? null,
    sheets: [...document.querySelectorAll('#result h3')].map((h) => h.textContent),
    rows: [...document.querySelectorAll('#result tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent)),
    buttons: [...document.querySelectorAll('#result button')].map((b) => b.textContent),
    allocations: document.getElementById('allocations').textContent,
    notChecked: [...document.querySelectorAll('#not-checked li')].map((li) => li.textContent),
    privacy: document.querySelector('.private').textContent,
  }));
  const widest = async () => page.evaluate(() => Math.max(...[...document.querySelectorAll('body *')].map((e) => e.getBoundingClientRect().right)));
  seen.widest1280 = await widest();
  await page.screenshot({ path: `${shots}/${basename(file)}-1280.png`, fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  seen.widest375 = await widest();
  seen.scrollWidth375 = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.screenshot({ path: `${shots}/${basename(file)}-375.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  // Evaluated through the debugger protocol, which the page's CSP does not govern (an inline
  // script tag would be refused, as it should be).
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')).catch((e) => errors.push(`axe: ${e}`));
  seen.axe = await page.evaluate(async () => {
    if (!window.axe) return null;
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  await page.emulateMedia({ media: 'print' });
  await page.pdf({ path: `${shots}/${basename(file)}.pdf` }).catch(() => {});
  await page.emulateMedia({ media: 'screen' });
  return seen;
}

report.violations = await page.evaluate(() => window.__violations);
report.requests = requests;
report.errors = errors;
report.pageUrl = pageUrl;
await browser.close();
process.stdout.write(JSON.stringify(report));
