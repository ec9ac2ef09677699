// A person's own account in the browser (issue #13): the invitation accepted signs them in; their account
// page (profile, password, sessions, two-step sign-in); signing out and in; changing the password; a
// forgotten password reset by an emailed link, which signs out every other session; two-step sign-in with
// an authenticator app and with a recovery code; and the pages of reset links that cannot be used and of a
// sign-in slowed by its limit. Every page: axe, screenshots at both widths, nothing scrolling sideways.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import {
  PASSWORD, api, checkPage, context, invitationLink, invite, linkIn, makeDirectory, newPage, newestMail, signIn,
  unique, url, useBrowser,
} from '../lib/onramp.mjs';
import { totp } from '../lib/totp.mjs';

const NEW_PASSWORD = 'lantern orchard violet nineteen';

useBrowser();

let directory;

// A directory without an onboarding flow, made once: its invitees are active as soon as they accept.
async function directoryId() {
  directory ??= await makeDirectory('Accounts');
  return directory;
}

// A new person, invited and accepted on the invitation page in `page`: signed in there.
async function joined(page, name) {
  const email = `${unique(name)}@example.com`;
  await invite(await directoryId(), email, name);
  await page.goto(await invitationLink(email));
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByLabel('Confirm your password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByRole('heading', { name: 'Your account is created' }).waitFor();
  return email;
}

// Signs in from the sign-in page.
async function signInAtSignin(page, email, password) {
  await page.goto(url('/signin'));
  await signIn(page, email, password);
}

async function signOut(page) {
  await page.goto(url('/account'));
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByText('You are signed out.').waitFor();
}

test('invitation → account → sign out → sign in → change password', async () => {
  const page = await newPage();
  const email = await joined(page, 'ava');
  await checkPage(page, 'account-created');
  await page.getByRole('link', { name: 'Go to your account' }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  await page.getByText(email).first().waitFor();
  await checkPage(page, 'account');

  // The profile: the fields the organisation lets its people edit.
  await api().post('/api/v1/settings/tenant', { userEditableFields: ['displayName', 'jobTitle', 'department'] });
  await page.reload();
  await page.getByLabel('Job title').fill('Staff Engineer');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByText('Your profile is saved.').waitFor();
  assert.equal(await page.getByLabel('Job title').inputValue(), 'Staff Engineer');

  await signOut(page);
  await checkPage(page, 'signed-out');
  // `/` leads to sign-in now.
  await page.goto(url('/'));
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signInAtSignin(page, email, 'not the password at all');
  await page.locator('.error-summary').getByText('Wrong email or password').waitFor();
  assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Email address').inputValue(), email, 'the email typed is kept');
  await checkPage(page, 'sign-in-refused');
  await signInAtSignin(page, email, PASSWORD);
  await page.getByRole('heading', { name: 'Your account' }).waitFor();

  // Change the password: a wrong current one first, then a weak new one, then right.
  const change = async (current, fresh) => {
    await page.getByLabel('Current password').fill(current);
    await page.getByLabel('New password', { exact: true }).fill(fresh);
    await page.getByLabel('Confirm your new password').fill(fresh);
    await page.getByRole('button', { name: 'Change password' }).click();
  };
  await change('not the password at all', NEW_PASSWORD);
  await page.locator('#currentPassword-error').getByText('is not your current password').waitFor();
  await checkPage(page, 'change-password-refused');
  await change(PASSWORD, 'password1234');
  await page.locator('#password-error').getByText('too easy to guess').waitFor();
  await change(PASSWORD, NEW_PASSWORD);
  await page.getByText('Your password is changed.').waitFor();
  await checkPage(page, 'password-changed');
  await signOut(page);
  await signInAtSignin(page, email, NEW_PASSWORD);
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
});

test('forgot password → email → reset → the old sessions are gone', async () => {
  const first = await newPage();
  const email = await joined(first, 'bo');
  const second = await newPage();
  await signInAtSignin(second, email, PASSWORD);
  await second.getByRole('heading', { name: 'Your account' }).waitFor();
  // Both sessions are listed.
  assert.equal(await second.locator('li.session').count(), 2);

  const page = await newPage();
  await page.goto(url('/signin'));
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
  await checkPage(page, 'forgot');
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Email me a link' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  await checkPage(page, 'forgot-sent');

  const mail = await newestMail(email, { count: 2 });
  assert.match(mail.subject, /Reset your password/);
  const link = linkIn(mail, '/reset/');
  // Opening the link uses nothing up.
  await page.goto(link);
  await page.goto(link);
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  assert.equal(await page.getByLabel(/^Password/).getAttribute('autocomplete'), 'new-password');
  await checkPage(page, 'reset');
  await page.getByLabel(/^Password/).fill(NEW_PASSWORD);
  await page.getByLabel('Confirm your password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Save my new password' }).click();
  await page.getByText('Your password is changed and you are signed out everywhere.').waitFor();
  await checkPage(page, 'reset-done');

  // Both earlier sessions are gone.
  for (const old of [first, second]) {
    await old.goto(url('/account'));
    await old.getByRole('heading', { name: 'Sign in' }).waitFor();
  }
  await signInAtSignin(page, email, NEW_PASSWORD);
  await page.getByRole('heading', { name: 'Your account' }).waitFor();

  // The link again: used.
  const used = await newPage();
  const response = await used.goto(link);
  assert.equal(response.status(), 409);
  await used.getByText('This reset link has been used already').waitFor();
  await checkPage(used, 'reset-used');
});

test('two-step sign-in with an app, then with a recovery code', async () => {
  const page = await newPage();
  const email = await joined(page, 'cy');
  await page.goto(url('/account'));
  await page.getByRole('button', { name: 'Set up two-step sign-in' }).click();
  await page.getByRole('heading', { name: 'Set up two-step sign-in' }).waitFor();
  assert.equal(await page.locator('svg.qr').count(), 1, 'a QR code');
  await checkPage(page, 'two-step-setup');
  const key = (await page.locator('.secret-key').innerText()).replace(/\s/g, '');
  await page.getByLabel('Code from your app').fill('000000' === totp(key) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.locator('#code-error').waitFor();
  await checkPage(page, 'two-step-setup-refused');
  await page.getByLabel('Code from your app').fill(totp(key));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  const codes = await page.locator('.recovery-codes code').allInnerTexts();
  assert.equal(codes.length, 10);
  await checkPage(page, 'two-step-codes');
  await page.getByRole('link', { name: 'I have saved them' }).click();
  await page.getByText('Two-step sign-in is on.').waitFor();

  // Signing in asks for a code; the next step's code is one the app shows within 30 s (the current one
  // may be the code used to turn it on, which is not accepted twice).
  await signOut(page);
  await signInAtSignin(page, email, PASSWORD);
  await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
  await checkPage(page, 'sign-in-code');
  await page.getByLabel('Code').fill('12345');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('#code-error').waitFor();
  await checkPage(page, 'sign-in-code-refused');
  await page.getByLabel('Code').fill(totp(key, 1));
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();

  // A recovery code instead.
  await signOut(page);
  await signInAtSignin(page, email, PASSWORD);
  await page.getByLabel('Code').fill(codes[0]);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  await page.getByText('9 unused recovery codes').waitFor();
});

test('reset links that cannot be used, and a sign-in slowed by its limit', async () => {
  const expired = await newPage();
  const response = await expired.goto(url(context().fixtures.expiredResetLink));
  assert.equal(response.status(), 410);
  await expired.getByText('This reset link has expired').waitFor();
  assert.equal(await expired.locator('form').count(), 0);
  assert.equal(await expired.getByRole('link', { name: 'Ask for a new link' }).getAttribute('href'), '/forgot');
  await checkPage(expired, 'reset-expired');

  const unknown = await newPage();
  const answer = await unknown.goto(url(`/reset/${randomBytes(32).toString('base64url')}`));
  assert.equal(answer.status(), 404);
  await unknown.getByText('This reset link is not valid').waitFor();
  await checkPage(unknown, 'reset-unknown');

  // Five wrong passwords for one account, then the account waits (a right password too).
  const page = await newPage();
  const email = await joined(page, 'di');
  const guesser = await newPage();
  for (let guess = 1; guess <= 5; guess++) {
    await signInAtSignin(guesser, email, `wrong password number ${guess}`);
    await guesser.locator('.error-summary').waitFor();
  }
  await signInAtSignin(guesser, email, PASSWORD);
  await guesser.locator('.error-summary').getByText(/Too many wrong passwords for this account; try again in \d+ seconds?/).waitFor();
  await checkPage(guesser, 'sign-in-limited');
});
