// The console's pages in the browser (issue #14): a super-admin walks the happy path of each page
// (Directories, Apps and owners, Invite one person and many from a CSV file, Settings with a logo upload,
// Access with a secret shown once), and a read-only admin sees them without write controls. Every page:
// axe, screenshots at 1280 and 390 px, nothing scrolling sideways.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkPage, context, newPage, png, signInByLink, url, useBrowser } from '../lib/onramp.mjs';

useBrowser();

const people = () => context().fixtures.consolePages;

test('a super-admin walks every page; a read-only admin sees them without controls', async () => {
  const page = await newPage();
  await signInByLink(page, people().superAdmin);
  const nav = page.getByRole('navigation', { name: 'Console' });

  // Apps and owners: an app, then its owner by email.
  await nav.getByRole('link', { name: 'Apps' }).click();
  await page.getByRole('heading', { name: 'Apps and owners' }).waitFor();
  await page.getByLabel('Name').fill('Field staff');
  await page.getByLabel('Description').fill('People who work on site');
  await page.getByRole('button', { name: 'Create the app' }).click();
  await page.getByText('The app was created.').waitFor();
  await page.getByLabel('Email').fill('not-a-user@example.com');
  await page.getByRole('button', { name: 'Add the owner' }).click();
  await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
  await checkPage(page, 'app-owner-error');
  await page.getByLabel('Email').fill(people().superAdmin.email);
  await page.getByRole('button', { name: 'Add the owner' }).click();
  await page.getByText('The owner was added.').waitFor();
  await page.getByRole('cell', { name: people().superAdmin.email }).waitFor();
  await checkPage(page, 'app');

  // The app's edit form: a cost that is no number named on its field, then saved.
  await page.getByRole('link', { name: 'Edit', exact: true }).click();
  await page.getByRole('heading', { name: 'Edit Field staff' }).waitFor();
  await page.getByLabel('Monthly cost in US dollars').fill('lots');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
  await checkPage(page, 'app-edit-error');
  await page.getByLabel('Monthly cost in US dollars').fill('40');
  await page.getByLabel('Instructions').fill('Ask the site lead.');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('The changes are saved.').waitFor();

  // Another app, deleted after its confirmation.
  await nav.getByRole('link', { name: 'Apps' }).click();
  await page.getByLabel('Name').fill('Pop-up stand');
  await page.getByRole('button', { name: 'Create the app' }).click();
  await page.getByText('The app was created.').waitFor();
  await page.getByRole('link', { name: 'Delete', exact: true }).click();
  await page.getByRole('heading', { name: 'Delete Pop-up stand?' }).waitFor();
  await checkPage(page, 'app-delete');
  await page.getByRole('button', { name: 'Delete Pop-up stand' }).click();
  await page.getByText('The app was deleted').waitFor();

  // Directories: the app becomes a directory.
  await nav.getByRole('link', { name: 'Directories' }).click();
  await page.getByRole('heading', { name: 'Directories' }).waitFor();
  await page.getByLabel('App').selectOption({ label: 'Field staff' });
  await page.getByLabel('Name').fill('Field staff');
  await page.getByLabel(/Invitations stay valid for/).fill('72');
  await page.getByLabel("The tenant's default directory").check();
  await page.getByLabel('People may register themselves').check();
  await page.getByLabel('Allowed email domains').fill('example.com');
  await checkPage(page, 'directories-form');
  await page.getByRole('button', { name: 'Create the directory' }).click();
  await page.getByText('The directory Field staff was created.').waitFor();
  await checkPage(page, 'directories');
  await page.getByRole('link', { name: 'Field staff' }).click();
  await page.getByRole('button', { name: 'Save' }).waitFor();
  await checkPage(page, 'directory');

  // Invite: one person, then a CSV file with a refused row.
  await nav.getByRole('link', { name: 'Invite' }).click();
  await page.getByRole('heading', { name: 'Invite', exact: true }).waitFor();
  await page.getByLabel('Email').fill('nora.new@example.com');
  await page.getByLabel('Name', { exact: true }).fill('Nora New');
  await page.getByLabel('Basic User').check();
  await page.getByRole('button', { name: 'Send the invitation' }).click();
  await page.getByText('Nora New was invited').waitFor();
  await checkPage(page, 'invite');
  const csv = 'email,name,roles\nomar.one@example.com,Omar One,basic-user\nbroken-address,Nobody\n';
  await page.locator('#file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Invite everyone in the file' }).click();
  await page.getByText('1 of 2 invited.').waitFor();
  await checkPage(page, 'invite-csv');

  // Settings: branding with a logo, then the onboarding settings.
  await nav.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Settings' }).waitFor();
  await page.getByLabel('Accent colour').fill('#0B6E4F');
  await page.getByLabel('Job title').check();
  await page.locator('#logo').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: png([11, 110, 79]) });
  await page.getByRole('button', { name: 'Save branding and sign-in' }).click();
  await page.getByText('The branding and sign-in settings were saved.').waitFor();
  await page.getByLabel('Industry').fill('Construction');
  await page.getByRole('button', { name: 'Save onboarding settings' }).click();
  await page.getByText('The onboarding settings were saved.').waitFor();
  await checkPage(page, 'settings');

  // Access: a credential, its secret shown once on the answer.
  await nav.getByRole('link', { name: 'Access' }).click();
  await page.getByRole('heading', { name: 'Access' }).waitFor();
  await page.locator('#credentialName').fill('field-sync');
  await page.locator('#credential-role-0').check();
  await page.getByRole('button', { name: 'Make the credential' }).click();
  await page.getByText('shown only on this page, once').waitFor();
  const secret = await page.locator('#new-secret').textContent();
  assert.ok(secret.length > 20, secret);
  assert.ok(!page.url().includes(secret), 'the secret is in no URL');
  await checkPage(page, 'access-secret');
  await page.goto(url('/console/access'));
  assert.equal(await page.locator('#new-secret').count(), 0, 'shown once');
  await checkPage(page, 'access');
  // An API key for another user, with a role they hold.
  await page.locator('#keyName').fill('Reader export');
  await page.locator('#keyOwner').fill(people().readOnly.email);
  await page.getByRole('group', { name: 'Roles' }).last().getByLabel('Read-Only Administrator').check();
  await page.getByRole('button', { name: 'Make the key' }).click();
  await page.getByText('shown only on this page, once').waitFor();
  await page.getByRole('rowheader', { name: /^Reader export for / }).waitFor();
  await checkPage(page, 'access-key-for-user');

  // Directories: one deleted after its confirmation (its app stays).
  await nav.getByRole('link', { name: 'Directories' }).click();
  await page.getByRole('link', { name: 'Field staff' }).click();
  await page.getByRole('link', { name: 'Delete the directory' }).click();
  await page.getByRole('heading', { name: 'Delete Field staff?' }).waitFor();
  await checkPage(page, 'directory-delete');
  await page.getByRole('button', { name: 'Delete Field staff' }).click();
  await page.getByText('The directory was deleted').waitFor();

  // A read-only admin: the same pages, no forms.
  const reader = await newPage();
  await signInByLink(reader, people().readOnly);
  for (const [path, name] of [
    ['/console/directories', 'readonly-directories'],
    ['/console/apps', 'readonly-apps'],
    ['/console/settings', 'readonly-settings'],
    ['/console/invite', 'readonly-invite'],
  ]) {
    await reader.goto(url(path));
    assert.equal(await reader.locator('form[method="post"]:not([action="/signout"])').count(), 0, `${path} has no forms`);
    await checkPage(reader, name);
  }
  assert.equal(await reader.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Access' }).count(), 0);
});
