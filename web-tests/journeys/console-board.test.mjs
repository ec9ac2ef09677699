// The console's Overview, Invitations, Onboards and Audit log in the browser (issue #14): an admin sees
// what needs someone, filters the invitations and resends one, finds an onboard on the board, opens it and
// approves its approval step (they are its approver), and reads the audit log; a read-only admin sees the
// same pages without a write control. Every page: axe, screenshots at both widths, nothing scrolling
// sideways.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import {
  acceptInvitation, api, checkPage, context, invitationLink, invite, makeDirectory, newestMail, newPage,
  signInByLink, unique, url, useBrowser,
} from '../lib/onramp.mjs';

useBrowser();

const people = () => context().fixtures.console;

let directoryId;
let onboardId;
let pendingEmail;

// A flow whose approval names the board's admin, a directory using it, one invitee who accepted (their
// onboard waits on the admin) and one still pending.
before(async () => {
  const flow = await api().post('/api/v1/onboarding-flows', {
    displayName: unique('Board flow'),
    steps: [{ key: 'approval', managerApproval: { approverUserId: people().board.id } }],
  });
  directoryId = await makeDirectory('Board directory', { flowId: flow.onboardingFlow.id });
  const accepted = `${unique('ola')}@example.com`;
  await invite(directoryId, accepted, 'Ola Nordmann');
  onboardId = (await acceptInvitation(await invitationLink(accepted), 'Ola Nordmann')).onboardId;
  pendingEmail = `${unique('pia')}@example.com`;
  await invite(directoryId, pendingEmail, 'Pia Pending');
  await newestMail(pendingEmail);
});

test('an admin walks the overview, invitations, onboards and audit log', async () => {
  const page = await newPage();
  await signInByLink(page, people().board);
  await page.goto(url('/console?days=0'));
  await page.getByRole('heading', { name: /Onboards waiting more than 0 days/ }).waitFor();
  await page.getByRole('link', { name: /Ola Nordmann/ }).first().waitFor();
  await checkPage(page, 'console-overview');

  const nav = page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Invitations' }).click();
  await page.getByRole('heading', { name: 'Invitations' }).waitFor();
  await page.getByLabel('Directory').selectOption(directoryId);
  await page.getByLabel('Status').selectOption('pending');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText(`Pia Pending · ${pendingEmail}`).waitFor();
  await checkPage(page, 'console-invitations');
  await page.getByRole('button', { name: `Resend the invitation of ${pendingEmail}` }).click();
  await page.getByText('The invitation was sent again').waitFor();
  await newestMail(pendingEmail, { count: 2 });

  await nav.getByRole('link', { name: 'Onboards' }).click();
  await page.getByRole('heading', { name: 'Onboards', exact: true }).waitFor();
  await checkPage(page, 'console-onboards');
  await page.goto(url(`/console/onboards/${onboardId}`));
  await page.getByRole('heading', { name: /Onboard of Ola Nordmann/ }).waitFor();
  await checkPage(page, 'console-onboard');
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByText('Approved.').waitFor();
  assert.equal((await api().get(`/onboards/${onboardId}`)).status, 'completed');
  await checkPage(page, 'console-onboard-approved');

  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await page.getByLabel('Object type').fill('onboard');
  await page.getByLabel('Object id').fill(onboardId);
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.locator('main li.item').first().waitFor();
  await checkPage(page, 'console-audit');
  // A bad filter is its field's error.
  await page.getByLabel(/^From/).fill('yesterday');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
  await checkPage(page, 'console-audit-error');
});

test('a read-only admin sees the pages without write controls', async () => {
  const page = await newPage();
  await signInByLink(page, people().boardReadOnly);
  await page.goto(url(`/console/invitations?directory=${directoryId}`));
  await page.getByText(`Pia Pending · ${pendingEmail}`).waitFor();
  assert.equal(await page.locator('main form[method="post"]').count(), 0);
  await checkPage(page, 'console-invitations-read-only');
  await page.goto(url(`/console/onboards/${onboardId}`));
  await page.getByRole('heading', { name: /Onboard of/ }).waitFor();
  assert.equal(await page.locator('main form[method="post"]').count(), 0);
});
