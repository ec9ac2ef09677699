// The admin console in the browser (issue #14): the first start's one-time link sets the super-admin's
// password and leads through sign-in to the console; a read-only admin gets in and sees no write controls;
// a user without an admin role gets the 403 page; the tenant's "console requires a second factor" keeps an
// admin without TOTP out until they set it up, after which sign-in asks for the code on the way in; an
// expired session leads back to sign-in; a form posted from another site is refused. The Users pages:
// search as you type (a typo forgiven), a user's page, disable and enable, edit, delete after a
// confirmation; a read-only admin sees no controls and a POST of theirs is 403. Every page: axe,
// screenshots at both widths, nothing scrolling sideways.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, checkPage, context, newPage, signIn, signInByLink, unique, url, useBrowser } from '../lib/onramp.mjs';
import { totp } from '../lib/totp.mjs';

useBrowser();

const people = () => context().fixtures.console;

test('first-start link → password → sign-in → the overview', async () => {
  const page = await newPage();
  // Not signed in: the console sends to sign-in and back.
  await page.goto(url('/console'));
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.match(page.url(), /\/signin\?next=%2Fconsole$/);

  await page.goto(url(people().superAdmin.link));
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await checkPage(page, 'set-password');
  await signInByLink(page, people().superAdmin);
  assert.equal(new URL(page.url()).pathname, '/console');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.equal(await nav.getByRole('link', { name: 'Overview' }).getAttribute('aria-current'), 'page');
  await page.getByText(/\d+ users? in the directory/).waitFor();
  await checkPage(page, 'overview');

  // Signing out from the console's header.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You are signed out.').waitFor();
  await page.goto(url('/console'));
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
});

test('a read-only admin sees the console and no write controls', async () => {
  const page = await newPage();
  await signInByLink(page, people().readOnly);
  await page.getByText('Read-Only Administrator', { exact: false }).first().waitFor();
  // The one form that posts is signing out (the overview has a GET form, its waiting threshold).
  assert.deepEqual(await page.locator('main form[method="post"]').count(), 0);
  await checkPage(page, 'overview-read-only');
});

test('a user without an admin role is refused', async () => {
  const page = await newPage();
  await page.goto(url('/signin?next=%2Fconsole'));
  await signIn(page, people().basic.email, people().basic.password);
  await page.getByRole('heading', { name: 'The console is for administrators' }).waitFor();
  assert.equal(await page.getByRole('navigation', { name: 'Console' }).count(), 0);
  await checkPage(page, 'not-an-admin');
});

