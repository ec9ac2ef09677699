//! Every email onramp sends, built one way: an [`EmailContent`] (subject, greeting, paragraphs, at most one
//! action link, closing paragraphs) rendered by [`render`] through two askama templates of the same model,
//! `templates/emails/layout.txt` (text/plain) and `layout.html` (text/html, escaped), with the tenant's
//! name, logo and accent, into one [`OutboxMessage`] with both parts. The mail worker sends the two as
//! multipart/alternative.
//!
//! To add an email: build its words as an `EmailContent` (plain text; the HTML template escapes it) and
//! call `render`. The message's parts, like every outbox body, are emptied when it is sent or cancelled,
//! so a secret link (an invitation's) is kept in neither part longer than needed.

use askama::Template;
use onramp_domain::Id;
use onramp_store::OutboxMessage;

use crate::branding::Branding;

/// onramp's accent in emails when the tenant has none, with its text colour.
const DEFAULT_ACCENT: (&str, &str) = ("#1a56b8", "#ffffff");

/// The words of one email.
#[derive(Clone, Debug, Default)]
pub struct EmailContent {
    pub subject: String,
    /// "Hello Zoë,".
    pub greeting: String,
    /// Before the action.
    pub paragraphs: Vec<String>,
    pub action: Option<Action>,
    /// After the action: when a link expires, what to do if the email was not expected.
    pub after: Vec<String>,
}

/// The one link an email asks the reader to follow, shown as a button in HTML.
#[derive(Clone, Debug)]
pub struct Action {
    pub label: String,
    pub url: String,
}

/// Who an email goes to and what it is about: `kind` and `subject_id` let a later change (a resend, a
/// revocation) cancel the object's unsent messages.
#[derive(Clone, Debug)]
pub struct Envelope<'a> {
    pub tenant_id: Id,
    pub kind: &'a str,
    pub subject_id: Id,
    pub recipient: &'a str,
}

/// The model both templates render.
struct Model<'a> {
    subject: &'a str,
    greeting: &'a str,
    paragraphs: &'a [String],
    action: Option<&'a Action>,
    after: &'a [String],
    brand_name: &'a str,
    /// Absolute, under the public URL.
    logo_url: Option<String>,
    accent: &'a str,
    accent_text: &'a str,
}

#[derive(Template)]
#[template(path = "emails/layout.txt")]
struct TextPart<'a> {
    model: &'a Model<'a>,
}

#[derive(Template)]
#[template(path = "emails/layout.html")]
struct HtmlPart<'a> {
    model: &'a Model<'a>,
}

impl<'a> std::ops::Deref for TextPart<'a> {
    type Target = Model<'a>;
    fn deref(&self) -> &Model<'a> {
        self.model
    }
}

impl<'a> std::ops::Deref for HtmlPart<'a> {
    type Target = Model<'a>;
    fn deref(&self) -> &Model<'a> {
        self.model
    }
}

/// The message of `content` to `envelope`'s recipient, in `branding`'s look, with both parts. `public_url`
/// makes the logo's URL absolute.
pub fn render(envelope: &Envelope, branding: &Branding, public_url: &str, content: &EmailContent) -> OutboxMessage {
    let (accent, accent_text) = match &branding.accent {
        Some(accent) => (accent.color.as_str(), accent.text),
        None => DEFAULT_ACCENT,
    };
    let model = Model {
        subject: &content.subject,
        greeting: &content.greeting,
        paragraphs: &content.paragraphs,
        action: content.action.as_ref(),
        after: &content.after,
        brand_name: &branding.name,
        logo_url: branding.logo_path.as_ref().map(|path| format!("{}{path}", public_url.trim_end_matches('/'))),
        accent,
        accent_text,
    };
    // The templates hold no fallible code: a failure would be a bug in them, caught by the tests below.
    let text = TextPart { model: &model }.render().expect("the text email template renders");
    let html = HtmlPart { model: &model }.render().expect("the HTML email template renders");
    OutboxMessage::new(
        envelope.tenant_id,
        envelope.kind,
        envelope.subject_id,
        envelope.recipient,
        &content.subject,
        text,
    )
    .with_html(html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_domain::branding::Accent;

    fn content() -> EmailContent {
        EmailContent {
            subject: "Ada <Lovelace> invited you to join Acme".into(),
            greeting: "Hello Zoë,".into(),
            paragraphs: vec!["Ada <Lovelace> invited you to join Acme & Co.".into()],
            action: Some(Action { label: "Accept the invitation".into(), url: "https://h.example/invite/abc".into() }),
            after: vec!["The link expires in 6 days.".into()],
        }
    }

    #[test]
    fn both_parts_say_the_same_in_the_tenants_look() {
        let branding = Branding {
            name: "Acme & Co".into(),
            logo_path: Some("/assets/logo-ab.png".into()),
            accent: Some(Accent::parse("#ffd200").unwrap()),
            ..Branding::onramp()
        };
        let envelope =
            Envelope { tenant_id: Id::new(), kind: "invitation", subject_id: Id::new(), recipient: "z@x.org" };
        let message = render(&envelope, &branding, "https://h.example/", &content());
        let text = &message.body;
        assert!(text.starts_with("Hello Zoë,\n\nAda <Lovelace> invited you to join Acme & Co.\n"), "{text}");
        assert!(text.contains("Accept the invitation:\nhttps://h.example/invite/abc\n"), "{text}");
        assert!(text.contains("The link expires in 6 days.") && text.contains("Acme & Co, through onramp"), "{text}");
        let html = &message.html_body;
        assert!(html.contains("Ada &#60;Lovelace&#62; invited you to join Acme &#38; Co."), "escaped: {html}");
        assert!(html.contains("href=\"https://h.example/invite/abc\""), "{html}");
        assert!(html.contains("src=\"https://h.example/assets/logo-ab.png\""), "{html}");
        assert!(html.contains("background:#ffd200;color:#000000"), "{html}");
        assert_eq!(message.subject, "Ada <Lovelace> invited you to join Acme");
    }
}
