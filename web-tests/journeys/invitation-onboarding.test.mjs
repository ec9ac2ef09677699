// A new hire's whole way in, as they would take it: the invitation email, the link (opening it uses
// nothing up), the accept form (a refused submit first, then name and password), their onboarding page
// (terms, then profile), the last step completing the onboard by itself, and the done state with its link
// onward; then the same onboarding page from another browser, which leads to sign-in and back. Every page:
// axe, screenshots at both
// widths, nothing scrolling sideways.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  PASSWORD, api, checkPage, invitationLink, invite as inviteInto, makeDirectory, newPage, newestMail, signIn, unique,
  url, useBrowser,
} from '../lib/onramp.mjs';

useBrowser();

// What an admin sets up first: a flow with terms and a profile step, a directory that uses it, and an
// invitation. The invitee's name has a letter outside ASCII, so the email is quoted-printable.
async function invite(email) {
  const flow = await api().post('/api/v1/onboarding-flows', {
    displayName: unique('Engineering onboarding'),
    steps: [
      { key: 'terms', acceptTerms: { text: 'I will keep customer data confidential.\nI will lock my screen.' } },
      { key: 'profile', completeProfile: { requiredFields: ['jobTitle', 'department'] } },
    ],
  });
  const directoryId = await makeDirectory('Engineering', { flowId: flow.onboardingFlow.id });
  return { directoryId, invitation: await inviteInto(directoryId, email, 'Zoë') };
}

async function invitationStatus(directoryId, id) {
  const { invitation } = await api().get(`/api/v1/local-directory-configs/${directoryId}/invitations/${id}`);
  return invitation.status;
}

