// The tenant's look, set by an admin through the API (display name, accent colour, a logo), seen where an
// invitee meets it: the invitation email (subject naming who invites them to what, both parts, the logo
// and accent) and the invitation page (name, logo served by onramp itself, accent on the button). The
// email's HTML is shown in the browser too, for its screenshots.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  api, checkPage, context, invite, linkIn, makeDirectory, newPage, newestMail, png, shot, unique, useBrowser,
} from '../lib/onramp.mjs';

useBrowser();

test('branding set through the API shows in the invitation email and on the invitation page', async () => {
  const admin = api();
  const settings = await admin.post('/api/v1/settings/tenant', {
    displayName: 'Acme Widgets',
    accentColor: '#0B6E4F',
    logo: { contentType: 'image/png', data: png([11, 110, 79]).toString('base64') },
  });
  assert.equal(settings.accentColor, '#0b6e4f');
  assert.equal(settings.accentTextColor, '#ffffff');
  const logoUrl = settings.logo.url;

  const email = `${unique('grace')}@example.com`;
  await invite(await makeDirectory('Design'), email, 'Grace Hopper');

  // The email: who invites you to what, in both parts; the HTML in the tenant's look.
  const mail = await newestMail(email);
  assert.match(mail.subject, /^Administrator invited you to join Design at Acme Widgets$/);
  assert.match(mail.text, /Hello Grace Hopper,/);
  assert.match(mail.text, /Administrator \(admin@example\.com\) invited you to join Design at Acme Widgets/);
  assert.match(mail.text, /expires in \d+ days, on \w+day \d+ \w+/);
  assert.ok(mail.html, 'an HTML part');
  assert.ok(mail.html.includes(`src="${context().baseUrl}${logoUrl}"`), 'the logo, from onramp');
  assert.ok(mail.html.includes('background:#0b6e4f;color:#ffffff'), 'the button in the accent');
  const link = linkIn(mail, '/invite/');
  assert.equal(linkIn({ text: '', html: mail.html }, '/invite/'), link, 'the same link in both parts');

  // The email as a reader would see it.
  const reader = await newPage();
  await reader.setContent(mail.html, { waitUntil: 'load' });
  await shot(reader, 'invitation-email');

  // The page: every request stays on onramp; the name, the logo (loaded) and the accent are the tenant's.
  const page = await newPage();
  const elsewhere = [];
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== new URL(context().baseUrl).origin) elsewhere.push(request.url());
  });
  await page.goto(link);
  await page.locator('.brand-name').getByText('Acme Widgets').waitFor();
  await page.getByText(/Administrator \(admin@example\.com\) invited you to join Design at Acme Widgets/).waitFor();
  const logo = page.locator('img.brand-logo');
  assert.equal(await logo.getAttribute('src'), logoUrl);
  assert.ok(await logo.evaluate((img) => img.complete && img.naturalWidth === 120), 'the logo loads');
  const button = page.getByRole('button', { name: 'Create my account' });
  const colours = await button.evaluate((element) => {
    const style = getComputedStyle(element);
    return [style.backgroundColor, style.color];
  });
  assert.deepEqual(colours, ['rgb(11, 110, 79)', 'rgb(255, 255, 255)']);
  assert.match(await page.title(), /Acme Widgets$/);
  await checkPage(page, 'invitation-page');
  assert.deepEqual(elsewhere, [], 'the page fetched nothing from anywhere else');
});
