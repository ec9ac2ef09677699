// The approver's side: an invitee whose flow ends in an approval by a named approver does their own step,
// and their page says whom they wait for; the approver gets the email, opens the link (twice: opening uses
// nothing), approves, and sees what they decided; the invitee's page then says the account is active. A
// second invitee is rejected with a reason: the approver's page says so, the invitee's page says why it
// stopped, and the invitee is emailed. Unknown and used links have their own pages. Every page: axe,
// screenshots at both widths, nothing scrolling sideways.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  PASSWORD, acceptInvitation, api, checkPage, context, invitationLink, invite, linkIn, makeDirectory, newPage,
  newestMail, signIn, unique, url, useBrowser,
} from '../lib/onramp.mjs';

useBrowser();

// A flow of terms then an approval by `approverId`, and a directory that uses it.
async function setUp(approverId) {
  const flow = await api().post('/api/v1/onboarding-flows', {
    displayName: unique('Approved onboarding'),
    steps: [
      { key: 'terms', acceptTerms: { text: 'I will keep customer data confidential.' } },
      { key: 'approval', managerApproval: { approverUserId: approverId } },
    ],
  });
  return makeDirectory('Research', { flowId: flow.onboardingFlow.id });
}

// An invitee invited into `directoryId` who accepts through the API (the accept form has its own journey)
// and then opens their onboarding page in a browser, which leads to sign-in and back.
async function invitee(directoryId, name) {
  const email = `${unique(name.toLowerCase().replace(' ', '.'))}@example.com`;
  await invite(directoryId, email, name);
  const accepted = await acceptInvitation(await invitationLink(email), name);
  const page = await newPage();
  // The onboarding page leads to sign-in and back.
  await page.goto(url(`/onboarding/${accepted.onboardId}`));
  await signIn(page, email, PASSWORD);
  await page.getByRole('heading', { name: 'Your onboarding' }).waitFor();
  return { email, page, onboardId: accepted.onboardId };
}

async function approver() {
  const email = `${unique('grace.hopper')}@example.com`;
  const created = await api().post('/api/v1/users', { email, displayName: 'Grace Hopper' });
  return { email, id: created.userView.user.id };
}

test('the approver is emailed, approves through the link, and the invitee’s account is active', async () => {
  const grace = await approver();
  const directoryId = await setUp(grace.id);
  const ada = await invitee(directoryId, 'Ada Lovelace');

  await ada.page.getByLabel('I accept these terms').check();
  await ada.page.getByRole('button', { name: 'Accept' }).click();
  await ada.page.getByText('Waiting for approval by Grace Hopper.').waitFor();
  await ada.page.getByRole('heading', { name: 'Approval by Grace Hopper' }).waitFor();
  await checkPage(ada.page, 'onboarding-waiting-for-approval');

  const mail = await newestMail(grace.email);
  assert.match(mail.subject, /Approve Ada Lovelace joining Research/);
  const link = linkIn(mail, '/approve/');
  const page = await newPage();
  for (let opened = 0; opened < 2; opened++) {
    const response = await page.goto(link);
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['cache-control'], 'no-store');
  }
  await page.getByText(/Ada Lovelace is waiting for your approval to join Research/).waitFor();
  await page.getByText(ada.email).waitFor();
  assert.match(await page.locator('time').innerText(), /^in \d+ days, on \w+day \d+ \w+/);
  await checkPage(page, 'approval');

  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByText('You approved Ada Lovelace’s onboarding into Research.'.replace('’', "'")).waitFor();
  await page.getByText('Their account is now active.').waitFor();
  assert.equal(new URL(page.url()).pathname, new URL(link).pathname, 'post/redirect/get back to the link');
  await checkPage(page, 'approval-approved');

  await ada.page.reload();
  await ada.page.getByText(/Your onboarding is complete and your account at .+ is active\./).waitFor();
  await checkPage(ada.page, 'onboarding-approved-complete');
  const onboard = await api().get(`/onboards/${ada.onboardId}`);
  assert.equal(onboard.status, 'completed');
  assert.equal((await api().get(`/api/v1/users/${onboard.user_id}`)).userView.user.status, 'ENABLED');
});

test('the approver rejects with a reason; the invitee is told why', async () => {
  const grace = await approver();
  const directoryId = await setUp(grace.id);
  const bob = await invitee(directoryId, 'Bob Byrne');
  await bob.page.getByLabel('I accept these terms').check();
  await bob.page.getByRole('button', { name: 'Accept' }).click();
  await bob.page.getByText('Waiting for approval by Grace Hopper.').waitFor();

  const link = linkIn(await newestMail(grace.email), '/approve/');
  const page = await newPage();
  await page.goto(link);
  await page.getByLabel('Reason (optional)').fill('No headcount this quarter');
  await page.getByRole('button', { name: 'Reject' }).click();
  await page.getByText("You rejected Bob Byrne's onboarding into Research.").waitFor();
  await checkPage(page, 'approval-rejected');

  // The link decides once: another decision is refused, and the page says what was decided.
  const again = await page.request.post(link, { form: { decision: 'approve' }, headers: { origin: context().baseUrl } });
  assert.equal(again.status(), 409);

  // A rejected onboard leaves the account off, which ends its sessions: the page leads to sign-in, where
  // the right password is told the account is off; the email says why.
  await bob.page.reload();
  await bob.page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(bob.page, bob.email, PASSWORD);
  await bob.page.getByText(/your account is turned off/i).first().waitFor();
  await checkPage(bob.page, 'onboarding-rejected-sign-in');
  const told = await newestMail(bob.email, { count: 2 });
  assert.match(told.subject, /Your onboarding into Research has stopped/);
  assert.match(told.text, /No headcount this quarter/);
  assert.equal((await api().get(`/onboards/${bob.onboardId}`)).status, 'failed');
});

test('an approval link that does not exist says so', async () => {
  const page = await newPage();
  const response = await page.goto(url(`/approve/${'A'.repeat(43)}`));
  assert.equal(response.status(), 404);
  await page.getByText(/This approval link is not valid/).waitFor();
  await checkPage(page, 'approval-unknown');
});
