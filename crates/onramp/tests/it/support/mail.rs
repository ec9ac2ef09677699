//! Reading the emails onramp sends. The file transport (the default) writes one RFC 5322 message per file,
//! `<data_dir>/mail/<message id>.eml`; the SMTP tests feed the raw messages their sink receives to
//! [`parse`]. The parser is small but general enough for what `lettre` writes: folded headers, RFC 2047
//! encoded words in the subject, multipart bodies (the text part is preferred), and the 7bit, 8bit,
//! quoted-printable and base64 transfer encodings.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// One parsed message.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// The file it was read from, for messages of the file transport.
    pub file: Option<PathBuf>,
    /// Every top-level header, unfolded, in order, names as written.
    pub headers: Vec<(String, String)>,
    /// The addresses of `To:`, lowercased, without display names.
    pub to: Vec<String>,
    /// The address of `From:`, lowercased, without its display name.
    pub from: String,
    /// `Subject:`, encoded words decoded.
    pub subject: String,
    /// The decoded text/plain body (or, for a message without one, the first part's text).
    pub text: String,
    /// The decoded text/html body, when there is one.
    pub html: Option<String>,
    /// The message as received.
    pub raw: String,
}

impl Mail {
    /// The first header of this name (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Whether `address` (any case) is among the recipients in `To:`.
    pub fn is_to(&self, address: &str) -> bool {
        let address = address.to_ascii_lowercase();
        self.to.contains(&address)
    }

    /// The invitation token of the first `/invite/<token>` link in the text body (or the HTML body).
    pub fn invite_token(&self) -> Option<String> {
        invite_token(&self.text).or_else(|| self.html.as_deref().and_then(invite_token))
    }
}

/// The 43-character base64url token after the first `/invite/` in `text` that is followed by exactly one.
pub fn invite_token(text: &str) -> Option<String> {
    const MARK: &str = "/invite/";
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        rest = &rest[at + MARK.len()..];
        let token: String = rest.chars().take_while(|c| is_token_char(*c)).collect();
        if token.len() == 43 {
            return Some(token);
        }
    }
    None
}

/// Parses one RFC 5322 message.
pub fn parse(raw: &str) -> Mail {
    let (headers, body) = split_message(raw);
    let mut mail = Mail {
        to: header(&headers, "to").map(addresses).unwrap_or_default(),
        from: header(&headers, "from").map(addresses).and_then(|list| list.into_iter().next()).unwrap_or_default(),
        subject: header(&headers, "subject").map(decode_words).unwrap_or_default(),
        raw: raw.to_string(),
        ..Mail::default()
    };
    let mut texts = Vec::new();
    collect_parts(&headers, body, &mut texts);
    mail.headers = headers;
    mail.text = texts
        .iter()
        .find(|(kind, _)| kind == "text/plain")
        .or_else(|| texts.first())
        .map(|(_, text)| text.clone())
        .unwrap_or_default();
    mail.html = texts.iter().find(|(kind, _)| kind == "text/html").map(|(_, text)| text.clone());
    mail
}

/// The folder the file transport writes to, under a server's data folder.
pub fn mail_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("mail")
}

/// Every `.eml` message under `<data_dir>/mail`, oldest file first (by modification time, then name).
/// A folder that does not exist yet holds no mail.
pub fn read_all(data_dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(mail_dir(data_dir)) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .map(|path| (std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), path))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, path)| {
            let bytes = std::fs::read(&path).ok()?;
            let mut mail = parse(&String::from_utf8_lossy(&bytes));
            mail.file = Some(path);
            Some(mail)
        })
        .collect()
}

/// The messages to `to` under `<data_dir>/mail`, oldest first.
pub fn mail_to(data_dir: &Path, to: &str) -> Vec<Mail> {
    read_all(data_dir).into_iter().filter(|mail| mail.is_to(to)).collect()
}