test('the tenant requires a second factor: set it up, then sign in with the code', async () => {
  const page = await newPage();
  await signInByLink(page, people().twoStep);
  await api().post('/api/v1/settings/tenant', { consoleRequiresSecondFactor: true });
  try {
    await page.goto(url('/console'));
    await page.getByRole('heading', { name: 'Set up two-step sign-in first' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Console' }).count(), 0, 'nothing of the console');
    await checkPage(page, 'needs-two-step');
    await page.getByRole('button', { name: 'Set up two-step sign-in' }).click();
    await page.getByRole('heading', { name: 'Set up two-step sign-in' }).waitFor();
    const key = (await page.locator('.secret-key').innerText()).replace(/\s/g, '');
    await page.getByLabel('Code from your app').fill(totp(key));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    await page.goto(url('/console'));
    await page.getByRole('heading', { name: 'Overview' }).waitFor();

    // Signing in again: the password, then the code, then the console.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto(url('/console'));
    await signIn(page, people().twoStep.email);
    await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
    await page.getByLabel('Code').fill(totp(key, 1));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/console');
  } finally {
    await api().post('/api/v1/settings/tenant', { consoleRequiresSecondFactor: false });
  }
});

test('an expired session leads to sign-in and back', async () => {
  const page = await newPage();
  const { email, password, cookie } = people().expired;
  await page.context().addCookies([{ name: 'onramp_session', value: cookie, url: context().baseUrl }]);
  await page.goto(url('/console'));
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.match(page.url(), /\/signin\?next=%2Fconsole$/);
  await signIn(page, email, password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
});

test('a form posted from another site is refused', async () => {
  const page = await newPage();
  const { email, password } = people().expired;
  await page.goto(url('/signin?next=%2Fconsole'));
  await signIn(page, email, password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  // A page of another origin (served by the browser itself, nothing leaves the machine) that posts a form
  // to the console's sign-out.
  await page.route('http://elsewhere.example/', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>Elsewhere</title><form method="post" action="${url('/signout')}">
        <input type="hidden" name="csrf" value="guess"><button>Go</button></form>`,
    }),
  );
  await page.goto('http://elsewhere.example/');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === url('/signout')),
    page.getByRole('button', { name: 'Go' }).click(),
  ]);
  assert.equal(response.status(), 403);
  await page.goto(url('/console'));
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
});

test('users: search as you type, a user page, disable, edit, delete; the read-only admin refused', async () => {
  const page = await newPage();
  const surname = unique('Hopper').replace(/-/g, '');
  const email = `${surname.toLowerCase()}@example.com`;
  const made = await api().post('/api/v1/users', {
    email,
    displayName: `Grace ${surname}`,
    department: 'Research',
    jobTitle: 'Rear Admiral',
  });
  const id = made.userView.user.id;
  await page.goto(url('/console/users'));
  await signIn(page, people().superAdmin.email);
  await page.getByRole('heading', { name: 'Users' }).waitFor();
  await checkPage(page, 'users');

  // Typing searches without the button (onramp's script); a typo in the surname is forgiven.
  // One letter left out: "Hoper…" for "Hopper…".
  const typo = `${surname.slice(0, 3)}${surname.slice(4)}`;
  await page.getByLabel('Search').pressSequentially(typo, { delay: 30 });
  // The script puts the results in place and the address follows the search typed.
  await page.waitForURL((address) => address.searchParams.get('q') === typo);
  const found = page.locator('#user-results').getByRole('link', { name: `Grace ${surname}` });
  await found.waitFor();
  assert.equal(await page.locator('#user-results li.item').count(), 1, 'only Grace matches');
  await checkPage(page, 'users-search');
  // Without the script, the form's button gives the same page.
  await page.getByLabel('Department').fill('Research');
  await page.getByRole('button', { name: 'Search' }).click();
  await found.waitFor();

  await found.click();
  await page.getByRole('heading', { name: `Grace ${surname}` }).waitFor();
  await page.getByText('Audit trail').waitFor();
  await checkPage(page, 'user');
  await page.getByRole('button', { name: 'Disable' }).click();
  await page.getByText('The user is disabled').waitFor();
  await page.getByRole('button', { name: 'Enable' }).click();
  await page.getByText('The user is enabled.').waitFor();

  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByRole('heading', { name: `Edit Grace ${surname}` }).waitFor();
  // (An empty name is refused by the browser's own check here, and by the server: see console.rs.)
  await checkPage(page, 'user-edit');
  await page.getByLabel('Name').fill(`Grace B. ${surname}`);
  await page.getByLabel('Job title').fill('Commodore');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('The changes are saved.').waitFor();
  await page.getByText('Commodore').waitFor();

  // Emails, roles, managers and delegate on the same form: a wrong delegate named on its field, then saved.
  const other = `${surname.toLowerCase()}.navy@example.com`;
  await page.getByRole('link', { name: 'Edit', exact: true }).click();
  await page.getByLabel('Other emails', { exact: true }).fill(other);
  await page.getByLabel('Directory Administrator').check();
  await page.getByLabel('Managers', { exact: true }).fill(people().superAdmin.email);
  await page.getByLabel('Delegate', { exact: true }).fill('nobody.at.all@example.com');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
  assert.equal(await page.getByLabel('Delegate', { exact: true }).getAttribute('aria-invalid'), 'true');
  await checkPage(page, 'user-edit-error');
  await page.getByLabel('Delegate', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('The changes are saved.').waitFor();
  const edited = (await api().get(`/api/v1/users/${id}`)).userView.user;
  assert.deepEqual(edited.emails, [email, other]);
  assert.ok(edited.roleIds.includes('000000000000000000000004'), 'directory-admin given');
  assert.equal(edited.managerIds.length, 1);

  // The read-only admin: the page without controls, and a POST anyway refused by the core.
  const reader = await newPage();
  await reader.goto(url(`/console/users/${id}`));
  await signIn(reader, people().readOnly.email);
  await reader.getByRole('heading', { name: `Grace B. ${surname}` }).waitFor();
  assert.equal(await reader.getByRole('button', { name: 'Disable' }).count(), 0, 'no write controls');
  await checkPage(reader, 'user-read-only');
  const csrf = await reader.locator('input[name="csrf"]').first().inputValue();
  const refused = await reader.request.post(url(`/console/users/${id}/status`), {
    form: { csrf, status: 'DISABLED' },
    maxRedirects: 0,
  });
  assert.equal(refused.status(), 403);
  assert.match(await refused.text(), /requires user:write/);

  await page.getByRole('link', { name: 'Delete' }).click();
  await page.getByRole('heading', { name: `Delete Grace B. ${surname}?` }).waitFor();
  await checkPage(page, 'user-delete');
  await page.getByRole('button', { name: `Delete Grace B. ${surname}` }).click();
  await page.getByText('The user is deleted.').waitFor();
  const user = await api().get(`/api/v1/users/${id}`);
  assert.equal(user.userView.user.status, 'DELETED');
});
