// What every browser journey uses: the context the Rust side wrote (the server's URL, an admin credential,
// the mail folder, the screenshot folder), Debian's Chromium launched with the flags that work here, and
// the checks every page must pass: axe-core with no serious or critical violation, nothing scrolling
// sideways, no error in the console (a Content-Security-Policy refusal shows up there), and screenshots at
// 1280×800 and 390×844 to look at.
//
// The journeys run under `node --test`, one process per file, started by `cargo test`
// (crates/onramp/tests/it/browser.rs), which also starts the server. Screenshots go to
// `<screenshot folder>/<journey>/<name>-<width>.png`, the journey being the file's name without
// `.test.mjs`; cargo's test puts them under `target/web-tests/<backend>/`.
//
// A journey calls `useBrowser()` once at its top (Chromium launched before its first test, closed after its
// last, when a test fails too), opens each page with `newPage()`, sets up what it needs with `api()` (and
// `makeDirectory`, `invite`, `acceptInvitation`), reads emails with `newestMail`/`invitationLink`, signs in
// with `signIn`/`signInByLink`, and calls `checkPage(page, name)` on every page it reaches.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { after, before } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

import { Api } from './api.mjs';
import { linkIn, waitForMails } from './mail.mjs';

export { linkIn, parseMail, readMails, waitForMails } from './mail.mjs';

// The password of the people the journeys invite, and the one they give the console's admins.
export const PASSWORD = 'correct horse battery staple';
export const ADMIN_PASSWORD = 'copper meadow lantern ninety';

export const DESKTOP = Object.freeze({ width: 1280, height: 800 });
export const PHONE = Object.freeze({ width: 390, height: 844 });

// Debian's package; a test tool's own browser download does not work here (never `playwright install`).
export const CHROMIUM = '/usr/bin/chromium';
// Headless without a sandbox (the tests run as root in a container) and without anything that reaches out
// to the network by itself. Playwright gives every launch a fresh profile folder of its own.
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
]);

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let loaded;

// The context `cargo test` wrote for this run, from the file `ONRAMP_WEB_CONTEXT` names: `{ backend,
// baseUrl, admin: { clientId, clientSecret }, mailDir, screenshotDir, fixtures }`.
export function context() {
  if (!loaded) {
    const file = process.env.ONRAMP_WEB_CONTEXT;
    assert.ok(file, 'ONRAMP_WEB_CONTEXT is not set: run the journeys with `cargo test -p onramp --test it browser`');
    loaded = JSON.parse(readFileSync(file, 'utf8'));
  }
  return loaded;
}

// The running journey: its file's name without `.test.mjs` (node --test runs each file as a process of its
// own, with the file as its script).
export function journeyName() {
  return basename(process.argv[1] ?? 'journey').replace(/\.test\.mjs$/, '').replace(/\.mjs$/, '');
}

// A name no other journey or run uses, for emails and directory names: `ada` gives `ada-lz3k9x1f2c`.
export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

let apiClient;

// The API as the bootstrap super-admin of the server under test.
export function api() {
  const { baseUrl, admin } = context();
  apiClient ??= new Api(baseUrl, admin.clientId, admin.clientSecret);
  return apiClient;
}

// The newest email to `address` in the server's mail folder, waiting for the `count`-th to arrive.
export async function newestMail(address, { count = 1, timeoutMs = 15_000 } = {}) {
  const mails = await waitForMails(context().mailDir, address, { count, timeoutMs });
  return mails[mails.length - 1];
}

// The link of the newest invitation email to `address`.
export async function invitationLink(address, options) {
  return linkIn(await newestMail(address, options), '/invite/');
}

// The address of `path` on the server under test: `url('/console')`.
export function url(path) {
  return `${context().baseUrl}${path}`;
}

// An app named `unique(name)` and its local directory named `name` (using the flow `flowId`, when given),
// made by the admin; returns the directory's id (the app's).
export async function makeDirectory(name, { flowId } = {}) {
  const app = await api().post('/api/v1/apps', { displayName: unique(name) });
  const directory = { appId: app.app.id, displayName: name };
  if (flowId) directory.onboardingFlowId = flowId;
  await api().post('/api/v1/local-directory-configs', directory);
  return app.app.id;
}

// Invites `email` (named `displayName`) into the directory `directoryId`; returns the invitation.
export async function invite(directoryId, email, displayName) {
  const path = `/api/v1/local-directory-configs/${directoryId}/invitations`;
  const { invitation } = await api().post(path, { email, displayName });
  return invitation;
}

// Accepts the invitation of `link` (an `/invite/<token>` address) through the API, as `displayName` with
// `password`; returns the answer (`onboardId` among it).
export async function acceptInvitation(link, displayName, password = PASSWORD) {
  const token = new URL(link).pathname.split('/').pop();
  const response = await fetch(url('/api/v1/local-directory-invitations/accept'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, displayName, password }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, `accepting the invitation: ${JSON.stringify(body)}`);
  return body;
}

