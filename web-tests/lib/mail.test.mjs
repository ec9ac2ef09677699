// The email parser of the journeys on what lettre writes: a multipart message with an encoded subject, a
// quoted-printable text part with a soft line break inside a link, and a base64 HTML part; a plain 7bit
// message; and the reading of a mail folder, newest last.

import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { linkIn, parseMail, readMails, waitForMails } from './mail.mjs';

const MULTIPART = [
  'From: onramp <noreply@onramp.example>',
  'To: "Doe, Ada" <Ada@Example.org>',
  'Subject: =?utf-8?b?WW91J3JlIGludml0ZWQg4oCU?=',
  ' =?utf-8?q?_Wiki?=',
  'MIME-Version: 1.0',
  'Content-Type: multipart/alternative;',
  ' boundary="XYZ"',
  '',
  '--XYZ',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Open http://127.0.0.1:1/invite/abcdefghijklmnopqrstuvwxyzABCDEFGHIJ=',
  'KLMNO-_ to join =E2=80=94 thanks',
  '--XYZ',
  'Content-Type: text/html; charset=utf-8',
  'Content-Transfer-Encoding: base64',
  '',
  'PGI+aGk8L2I+',
  '--XYZ--',
  '',
].join('\r\n');

test('a multipart message with encoded words, quoted-printable and base64', () => {
  const mail = parseMail(MULTIPART);
  assert.deepEqual(mail.to, ['ada@example.org']);
  assert.equal(mail.from, 'noreply@onramp.example');
  assert.equal(mail.subject, "You're invited — Wiki");
  assert.equal(mail.text, 'Open http://127.0.0.1:1/invite/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_ to join — thanks\n');
  assert.equal(mail.html, '<b>hi</b>');
  assert.equal(linkIn(mail, '/invite/'), 'http://127.0.0.1:1/invite/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_');
  assert.throws(() => linkIn(mail, '/onboarding/'), /no link to \/onboarding\//);
});

test('a plain message', () => {
  const mail = parseMail('To: bob@y.org\nSubject: Hi\n\nline one\nhttp://h/invite/short\n');
  assert.deepEqual(mail.to, ['bob@y.org']);
  assert.equal(mail.subject, 'Hi');
  assert.equal(mail.text, 'line one\nhttp://h/invite/short\n');
  assert.equal(mail.html, undefined);
});

test('a mail folder: oldest first, only .eml files, waiting for the one asked for', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'mail-'));
  try {
    assert.deepEqual(await readMails(join(folder, 'missing')), [], 'a folder not made yet holds no mail');
    await writeFile(join(folder, 'b.eml'), 'To: a@x.org\nSubject: first\n\none\n');
    await writeFile(join(folder, 'a.eml'), 'To: a@x.org\nSubject: second\n\ntwo\n');
    await writeFile(join(folder, '.a.eml.tmp'), 'To: a@x.org\nSubject: half-written\n\n');
    await utimes(join(folder, 'b.eml'), 1_000, 1_000);
    await utimes(join(folder, 'a.eml'), 2_000, 2_000);
    const mails = await waitForMails(folder, 'A@x.org', { count: 2, timeoutMs: 1_000 });
    assert.deepEqual(mails.map((mail) => mail.subject), ['first', 'second']);
    await assert.rejects(waitForMails(folder, 'a@x.org', { count: 3, timeoutMs: 200 }), /3 email\(s\) to a@x.org/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