/// Waits until at least `count` messages to `to` exist under `<data_dir>/mail` (delivery is by a
/// background worker) and returns them, oldest first; panics after `timeout`. A message is taken only once
/// two reads 100 ms apart agree, so that a file still being written is not half-read.
pub async fn wait_for_mail(data_dir: &Path, to: &str, count: usize, timeout: Duration) -> Vec<Mail> {
    let deadline = Instant::now() + timeout;
    loop {
        let first = mail_to(data_dir, to);
        if first.len() >= count {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let second = mail_to(data_dir, to);
            let same = second.len() == first.len() && second.iter().zip(&first).all(|(a, b)| a.raw == b.raw);
            if same {
                return second;
            }
            continue;
        }
        if Instant::now() >= deadline {
            let everyone: Vec<Vec<String>> = read_all(data_dir).into_iter().map(|mail| mail.to).collect();
            panic!(
                "waited {timeout:?} for {count} message(s) to {to}; found {}; all recipients in {}: {everyone:?}",
                first.len(),
                mail_dir(data_dir).display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// The parser.

/// Splits a message (or a MIME part) into its unfolded headers and its body.
fn split_message(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match (raw.find("\r\n\r\n"), raw.find("\n\n")) {
        (Some(crlf), Some(lf)) if lf < crlf => (&raw[..lf], &raw[lf + 2..]),
        (Some(crlf), _) => (&raw[..crlf], &raw[crlf + 4..]),
        (None, Some(lf)) => (&raw[..lf], &raw[lf + 2..]),
        (None, None) => (raw, ""),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    (headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The value of a header's parameter, such as `boundary` of `Content-Type`, unquoted.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (key, val) = param.split_once('=')?;
        key.trim().eq_ignore_ascii_case(name).then(|| val.trim().trim_matches('"').to_string())
    })
}

/// Collects the decoded text parts of a message or part as (content type, text), depth first.
fn collect_parts(headers: &[(String, String)], body: &str, out: &mut Vec<(String, String)>) {
    let content_type = header(headers, "content-type").unwrap_or("text/plain");
    let kind = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if kind.starts_with("multipart/") {
        let Some(boundary) = parameter(content_type, "boundary") else {
            return;
        };
        let delimiter = format!("--{boundary}");
        let mut sections = body.split(delimiter.as_str());
        sections.next(); // the preamble
        for section in sections {
            if section.starts_with("--") {
                break; // the closing delimiter
            }
            let section = section.strip_prefix("\r\n").or_else(|| section.strip_prefix('\n')).unwrap_or(section);
            let (part_headers, part_body) = split_message(section);
            collect_parts(&part_headers, part_body, out);
        }
        return;
    }
    if !kind.is_empty() && !kind.starts_with("text/") {
        return;
    }
    let encoding = header(headers, "content-transfer-encoding").unwrap_or("7bit").trim().to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()).unwrap_or_else(|_| body.into())
        }
        _ => body.as_bytes().to_vec(),
    };
    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    out.push((if kind.is_empty() { "text/plain".into() } else { kind }, text));
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` is a byte, `=` at the end of a line joins it to the next.
fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        // A soft line break: `=` then optional trailing whitespace then CRLF or LF.
        let mut j = i + 1;
        while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
            j += 1;
        }
        if bytes.get(j) == Some(&b'\r') && bytes.get(j + 1) == Some(&b'\n') {
            i = j + 2;
        } else if bytes.get(j) == Some(&b'\n') {
            i = j + 1;
        } else if j == bytes.len() {
            i = j;
        } else if let Some(byte) = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok().and_then(|hex| u8::from_str_radix(hex, 16).ok()))
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`); the space between two adjacent
/// encoded words is dropped.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while !rest.is_empty() {
        let Some(start) = rest.find("=?") else {
            out.push_str(rest);
            break;
        };
        let (before, candidate) = rest.split_at(start);
        let decoded = decode_word(candidate);
        let Some((text, used)) = decoded else {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            last_was_word = false;
            continue;
        };
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        out.push_str(&text);
        rest = &candidate[used..];
        last_was_word = true;
    }
    out
}

/// One encoded word at the start of `input`: its text and how many bytes it took.
fn decode_word(input: &str) -> Option<(String, usize)> {
    let inner = input.strip_prefix("=?")?;
    let (_charset, rest) = inner.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let payload = &rest[..end];
    let bytes = match encoding.to_ascii_lowercase().as_str() {
        "b" => base64::engine::general_purpose::STANDARD.decode(payload).ok()?,
        "q" => decode_quoted_printable(&payload.replace('_', " ")),
        _ => return None,
    };
    let used = input.len() - rest.len() + end + 2;
    Some((String::from_utf8_lossy(&bytes).into_owned(), used))
}

/// The addresses of an address-list header, lowercased: `"Ada, L." <ada@x.org>, bob@y.org` gives
/// `["ada@x.org", "bob@y.org"]`.
fn addresses(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    items
        .into_iter()
        .filter_map(|item| {
            let address = match (item.rfind('<'), item.rfind('>')) {
                (Some(open), Some(close)) if open < close => item[open + 1..close].to_string(),
                _ => item.trim().to_string(),
            };
            (!address.is_empty()).then(|| address.to_ascii_lowercase())
        })
        .collect()
}

#[test]
fn parses_what_lettre_writes() {
    let raw = "From: onramp <noreply@onramp.example>\r\n\
        To: \"Doe, Ada\" <Ada@Example.org>\r\n\
        Subject: =?utf-8?b?WW91J3JlIGludml0ZWQg4oCU?=\r\n =?utf-8?q?_Wiki?=\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: multipart/alternative;\r\n boundary=\"XYZ\"\r\n\
        \r\n\
        --XYZ\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        Open http://127.0.0.1:1/invite/abcdefghijklmnopqrstuvwxyzABCDEFGHIJ=\r\nKLMNO-_ to join =E2=80=94 thanks\r\n\
        --XYZ\r\n\
        Content-Type: text/html; charset=utf-8\r\n\
        Content-Transfer-Encoding: base64\r\n\
        \r\n\
        PGI+aGk8L2I+\r\n\
        --XYZ--\r\n";
    let mail = parse(raw);
    assert_eq!(mail.to, ["ada@example.org"]);
    assert!(mail.is_to("ADA@example.org"));
    assert_eq!(mail.from, "noreply@onramp.example");
    assert_eq!(mail.subject, "You're invited — Wiki");
    assert_eq!(
        mail.text,
        "Open http://127.0.0.1:1/invite/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_ to join — thanks\n"
    );
    assert_eq!(mail.html.as_deref(), Some("<b>hi</b>"));
    assert_eq!(mail.invite_token().as_deref(), Some("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_"));
    assert_eq!(mail.header("mime-version"), Some("1.0"));

    let plain = parse("To: bob@y.org\nSubject: Hi\n\nline one\nhttp://h/invite/short\n");
    assert_eq!(plain.to, ["bob@y.org"]);
    assert_eq!(plain.text, "line one\nhttp://h/invite/short\n");
    assert_eq!(plain.invite_token(), None, "a token is exactly 43 characters");
}
