//! What invitations need beyond the store: their secret tokens and the emails that carry them. Invitees'
//! passwords are in `password.rs`, the limits on wrong links in `limits.rs`.
//!
//! A token is 256 random bits written as 43 characters of unpadded base64url. The store keeps only its
//! SHA-256: for a random secret of that length one fast hash is as strong as a slow one. The token reaches
//! the invitee only inside the email's link (`{public url}/invite/{token}`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onramp_domain::time_words::TimeInWords;
use onramp_domain::{Secret, Timestamp};
use onramp_store::{Invitation, LocalDirectory, OutboxMessage};

use crate::branding::Branding;
use crate::emails::{self, Action, EmailContent, Envelope};
use crate::pages::Person;
use sha2::{Digest, Sha256};

/// The length of a token in characters.
pub const TOKEN_LENGTH: usize = 43;

/// A new token and the hash the store keeps.
pub fn new_token() -> (Secret<String>, String) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (Secret::new(token), hash)
}

/// The stored form of a token: lowercase hex SHA-256. Anything that is not a well-formed token hashes to
/// something no invitation has, so callers need not check the shape first.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a string has the shape of a token (so that a page can refuse garbage without a database read).
pub fn looks_like_token(token: &str) -> bool {
    token.len() == TOKEN_LENGTH && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The accept link of a token.
pub fn link(public_url: &str, token: &Secret<String>) -> String {
    format!("{}/invite/{}", public_url.trim_end_matches('/'), token.expose())
}

/// Who sends an invitation's email, as it names them: the tenant's branding, the user who invited (None
/// for a self-registration, or a user no longer there) and the public URL (for the logo).
pub struct Sender<'a> {
    pub branding: &'a Branding,
    pub inviter: Option<&'a Person>,
    pub public_url: &'a str,
}

/// "Engineering at Acme", or "Acme" when the directory has the organisation's name.
pub fn joining(directory_name: &str, organisation: &str) -> String {
    if directory_name.is_empty() || directory_name == organisation {
        organisation.to_string()
    } else {
        format!("{directory_name} at {organisation}")
    }
}

/// The email that holds an invitation's link: who invites you to what, the link, when it expires. An
/// invitation nobody sent (a self-registration) gets the wording that confirms the person's own request.
pub fn invitation_email(
    directory: &LocalDirectory,
    invitation: &Invitation,
    link: &str,
    sender: &Sender,
) -> OutboxMessage {
    let joining = joining(&directory.display_name, &sender.branding.name);
    let self_registered = invitation.invited_by_user_id.is_none();
    let purpose = if invitation.purpose.is_empty() { String::new() } else { format!(" ({})", invitation.purpose) };
    let (subject, opening, label) = if self_registered {
        (
            format!("Confirm your email to join {joining}"),
            format!(
                "Someone, hopefully you, asked to join {joining} with this email address. To confirm it and \
                 create your account, open the link and choose a password."
            ),
            "Confirm and create your account",
        )
    } else {
        let who = match sender.inviter {
            Some(person) => format!("{} ({})", person.name, person.email),
            None => "You have been".to_string(),
        };
        let subject = match sender.inviter {
            Some(person) => format!("{} invited you to join {joining}", person.name),
            None => format!("You're invited to join {joining}"),
        };
        let verb = if sender.inviter.is_some() { "invited you" } else { "invited" };
        (
            subject,
            format!("{who} {verb} to join {joining}{purpose}. To accept, open the link and choose a password."),
            "Accept the invitation",
        )
    };
    // A self-registration's name was typed by whoever asked, unauthenticated: it is not repeated to the
    // address, so the email cannot carry a stranger's words.
    let greeting = if self_registered { "Hello,".to_string() } else { format!("Hello {},", invitation.display_name) };
    let expires = TimeInWords::new(invitation.expires_at, Timestamp::now());
    let content = EmailContent {
        subject,
        greeting,
        paragraphs: vec![opening],
        action: Some(Action { label: label.to_string(), url: link.to_string() }),
        after: vec![
            format!("The link works once and expires {} ({}).", expires.phrase(), expires.exact),
            "If you did not expect this email, you can ignore it.".to_string(),
        ],
    };
    let envelope = Envelope {
        tenant_id: invitation.tenant_id,
        kind: "invitation",
        subject_id: invitation.id,
        recipient: invitation.email.as_str(),
    };
    emails::render(&envelope, sender.branding, sender.public_url, &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_base64url_and_hash_to_their_hash() {
        let (token, hash) = new_token();
        assert_eq!(token.expose().len(), TOKEN_LENGTH);
        assert!(looks_like_token(token.expose()));
        assert_eq!(URL_SAFE_NO_PAD.decode(token.expose()).unwrap().len(), 32);
        assert_eq!(token_hash(token.expose()), hash);
        assert_ne!(new_token().1, hash);
        assert!(!looks_like_token("short"));
        assert_eq!(format!("{token:?}"), "[redacted]");
    }
}
