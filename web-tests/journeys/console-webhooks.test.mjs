// The console's Webhooks pages in the browser (issue #16): an admin subscribes a URL (a bad one first,
// refused on its field with the values kept), sees the secret once, opens the webhook to see its deliveries
// (the receiver refuses connections, so they are retrying with the error), redelivers one, turns the
// webhook off and deletes it (after a confirmation page); a read-only admin sees the pages without forms. Every page: axe with no
// violation at all (not only no serious one), screenshots at 1280 and 390 px, nothing scrolling sideways.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DESKTOP, PHONE, api, axe, checkPage, context, newPage, signInByLink, url, useBrowser } from '../lib/onramp.mjs';

useBrowser();

const people = () => context().fixtures.consoleWebhooks;

// Where the webhook points: a loopback port nothing listens on (the journeys' server allows private
// addresses), so every attempt fails with "cannot connect".
const HOOK = 'http://127.0.0.1:9/hooks/onramp';

// The deliveries listed on a webhook's page.
const deliveries = (page) => page.getByRole('list', { name: 'Deliveries, the newest first' }).getByRole('listitem');

// `checkPage`, and no axe violation of any impact, light and dark, at both widths.
async function checkClean(page, name) {
  await checkPage(page, name);
  const found = [];
  try {
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const viewport of [DESKTOP, PHONE]) {
        await page.setViewportSize(viewport);
        for (const v of await axe(page)) found.push(`${v.id} (${v.impact}, ${scheme}, ${viewport.width}): ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`);
      }
    }
  } finally {
    await page.emulateMedia({ colorScheme: null });
    await page.setViewportSize(DESKTOP);
  }
  assert.deepEqual(found, [], `axe on ${page.url()}`);
}

test('an admin subscribes, sees deliveries, redelivers, turns off and deletes; a read-only admin only sees', async () => {
  const page = await newPage();
  await signInByLink(page, people().admin);
  const nav = page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
  await page.getByText('There is no webhook yet').waitFor();
  await checkClean(page, 'webhooks-empty');

  // A URL that is no http(s) URL: refused on its field, the rest kept.
  await page.getByLabel('URL').fill('ftp://nowhere.example');
  await page.getByLabel('Description').fill('HR system');
  await page.getByLabel('user.created').check();
  await page.getByRole('button', { name: 'Subscribe' }).click();
  await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
  assert.equal(await page.getByLabel('URL').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Description').inputValue(), 'HR system');
  assert.ok(await page.getByLabel('user.created').isChecked(), 'the chosen events are kept');
  await checkClean(page, 'webhooks-error');

  // The right URL: subscribed, its secret shown on the answer only.
  await page.getByLabel('URL').fill(HOOK);
  await page.getByLabel('user.deleted').check();
  await page.getByRole('button', { name: 'Subscribe' }).click();
  await page.getByText('shown only on this page, once').waitFor();
  const secret = await page.locator('#new-secret').textContent();
  assert.match(secret, /^whsec_/);
  assert.ok(!page.url().includes(secret), 'the secret is in no URL');
  await checkClean(page, 'webhooks-secret');
  await page.goto(url('/console/webhooks'));
  assert.equal(await page.locator('#new-secret').count(), 0, 'shown once');
  await page.getByRole('link', { name: HOOK }).waitFor();
  await checkClean(page, 'webhooks');

  // An event: its delivery is tried, fails, and shows as retrying with the error.
  await api().post('/api/v1/users', { email: 'walt.webhook@example.com', displayName: 'Walt Webhook' });
  await page.getByRole('link', { name: HOOK }).click();
  await page.getByRole('heading', { name: HOOK }).waitFor();
  const deadline = Date.now() + 20_000;
  while (!(await page.getByText('cannot connect').count())) {
    assert.ok(Date.now() < deadline, 'no failed attempt shown');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await page.reload();
  }
  await deliveries(page).first().getByText('Next attempt').waitFor();
  await checkClean(page, 'webhook');

  // Redeliver: queued again after what is before it.
  await page.getByRole('button', { name: 'Redeliver user.created' }).first().click();
  await page.getByText('The event is queued again').waitFor();
  assert.equal(await deliveries(page).count(), 2);
  await checkClean(page, 'webhook-redelivered');

  // Off, then deleted with its deliveries.
  await page.getByRole('button', { name: 'Turn off' }).click();
  await page.getByText('The webhook is off').waitFor();
  await checkClean(page, 'webhook-off');
  // Delete asks first, saying what goes with the webhook.
  await page.getByRole('link', { name: 'Delete the webhook' }).click();
  await page.getByRole('heading', { name: `Delete the webhook to ${HOOK}?` }).waitFor();
  await page.getByText('with its 2 deliveries on record').waitFor();
  await checkClean(page, 'webhook-delete');
  await page.getByRole('button', { name: 'Delete the webhook' }).click();
  await page.getByText('The webhook was deleted').waitFor();
  await page.getByText('There is no webhook yet').waitFor();

  // A read-only admin: the list and a webhook's page, without a form.
  await api().post('/api/v1/onramp/webhooks', { url: HOOK, eventTypes: ['user.created'], description: 'Seen only' });
  const reader = await newPage();
  await signInByLink(reader, people().readOnly);
  await reader.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Webhooks' }).click();
  await reader.getByRole('link', { name: HOOK }).waitFor();
  assert.equal(await reader.locator('form[method="post"]:not([action="/signout"])').count(), 0, 'no forms');
  await checkClean(reader, 'readonly-webhooks');
  await reader.getByRole('link', { name: HOOK }).click();
  await reader.getByRole('heading', { name: HOOK }).waitFor();
  assert.equal(await reader.locator('form[method="post"]:not([action="/signout"])').count(), 0, 'no forms');
  await checkClean(reader, 'readonly-webhook');
});