test('invitation email → accept form → onboarding → done', async () => {
  // A long address without a hyphen to break at, as people have: it must not push a page sideways on a phone.
  const email = `${unique('zoe.konstantinopoulou').replace('-', '.')}@engineering.example.com`;
  const { directoryId, invitation } = await invite(email);

  const mail = await newestMail(email);
  assert.match(mail.subject, /^Administrator invited you to join Engineering at /);
  assert.ok(mail.html?.includes('/invite/'), 'an HTML part with the link beside the text');
  assert.match(mail.text, /Hello Zoë,/, 'the quoted-printable body decodes');
  const link = await invitationLink(email);
  assert.ok(link.startsWith(url('/invite/')), link);

  const page = await newPage();
  // Opening the link, twice, shows the form and uses nothing up.
  for (let opened = 0; opened < 2; opened++) {
    const response = await page.goto(link);
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['cache-control'], 'no-store');
  }
  await page.getByText(email).waitFor();
  assert.equal(await page.getByLabel('Name').inputValue(), 'Zoë', 'the invitation’s name is offered');
  // Who invites you to what, and when the link expires, in words with the exact time beside them.
  await page.getByText(/invited you to join Engineering at /).waitFor();
  const expires = page.locator('time');
  assert.match(await expires.innerText(), /^in \d+ days, on \w+day \d+ \w+/);
  assert.match(await expires.getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
  assert.match(await expires.getAttribute('title'), /UTC$/);
  // The password's rule is said before typing; both fields are for a new password.
  await page.getByText('12 characters or more').waitFor();
  assert.equal(await page.getByLabel(/^Password/).getAttribute('autocomplete'), 'new-password');
  assert.equal(await page.getByLabel('Confirm your password').getAttribute('autocomplete'), 'new-password');
  assert.equal(await invitationStatus(directoryId, invitation.id), 'LOCAL_INVITATION_STATUS_PENDING');
  await checkPage(page, 'accept-form');

  // A password the server refuses (the browser's own check is off, as in a browser without it): the form
  // comes back with the reason and the name kept.
  await page.getByLabel('Name').fill('Zoë Zimmermann');
  await page.getByLabel(/^Password/).fill('too short');
  await page.getByLabel('Confirm your password').fill('too short');
  await page.locator('form').evaluate((form) => {
    form.noValidate = true;
  });
  const refused = page.waitForResponse((r) => r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Create my account' }).click();
  assert.equal((await refused).status(), 400);
  // The summary at the top links to the field; the field carries its error and says so to a screen reader.
  const summary = page.locator('.error-summary');
  assert.match(await summary.innerText(), /There is a problem[\s\S]*Password: must be 12/);
  assert.equal(await summary.getByRole('link').getAttribute('href'), '#password');
  const password = page.getByLabel(/^Password/);
  assert.equal(await password.getAttribute('aria-invalid'), 'true');
  assert.match(await password.getAttribute('aria-describedby'), /\bpassword-error\b/);
  assert.match(await page.locator('#password-error').innerText(), /must be 12/);
  assert.equal(await page.getByLabel('Name').inputValue(), 'Zoë Zimmermann');
  assert.equal(await password.inputValue(), '', 'a password is never sent back');
  await checkPage(page, 'accept-form-refused');

  // Two passwords that differ: the confirmation's error.
  await password.fill(PASSWORD);
  await page.getByLabel('Confirm your password').fill(`${PASSWORD}!`);
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.locator('#passwordConfirm-error').getByText('not the same').waitFor();
  assert.equal(await page.getByLabel('Confirm your password').getAttribute('aria-invalid'), 'true');

  // The real submit, with the show/hide toggle (the page's one script) tried on the way.
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByLabel('Confirm your password').fill(PASSWORD);
  const toggle = page.getByRole('button', { name: 'Show password' });
  await toggle.click();
  assert.equal(await page.getByLabel(/^Password/).getAttribute('type'), 'text');
  assert.equal(await page.getByLabel('Confirm your password').getAttribute('type'), 'text');
  assert.equal(await page.getByRole('button', { name: 'Hide password' }).getAttribute('aria-pressed'), 'true');
  await page.getByRole('button', { name: 'Hide password' }).click();
  assert.equal(await page.getByLabel(/^Password/).getAttribute('type'), 'password');
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByRole('heading', { name: 'Your account is created' }).waitFor();
  assert.equal(await invitationStatus(directoryId, invitation.id), 'LOCAL_INVITATION_STATUS_ACCEPTED');
  await checkPage(page, 'account-created');

  // The onboarding page: both steps are the invitee's.
  await page.getByRole('link', { name: 'continue to your onboarding' }).click();
  await page.getByRole('heading', { name: 'Your onboarding' }).waitFor();
  const onboardingUrl = page.url();
  const onboardId = new URL(onboardingUrl).pathname.split('/').pop();
  await page.getByText('I will lock my screen.').waitFor();
  await checkPage(page, 'onboarding-steps');

  // The terms submitted unticked (as a browser without its own check would): the box's error.
  await page.locator('form').first().evaluate((form) => {
    form.noValidate = true;
  });
  await page.getByRole('button', { name: 'Accept' }).click();
  await page.locator('.error-summary').getByRole('link', { name: /Tick “I accept these terms”/ }).waitFor();
  assert.equal(await page.getByLabel('I accept these terms').getAttribute('aria-invalid'), 'true');
  await checkPage(page, 'onboarding-terms-refused');

  const step = (title) => page.locator('li.step').filter({ has: page.getByRole('heading', { name: title }) });
  await page.getByLabel('I accept these terms').check();
  await page.getByRole('button', { name: 'Accept' }).click();
  await step('Accept the terms').getByText('Done', { exact: true }).waitFor();
  const before = await api().get(`/onboards/${onboardId}`);
  assert.equal(before.status, 'in_progress');
  assert.equal((await api().get(`/api/v1/users/${before.user_id}`)).userView.user.status, 'DISABLED');
  await page.getByLabel('Job title').fill('Staff Engineer');
  await page.getByLabel('Department').fill('Platform');
  await page.getByRole('button', { name: 'Save' }).click();
  await step('Complete your profile').getByText('Done', { exact: true }).waitFor();

  // The profile was the last step: the onboard completed by itself, and the page says so, with the way on.
  await page.getByText(/Your onboarding is complete and your account at .+ is active\./).waitFor();
  const onward = page.getByRole('link', { name: 'Continue to your account' });
  assert.equal(await onward.getAttribute('href'), '/');
  await checkPage(page, 'onboarding-complete');
  const onboard = await api().get(`/onboards/${onboardId}`);
  assert.equal(onboard.status, 'completed');
  const user = (await api().get(`/api/v1/users/${onboard.user_id}`)).userView.user;
  assert.equal(user.status, 'ENABLED');
  assert.equal(user.displayName, 'Zoë Zimmermann');
  assert.equal(user.jobTitle, 'Staff Engineer');
  assert.equal(user.department, 'Platform');

  // The same page in another browser (no session): to sign-in and back, a wrong password first.
  const elsewhere = await newPage();
  await elsewhere.goto(onboardingUrl);
  await elsewhere.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(new URL(elsewhere.url()).pathname, '/signin');
  await signIn(elsewhere, email, 'not the password at all');
  await elsewhere.locator('.error-summary').getByText('Wrong email or password').waitFor();
  assert.equal(await elsewhere.getByLabel('Email address').inputValue(), email, 'the email typed is kept');
  assert.equal(await elsewhere.getByLabel('Password').getAttribute('autocomplete'), 'current-password');
  await checkPage(elsewhere, 'onboarding-sign-in-refused');
  await elsewhere.getByLabel('Password').fill(PASSWORD);
  await elsewhere.getByRole('button', { name: 'Sign in' }).click();
  await elsewhere.getByText(/Your onboarding is complete and your account at .+ is active\./).waitFor();
  assert.equal(elsewhere.url(), onboardingUrl, 'back where they were');
});

test('an onboarding page that does not exist says so', async () => {
  const page = await newPage();
  const response = await page.goto(url(`/onboarding/000000000000000000000000`));
  assert.equal(response.status(), 404);
  await checkPage(page, 'onboarding-unknown');
});
