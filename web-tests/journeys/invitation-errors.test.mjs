// The links that open nothing, each with its own page: expired (an invitation the Rust side let expire
// behind the server's back, `fixtures.expiredInvitation`) and revoked through the API, both saying when and
// whom to ask; used (accepted through the API); unknown; and the page of an address that tried too many
// unknown links. Each page: the right status, words that say what to do next, axe, screenshots at both
// widths, nothing scrolling sideways.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import {
  PASSWORD, acceptInvitation, api, checkPage, context, invitationLink, invite, makeDirectory, newPage, signIn,
  unique, url, useBrowser,
} from '../lib/onramp.mjs';

useBrowser();

let directory;

// A directory of this journey's own, made once.
async function directoryId() {
  directory ??= await makeDirectory('Error pages');
  return directory;
}

// Invites a new address and returns the invitation and its link.
async function invited(name) {
  const email = `${unique(name)}@example.com`;
  const invitation = await invite(await directoryId(), email, name);
  return { invitation, link: await invitationLink(email) };
}

// Opens `link` in a fresh page, checks the status and the words, and runs the page checks.
async function refusal(link, status, words, name) {
  const page = await newPage();
  const response = await page.goto(link);
  assert.equal(response.status(), status, `${link}: status`);
  assert.equal(response.headers()['cache-control'], 'no-store');
  await page.getByText(words).waitFor();
  assert.equal(await page.locator('form').count(), 0, 'a dead link offers no form');
  await checkPage(page, name);
}

test('an expired invitation', async () => {
  const { email } = context().fixtures.expiredInvitation;
  await refusal(await invitationLink(email), 410, /This invitation expired on/, 'expired');
  const page = await newPage();
  await page.goto(await invitationLink(email));
  await page.getByText(/Ask .+ \(.+@.+\) to send you a new one\./).waitFor();
});

test('a revoked invitation', async () => {
  const { invitation, link } = await invited('rex');
  await api().post(`/api/v1/local-directory-configs/${await directoryId()}/invitations/${invitation.id}/revoke`);
  await refusal(link, 410, /This invitation was withdrawn on/, 'revoked');
  const page = await newPage();
  await page.goto(link);
  await page.getByText(/invited you: ask them whether you should still join\./).waitFor();
  // The date is a <time> holding the exact instant of the revocation.
  const when = await page.locator('time').getAttribute('datetime');
  assert.ok(!Number.isNaN(Date.parse(when)), `a machine-readable date: ${when}`);
});

test('a used invitation', async () => {
  const { invitation, link } = await invited('uma');
  await acceptInvitation(link, 'Uma');
  await refusal(link, 409, /has already been accepted, so your account exists/, 'used');
  // The page leads to sign-in, and from there on to the account.
  const page = await newPage();
  await page.goto(link);
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(page, invitation.email, PASSWORD);
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
});

test('an unknown link', async () => {
  const token = randomBytes(32).toString('base64url');
  await refusal(url(`/invite/${token}`), 404, /not valid: check that it was copied whole/, 'unknown');
});

// Guessing links is limited per address: past the burst of unknown links, the page says to wait (429 with
// Retry-After), and a real link from that address is refused too until then. The journeys' server trusts
// the loopback proxy, so this test's guesses come from an address of their own (X-Forwarded-For) and do not
// slow the other journeys.
test('too many unknown links from one address', async () => {
  const page = await newPage();
  await page.setExtraHTTPHeaders({ 'x-forwarded-for': '203.0.113.77' });
  let response;
  for (let guess = 0; guess < 30; guess += 1) {
    response = await page.goto(url(`/invite/${randomBytes(32).toString('base64url')}`));
    if (response.status() !== 404) break;
  }
  assert.equal(response.status(), 429, 'the guesses are stopped');
  assert.match(response.headers()['retry-after'] ?? '', /^\d+$/);
  await page.getByRole('heading', { name: 'Too many attempts' }).waitFor();
  await page.getByText(/Too many invalid invitation links from this address; try again in \d+ seconds?\./).waitFor();
  assert.equal(await page.locator('form').count(), 0);
  await checkPage(page, 'too-many-links');
});
