// The console's Flows page in the browser (issue #14): an admin makes a flow of several steps in the
// editor (without a script of its own: every button is a form submit), sees the errors of a bad save
// beside their fields, moves a step up, saves, and finds the flow through the API as edited; a read-only
// admin sees the flows without a write control. Every page: axe, screenshots at 1280 and 390 px, nothing
// scrolling sideways.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, checkPage, context, newPage, signInByLink, url, useBrowser } from '../lib/onramp.mjs';

useBrowser();

const people = () => context().fixtures.consoleFlows;

// The legends of the editor's steps, in order.
const legends = (page) => page.locator('ol.steps > li > fieldset > legend').allTextContents();

async function addStep(page, kind) {
  await page.getByLabel('Kind of step').selectOption({ label: kind });
  await page.getByRole('button', { name: 'Add the step' }).click();
  await page.getByText(`(${kind}) was added at the end`).waitFor();
}

test('an admin makes a flow, sees its errors, reorders and saves it; a read-only admin only reads', async () => {
  const page = await newPage();
  await signInByLink(page, people().admin);
  const nav = page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Flows' }).click();
  await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
  await page.getByRole('link', { name: 'Minimal' }).waitFor();

  await page.getByRole('link', { name: 'New flow' }).click();
  await page.getByRole('heading', { name: 'New flow' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('Field contractors');
  await page.getByLabel('Description').fill('People who work on site for a season.');
  await addStep(page, 'Accept terms');
  await addStep(page, 'Complete profile');
  await addStep(page, 'Approval');
  await addStep(page, 'Assign roles');
  assert.deepEqual(await legends(page), [
    'Step 1: Accept terms',
    'Step 2: Complete profile',
    'Step 3: Approval',
    'Step 4: Assign roles',
  ]);
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Field contractors', 'kept across actions');
  await checkPage(page, 'flow-editor');

  // A bad save: no terms, an approver nobody is, no role. Each error beside its field.
  await page.locator('#step-2-approver').fill('nobody@example.com');
  await page.getByRole('button', { name: 'Create the flow' }).click();
  await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
  for (const [id, words] of [
    ['step-0-text', 'Step 1, terms: must hold the terms'],
    ['step-2-approver', 'no user has the email'],
  ]) {
    const field = page.locator(`#${id}`);
    assert.equal(await field.getAttribute('aria-invalid'), 'true', id);
    assert.match(await field.getAttribute('aria-describedby'), new RegExp(`${id}-error`));
    assert.match(await page.locator(`#${id}-error`).textContent(), new RegExp(words));
    assert.equal(await page.locator(`.error-summary a[href="#${id}"]`).count(), 1, `the summary links to #${id}`);
  }
  assert.match(await page.locator('#step-3-roles-error').textContent(), /must name at least one role/);
  await checkPage(page, 'flow-errors');

  // Fixed, the approval moved up before the profile, and saved.
  await page.locator('#step-0-text').fill('1. Wear the safety gear on site.\n\n2. Sign in at the gate.');
  await page.locator('#step-2-approver').fill('');
  await page.getByLabel('Basic User').check();
  await page.getByRole('button', { name: 'Move up step 3' }).click();
  await page.getByText('Approval moved up to step 2.').waitFor();
  assert.deepEqual(await legends(page), [
    'Step 1: Accept terms',
    'Step 2: Approval',
    'Step 3: Complete profile',
    'Step 4: Assign roles',
  ]);
  assert.equal(await page.getByLabel('Basic User').isChecked(), true, 'kept across actions');
  await page.getByRole('button', { name: 'Create the flow' }).click();
  await page.getByText('The flow was created.').waitFor();
  await checkPage(page, 'flow');

  const id = page.url().split('/console/flows/')[1].split('?')[0];
  const { onboardingFlow: flow } = await api().get(`/api/v1/onboarding-flows/${id}`);
  assert.equal(flow.displayName, 'Field contractors');
  assert.deepEqual(flow.steps.map((step) => step.key), ['terms', 'approval', 'profile', 'roles']);
  assert.deepEqual(flow.steps[1], { key: 'approval', required: true, managerApproval: {} });
  assert.match(flow.steps[0].acceptTerms.text, /^1\. Wear the safety gear on site\.\r?\n\r?\n2\. Sign in at the gate\.$/);

  // Edit it: remove the profile step, save.
  await page.getByRole('link', { name: 'Edit the flow' }).click();
  await page.getByRole('heading', { name: 'Edit Field contractors' }).waitFor();
  await page.getByRole('button', { name: 'Remove step 3' }).click();
  await page.getByText('was removed').waitFor();
  await page.getByRole('button', { name: 'Save the flow' }).click();
  await page.getByText('The flow was saved.').waitFor();
  const { onboardingFlow: edited } = await api().get(`/api/v1/onboarding-flows/${id}`);
  assert.deepEqual(edited.steps.map((step) => step.key), ['terms', 'approval', 'roles']);

  await nav.getByRole('link', { name: 'Flows' }).click();
  await page.getByRole('link', { name: 'Field contractors' }).waitFor();
  await checkPage(page, 'flows');

  // A read-only admin: the list and the flow, no write controls.
  const reader = await newPage();
  await signInByLink(reader, people().readOnly);
  for (const [path, name] of [
    ['/console/flows', 'readonly-flows'],
    [`/console/flows/${id}`, 'readonly-flow'],
  ]) {
    await reader.goto(url(path));
    assert.equal(await reader.locator('form[method="post"]:not([action="/signout"])').count(), 0, `${path} has no forms`);
    assert.equal(await reader.getByRole('link', { name: /New flow|Edit the flow/ }).count(), 0, `${path}: no edit links`);
    await checkPage(reader, name);
  }
});
