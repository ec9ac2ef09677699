//! What invitations need beyond the store: their secret tokens and the emails that carry them. Invitees'
//! passwords are in `password.rs`, the limits on wrong links in `limits.rs`.
//!
//! A token is 256 random bits written as 43 characters of unpadded base64url. The store keeps only its
//! SHA-256: for a random secret of that length one fast hash is as strong as a slow one. The token reaches
//! the invitee only inside the email's link (`{public url}/invite/{token}`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onramp_domain::Secret;
use onramp_store::{Invitation, LocalDirectory, OutboxMessage};
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

/// The email that holds an invitation's link. An invitation nobody sent (a self-registration) gets the
/// wording that confirms the person's own request.
pub fn invitation_email(directory: &LocalDirectory, invitation: &Invitation, link: &str) -> OutboxMessage {
    let self_registered = invitation.invited_by_user_id.is_none();
    let (subject, opening) = if self_registered {
        (
            format!("Confirm your email to join {}", directory.display_name),
            format!(
                "Someone, hopefully you, asked to join {} with this email address. To confirm it and create \
                 your account, open this link and choose a password:",
                directory.display_name
            ),
        )
    } else {
        let purpose = if invitation.purpose.is_empty() { String::new() } else { format!(" ({})", invitation.purpose) };
        (
            format!("You're invited to join {}", directory.display_name),
            format!(
                "You have been invited to join {}{purpose}. To accept, open this link and choose a password:",
                directory.display_name
            ),
        )
    };
    // A self-registration's name was typed by whoever asked, unauthenticated: it is not repeated to the
    // address, so the email cannot carry a stranger's words.
    let greeting = if self_registered { "Hello,".to_string() } else { format!("Hello {},", invitation.display_name) };
    let body = format!(
        "{greeting}\n\n{opening}\n\n{link}\n\nThe link works once and expires at {expires} (UTC). If you did not \
         expect this email, you can ignore it.\n",
        expires = invitation.expires_at.to_rfc3339(),
    );
    OutboxMessage::new(invitation.tenant_id, "invitation", invitation.id, invitation.email.as_str(), &subject, body)
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
