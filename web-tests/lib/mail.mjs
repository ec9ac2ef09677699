// Reading the emails onramp sends. The file transport (onramp's default) writes one RFC 5322 message per
// file, `<data folder>/mail/<outbox id>.eml`, under a temporary name first and then renamed, so a file that
// is there is whole. The parser covers what lettre writes: folded headers, RFC 2047 encoded words in the
// subject, multipart bodies (text/plain is preferred), and the 7bit, 8bit, quoted-printable and base64
// transfer encodings. It is the JavaScript twin of crates/onramp/tests/it/support/mail.rs.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// Splits a message (or a MIME part) into its unfolded headers ([name, value] pairs) and its body.
function splitMessage(raw) {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  let head = raw;
  let body = '';
  if (lf >= 0 && (crlf < 0 || lf < crlf)) {
    [head, body] = [raw.slice(0, lf), raw.slice(lf + 2)];
  } else if (crlf >= 0) {
    [head, body] = [raw.slice(0, crlf), raw.slice(crlf + 4)];
  }
  const headers = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      headers[headers.length - 1][1] += ' ' + line.trim();
    } else if (line.includes(':')) {
      const colon = line.indexOf(':');
      headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  }
  return { headers, body };
}

function header(headers, name) {
  const found = headers.find(([key]) => key.toLowerCase() === name.toLowerCase());
  return found ? found[1] : undefined;
}

// The value of a header's parameter, such as `boundary` of `Content-Type`, unquoted.
function parameter(value, name) {
  for (const part of value.split(';').slice(1)) {
    const equals = part.indexOf('=');
    if (equals >= 0 && part.slice(0, equals).trim().toLowerCase() === name) {
      return part.slice(equals + 1).trim().replace(/^"|"$/g, '');
    }
  }
  return undefined;
}

// Quoted-printable (RFC 2045 §6.7) to bytes: `=XX` is a byte, `=` at the end of a line joins it to the next;
// other characters are the bytes they were read as (latin1, see `readMails`).
export function decodeQuotedPrintable(text) {
  const joined = text.replace(/=[ \t]*\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(joined.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

// Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`); the space between two adjacent
// encoded words is dropped.
function decodeWords(value) {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, _charset, encoding, payload) =>
      encoding.toLowerCase() === 'b'
        ? Buffer.from(payload, 'base64').toString('utf8')
        : decodeQuotedPrintable(payload.replace(/_/g, ' ')).toString('utf8'),
    );
}

// The addresses of an address-list header, lowercased, without display names.
function addresses(value) {
  const items = [];
  let current = '';
  let quoted = false;
  for (const c of value) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      items.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  items.push(current);
  return items
    .map((item) => (item.match(/<([^>]*)>\s*$/)?.[1] ?? item).trim().toLowerCase())
    .filter((address) => address !== '');
}

// The decoded text parts of a message or part, depth first, as [content type, text].
function textParts(headers, body) {
  const contentType = header(headers, 'content-type') ?? 'text/plain';
  const kind = contentType.split(';')[0].trim().toLowerCase();
  if (kind.startsWith('multipart/')) {
    const boundary = parameter(contentType, 'boundary');
    if (!boundary) return [];
    const parts = [];
    const sections = body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      const part = splitMessage(section.replace(/^\r?\n/, ''));
      parts.push(...textParts(part.headers, part.body));
    }
    return parts;
  }
  if (kind !== '' && !kind.startsWith('text/')) return [];
  const encoding = (header(headers, 'content-transfer-encoding') ?? '7bit').trim().toLowerCase();
  let bytes;
  if (encoding === 'quoted-printable') bytes = decodeQuotedPrintable(body);
  else if (encoding === 'base64') bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  else bytes = Buffer.from(body, 'latin1');
  return [[kind || 'text/plain', bytes.toString('utf8').replace(/\r\n/g, '\n')]];
}

// Parses one message: `{ headers, to, from, subject, text, html, raw }`.
export function parseMail(raw) {
  const { headers, body } = splitMessage(raw);
  const parts = textParts(headers, body);
  const plain = parts.find(([kind]) => kind === 'text/plain') ?? parts[0];
  return {
    headers,
    to: addresses(header(headers, 'to') ?? ''),
    from: addresses(header(headers, 'from') ?? '')[0] ?? '',
    subject: decodeWords(header(headers, 'subject') ?? ''),
    text: plain ? plain[1] : '',
    html: parts.find(([kind]) => kind === 'text/html')?.[1],
    raw,
  };
}

// Every message in `folder`, oldest first (by modification time, then name); a missing folder holds none.
// Files are read as latin1, byte for byte, so that 8bit bodies decode as UTF-8 in `textParts`.
export async function readMails(folder) {
  let names;
  try {
    names = (await readdir(folder)).filter((name) => name.endsWith('.eml'));
  } catch (error) {
    if (error.code === 'ENOENT') return [];
    throw error;
  }
  const files = await Promise.all(
    names.map(async (name) => ({ name, modified: (await stat(join(folder, name))).mtimeMs })),
  );
  files.sort((a, b) => a.modified - b.modified || a.name.localeCompare(b.name));
  return Promise.all(
    files.map(async ({ name }) => ({ file: join(folder, name), ...parseMail(await readFile(join(folder, name), 'latin1')) })),
  );
}

// Waits until at least `count` messages to `address` are in `folder` (a background worker delivers them)
// and returns them, oldest first; throws after `timeoutMs`, naming everyone who did get mail.
export async function waitForMails(folder, address, { count = 1, timeoutMs = 15_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  const wanted = address.toLowerCase();
  for (;;) {
    const all = await readMails(folder);
    const mails = all.filter((mail) => mail.to.includes(wanted));
    if (mails.length >= count) return mails;
    if (Date.now() > deadline) {
      const everyone = all.map((mail) => mail.to.join(','));
      throw new Error(`waited ${timeoutMs} ms for ${count} email(s) to ${address} in ${folder}; got mail: ${everyone}`);
    }
    await sleep(50);
  }
}

// The first link in a message's text (or HTML) whose path starts with `pathPrefix`, such as `/invite/`.
export function linkIn(mail, pathPrefix) {
  for (const text of [mail.text, mail.html ?? '']) {
    for (const [candidate] of text.matchAll(/https?:\/\/[^\s"'<>]+/g)) {
      if (new URL(candidate).pathname.startsWith(pathPrefix)) return candidate;
    }
  }
  throw new Error(`no link to ${pathPrefix}… in the email "${mail.subject}" to ${mail.to}:\n${mail.text}`);
}