// Fills the sign-in form the page shows and submits it.
export async function signIn(page, email, password = ADMIN_PASSWORD) {
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// An admin of the fixtures (`{ email, link }`, the link a console sign-in link from `signin-link`) sets
// their console password at the link, signs in on the page it leads to, and lands on the console's overview.
export async function signInByLink(page, { email, link }, password = ADMIN_PASSWORD) {
  await page.goto(url(link));
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await page.getByLabel(/^Password/).fill(password);
  await page.getByLabel('Confirm your password').fill(password);
  await page.getByRole('button', { name: 'Save my new password' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(page, email, password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

// A real PNG of `width`×`height` in `[r, g, b]` with a white band across its middle, made here so that no
// journey ships a binary.
export function png([r, g, b], { width = 120, height = 40 } = {}) {
  const band = (x, y) => y > height * 0.375 && y < height * 0.625 && x > width / 12 && x < (width * 11) / 12;
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = [0];
    for (let x = 0; x < width; x++) row.push(...(band(x, y) ? [255, 255, 255] : [r, g, b]));
    rows.push(Buffer.from(row));
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, truecolour, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Launches Chromium; close it in an `after` hook or a `finally` block (`useBrowser` does both).
export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS], timeout: 60_000 });
}

let journeyBrowser;

// The journey's one browser: launched before the file's first test, closed after its last (which runs when
// a test fails too). `newPage()` opens its pages there.
export function useBrowser() {
  before(async () => {
    journeyBrowser = await launch();
  });
  after(async () => {
    await journeyBrowser?.close();
    journeyBrowser = undefined;
  });
}

function theBrowser() {
  assert.ok(journeyBrowser, 'no browser: call useBrowser() at the top of the journey');
  return journeyBrowser;
}

// Console errors and uncaught exceptions of each page, for `checkPage`.
const problems = new WeakMap();

// A new page in a fresh browser context (no cookies) at `viewport`, recording what goes wrong in it; in the
// journey's browser (`useBrowser`) unless another is given.
// A non-2xx status of the page itself is logged by Chromium as a failed resource; that is the page's own
// answer (an error page is 404 or 410), so it is not counted as a problem.
export async function newPage(browser = theBrowser(), viewport = DESKTOP) {
  const browserContext = await browser.newContext({ viewport });
  const page = await browserContext.newPage();
  const list = [];
  problems.set(page, list);
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource: the server responded')) {
      list.push(`console: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => list.push(`uncaught: ${error.message}`));
  return page;
}

// The folder of this journey's screenshots, created when first needed.
function screenshotFolder() {
  const folder = join(context().screenshotDir, journeyName());
  mkdirSync(folder, { recursive: true });
  return folder;
}

// Screenshots of the whole page at 1280×800 and at 390×844: `<name>-1280.png` and `<name>-390.png`.
// The viewport is set back to what it was. Returns the files.
export async function shot(page, name) {
  const before = page.viewportSize();
  const files = [];
  try {
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      const path = join(screenshotFolder(), `${name}-${viewport.width}.png`);
      await page.screenshot({ path, fullPage: true });
      files.push(path);
    }
  } finally {
    if (before) await page.setViewportSize(before);
  }
  return files;
}

// Runs axe-core on the page and fails on any serious or critical violation, listing each with the
// elements it found and how to fix them. Returns the lesser violations, for a journey that wants them.
// The script is evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
// govern, so the page is checked with its real policy in force.
export async function axe(page) {
  const present = await page.evaluate(() => typeof window.axe === 'object');
  if (!present) await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (serious.length > 0) {
    const report = serious
      .map((v) => {
        const nodes = v.nodes.map((node) => `    ${node.target.join(' ')}: ${node.failureSummary.replace(/\n/g, ' ')}`);
        return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes.join('\n')}`;
      })
      .join('\n');
    assert.fail(`axe found ${serious.length} serious or critical violation(s) on ${page.url()}:\n${report}`);
  }
  return results.violations;
}

// Fails if the page scrolls sideways at its current viewport, naming the elements that stick out.
export async function noSidewaysScroll(page) {
  const found = await page.evaluate(() => {
    const width = window.innerWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((element) => element.getBoundingClientRect().right > width + 0.5)
      .slice(0, 5)
      .map((element) => `<${element.tagName.toLowerCase()}${element.name ? ` name=${element.name}` : ''}> right edge ${Math.round(element.getBoundingClientRect().right)}`);
    return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth: width, wide };
  });
  assert.ok(
    found.scrollWidth <= found.innerWidth,
    `${page.url()} scrolls sideways at ${found.innerWidth} px: the page is ${found.scrollWidth} px wide; ` +
      `sticking out: ${found.wide.join(', ') || 'nothing in the body'}`,
  );
}

// Everything a page must pass, at 1280×800 and at 390×844: a screenshot first (so a failing page can be
// looked at), then axe and the sideways-scroll check; the same on the phone in the dark colour scheme
// (`<name>-dark-390.png`), whose colours axe checks too; and no console error or uncaught exception since
// the page was opened. `name` names the screenshots. The viewport and colour scheme are set back.
export async function checkPage(page, name) {
  await shot(page, name);
  const before = page.viewportSize();
  const lesser = new Set();
  try {
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      for (const violation of await axe(page)) lesser.add(`${violation.id} (${violation.impact})`);
      await noSidewaysScroll(page);
    }
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(screenshotFolder(), `${name}-dark-390.png`), fullPage: true });
    for (const violation of await axe(page)) lesser.add(`${violation.id} (${violation.impact}, dark)`);
  } finally {
    await page.emulateMedia({ colorScheme: null });
    if (before) await page.setViewportSize(before);
  }
  // Moderate and minor findings do not fail the page, but are shown in the output to be fixed in time.
  if (lesser.size > 0) console.log(`${journeyName()}/${name}: axe also found ${[...lesser].join(', ')}`);
  assert.deepEqual(problems.get(page) ?? [], [], `errors on ${page.url()}`);
}
